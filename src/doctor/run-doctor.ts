/**
 * Runs the doctor's checks in order and renders the report. Checks that need the config are
 * skipped (and say so) when it is invalid; the connection check only runs with --connect and a key.
 */
import { execFile } from 'node:child_process';
import { toolChildEnv } from '../core/child-env.js';
import { accessSync, constants, existsSync } from 'node:fs';
import { redact } from '../core/secrets.js';
import {
  checkApiKey,
  checkDeviceToken,
  checkAudio,
  checkConfig,
  checkConnection,
  checkGpio,
  checkServiceUser,
  type AudioDeps,
  type CheckResult,
  type ConfigDeps,
  type ConnectionDeps,
  type GpioDeps,
  type ServiceKeyFile,
  type ServiceUserDeps,
} from './checks.js';
import type { ApiKeyResult, Config } from '../config/index.js';
import type { McpServerCheck } from '../tools/doctor.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface DoctorDeps extends ConfigDeps, AudioDeps, GpioDeps, ServiceUserDeps, ConnectionDeps {
  resolveApiKey(config: Config, env: Env): ApiKeyResult;
  /** Connects to each configured MCP server once and lists its tools (src/tools/doctor.ts). */
  checkMcpServers?(servers: Config['tools']['mcpServers']): Promise<McpServerCheck[]>;
}

/** Where install.sh puts the key and the unit's LoadCredential= reads it. */
export const SERVICE_KEY_PATH = '/etc/realtime-ptt/openai-api-key';

export interface DoctorOptions {
  configPath: string;
  /** Default SERVICE_KEY_PATH. */
  serviceKeyPath?: string;
  connect: boolean;
  env: Env;
  deps: DoctorDeps;
}

export async function runDoctor(o: DoctorOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const { result, config } = await checkConfig(o.configPath, o.env, o.deps);
  results.push(result);
  results.push(await checkServiceUser(o.deps));
  if (!config) {
    results.push({
      name: 'audio, gpio, api key',
      status: 'warn',
      detail: 'not checked: they need a valid config',
      fix: 'fix the config first',
    });
    return results;
  }
  // A fleet device (realtime.mintUrl) holds no API key, only its device token.
  const key =
    config.realtime.mintUrl !== null
      ? checkDeviceToken(config, o.env)
      : checkApiKey(config, o.env, o.deps.resolveApiKey, serviceKeyFile(o.serviceKeyPath ?? SERVICE_KEY_PATH));
  results.push(key.result);
  const [audio, gpio] = await Promise.all([checkAudio(config, o.deps), checkGpio(config, o.deps)]);
  results.push(...audio, ...gpio);
  if (o.deps.checkMcpServers && config.tools.mcpServers.length > 0) {
    const checks = await o.deps.checkMcpServers(config.tools.mcpServers);
    results.push(...checks.map(mcpResult));
  }
  if (o.connect) {
    results.push(
      key.key === undefined
        ? {
            name: 'connection',
            status: 'fail',
            detail: `not tried: no ${key.result.name}`,
            fix: `set it first (see "${key.result.name}" above)`,
          }
        : await checkConnection(config, key.key, o.deps),
    );
  }
  return results;
}

/** A server that does not connect fails: its tools are missing until it is fixed (the daemon keeps retrying). */
function mcpResult(c: McpServerCheck): CheckResult {
  const name = `mcp ${c.server}`;
  if (c.ok) return { name, status: c.tools.length ? 'ok' : 'warn', detail: c.detail, fix: 'check the allow and deny lists of this server' };
  return { name, status: 'fail', detail: c.detail, fix: c.fix ?? 'check the server entry in tools.mcpServers' };
}

const LABEL = { ok: 'OK  ', warn: 'WARN', fail: 'FAIL' } as const;

/** One line per check (continuation lines indented), a `fix:` line under each warn or fail, then a summary. */
export function formatReport(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    const [first = '', ...more] = r.detail.split('\n');
    lines.push(`${LABEL[r.status]}  ${r.name.padEnd(width)}  ${first}`);
    for (const m of more) lines.push(`${' '.repeat(width + 8)}${m}`);
    if (r.fix && r.status !== 'ok') lines.push(`${' '.repeat(width + 8)}fix: ${r.fix}`);
  }
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  lines.push('', `${count('fail')} failed, ${count('warn')} warnings, ${count('ok')} ok`);
  // Last line of defence: the report never carries a key, even one pasted into a wrong place.
  return `${redact(lines.join('\n'))}\n`;
}

export const exitCodeOf = (results: readonly CheckResult[]): number => (results.some((r) => r.status === 'fail') ? 1 : 0);

/** Group names of a user from `id -nG`, undefined when the user does not exist. */
export function groupsOf(user: string): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    execFile('id', ['-nG', user], { env: toolChildEnv(), encoding: 'utf8', timeout: 3_000 }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim().split(/\s+/)),
    );
  });
}

export function serviceKeyFile(path: string): ServiceKeyFile {
  if (!existsSync(path)) return { path, state: 'missing' };
  try {
    accessSync(path, constants.R_OK);
    return { path, state: 'readable' };
  } catch {
    return { path, state: 'unreadable' };
  }
}
