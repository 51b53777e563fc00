/**
 * One entry of `tools.mcpServers` and its validation (used by the config schema, so a mistake is
 * reported with the key, the value and what is allowed before the daemon starts anything).
 */
import { isAbsolute } from 'node:path';
import { isPlainObject } from '../../core/guards.js';
import { SERVER_NAME } from '../names.js';

export interface McpServerConfig {
  /** Short name: prefix of its function names (`<name>_<tool>`) and label in logs and doctor. */
  name: string;
  transport: 'stdio' | 'http';
  /** stdio: the program (absolute path, or a name found on the minimal PATH). */
  command?: string;
  args?: string[];
  /** stdio: the child's whole environment besides PATH. Nothing else is inherited. */
  env?: Record<string, string>;
  /** http: the Streamable HTTP endpoint, e.g. http://homeassistant.local:8123/api/mcp. */
  url?: string;
  /** http: file holding the bearer token. */
  tokenFile?: string;
  /** http: systemd credential name holding the bearer token ($CREDENTIALS_DIRECTORY/<name>). */
  credential?: string;
  /** Only these tools (MCP names); omitted means all. */
  allow?: string[];
  /** Never these tools (MCP names). */
  deny?: string[];
  /** Per-call timeout for this server; omitted uses tools.callTimeoutMs. */
  timeoutMs?: number;
}

const KEYS: Record<McpServerConfig['transport'], string[]> = {
  stdio: ['name', 'transport', 'command', 'args', 'env', 'allow', 'deny', 'timeoutMs'],
  http: ['name', 'transport', 'url', 'tokenFile', 'credential', 'allow', 'deny', 'timeoutMs'],
};
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// The daemon's own secrets must never be handed to a tool process, even by mistake.
const FORBIDDEN_ENV = /^(OPENAI_API_KEY|REALTIME_PTT_.*|CREDENTIALS_DIRECTORY)$/;

const stringList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');

function checkOne(s: Record<string, unknown>, at: string): string | undefined {
  if (typeof s.name !== 'string' || !SERVER_NAME.test(s.name)) return `${at} needs a name of 1-24 letters, digits or -`;
  const where = `${at} (${s.name})`;
  if (s.transport !== 'stdio' && s.transport !== 'http') return `${where} transport must be stdio or http`;
  const extra = Object.keys(s).filter((k) => !KEYS[s.transport as 'stdio' | 'http'].includes(k));
  if (extra.length)
    return `${where} has key(s) ${extra.join(', ')} that transport ${s.transport} does not use; allowed: ${KEYS[s.transport].join(', ')}`;
  if (s.allow !== undefined && !stringList(s.allow)) return `${where} allow must be a list of tool names`;
  if (s.deny !== undefined && !stringList(s.deny)) return `${where} deny must be a list of tool names`;
  if (
    s.timeoutMs !== undefined &&
    !(Number.isInteger(s.timeoutMs) && (s.timeoutMs as number) >= 100 && (s.timeoutMs as number) <= 600_000)
  ) {
    return `${where} timeoutMs must be an integer from 100 to 600000`;
  }
  if (s.transport === 'stdio') {
    if (typeof s.command !== 'string' || s.command.trim() === '') return `${where} needs a command`;
    if (s.args !== undefined && !stringList(s.args)) return `${where} args must be a list of strings`;
    if (s.env !== undefined) {
      if (!isPlainObject(s.env)) return `${where} env must be a mapping of NAME: value`;
      for (const [k, v] of Object.entries(s.env)) {
        if (!ENV_NAME.test(k)) return `${where} env name ${JSON.stringify(k)} is not a valid variable name`;
        if (FORBIDDEN_ENV.test(k)) return `${where} env must not pass ${k} (the daemon's secrets never go to a tool process)`;
        if (typeof v !== 'string') return `${where} env ${k} must be a string`;
      }
    }
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(String(s.url));
  } catch {
    return `${where} needs a url such as http://homeassistant.local:8123/api/mcp`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${where} url has scheme ${url.protocol}; use http: or https:`;
  if (s.tokenFile !== undefined && s.credential !== undefined) return `${where} has both tokenFile and credential; use one`;
  if (s.tokenFile !== undefined && (typeof s.tokenFile !== 'string' || !isAbsolute(s.tokenFile)))
    return `${where} tokenFile must be an absolute path`;
  if (s.credential !== undefined && (typeof s.credential !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(s.credential))) {
    return `${where} credential must be a systemd credential name (letters, digits, _ . -)`;
  }
  return undefined;
}

export function checkMcpServers(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be a list of MCP servers';
  const seen = new Set<string>();
  for (const [i, s] of v.entries()) {
    if (!isPlainObject(s)) return `item ${i} must be a mapping {name, transport, ...}`;
    const problem = checkOne(s, `item ${i}`);
    if (problem) return problem;
    if (seen.has(s.name as string)) return `server name ${s.name} is used twice`;
    seen.add(s.name as string);
  }
  return undefined;
}

export function checkToolNameList(v: unknown): string | undefined {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && /^[a-zA-Z0-9_-]{1,64}$/.test(x))) {
    return 'must be a list of function names (1-64 letters, digits, _ or -), e.g. [set_volume, ha_HassTurnOff]';
  }
  return undefined;
}
