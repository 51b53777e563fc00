import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { forgetSecrets } from '../../src/core/secrets.js';
import { checkMcpServers } from '../../src/tools/doctor.js';
import { ToolExecutor } from '../../src/tools/executor.js';
import { McpManager } from '../../src/tools/mcp/manager.js';
import type { McpServerConfig } from '../../src/tools/mcp/server-config.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { startHaStandIn, type HaStandIn } from '../support/ha-mcp-server.js';

const STDIO_SERVER = fileURLToPath(new URL('../support/mcp-stdio-server.ts', import.meta.url));
const TOKEN = 'ha-long-lived-token-0123456789';
const stdio = (extra: Partial<McpServerConfig> = {}): McpServerConfig => ({
  name: 'box',
  transport: 'stdio',
  command: process.execPath,
  args: ['--import', 'tsx', STDIO_SERVER],
  ...extra,
});

let ha: HaStandIn;
let dir: string;
const managers: McpManager[] = [];

beforeAll(async () => {
  ha = await startHaStandIn({ token: TOKEN, entities: [{ name: 'Kitchen Light', domain: 'light', state: 'off' }] });
  dir = mkdtempSync(join(tmpdir(), 'ptt-mcp-'));
  writeFileSync(join(dir, 'ha-token'), `${TOKEN}\n`);
});
afterAll(async () => {
  await ha.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const m of managers.splice(0)) await m.stop();
  forgetSecrets();
});

function rig(opts: { callTimeoutMs?: number } = {}) {
  const registry = new ToolRegistry();
  const logger = memoryLogger();
  const manager = new McpManager({
    registry,
    callTimeoutMs: opts.callTimeoutMs ?? 5_000,
    backoff: { minMs: 100, maxMs: 400 },
    logger,
    env: { CREDENTIALS_DIRECTORY: dir },
  });
  managers.push(manager);
  const executor = new ToolExecutor({ registry, timeoutMs: 10_000, maxOutputBytes: 16_384, logger });
  let n = 0;
  const call = (name: string, args: unknown = {}, signal?: AbortSignal) =>
    executor.call({ callId: `call_${++n}`, name, arguments: JSON.stringify(args) }, signal);
  return { registry, manager, call, logger };
}

const haServer = (extra: Partial<McpServerConfig> = {}): McpServerConfig => ({
  name: 'ha',
  transport: 'http',
  url: ha.url,
  credential: 'ha-token',
  ...extra,
});

describe('MCP over stdio (a real child process)', () => {
  it('lists the server tools as function tools with legal names, filtered by allow/deny, and calls them', async () => {
    const { registry, manager, call } = rig();
    await manager.apply([stdio({ deny: ['crash'] })]);
    expect(registry.names()).toEqual([
      'box_echo',
      'box_sleep',
      'box_fail',
      'box_big',
      expect.stringMatching(/^box_dotted_name_[0-9a-f]{8}$/),
    ]);
    expect(registry.get('box_echo')?.definition).toEqual({
      type: 'function',
      name: 'box_echo',
      description: 'Echoes its text.',
      parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
    });
    expect((await call('box_echo', { text: 'hello' })).output).toBe('echo: hello');
    const dotted = registry.names().find((n) => n.startsWith('box_dotted'));
    expect((await call(dotted ?? '', {})).output).toBe('dotted ok');
    expect((await call('box_crash')).record.outcome).toBe('unknown-tool');
  });

  it('a call past its timeout or aborted ends, and the server answers the next call', async () => {
    const { manager, call } = rig({ callTimeoutMs: 300 });
    await manager.apply([stdio({ allow: ['sleep', 'echo'] })]);
    const slow = await call('box_sleep', { ms: 5_000 });
    expect(slow.record.outcome).toBe('timeout');
    expect(JSON.parse(slow.output).error.message).toBe('the tool did not answer within 0.3 s and was stopped');
    const bargeIn = new AbortController();
    setTimeout(() => bargeIn.abort(), 100);
    const aborted = await call('box_sleep', { ms: 5_000 }, bargeIn.signal);
    expect(aborted.record.outcome).toBe('aborted');
    expect(aborted.record.durationMs).toBeLessThan(1_000);
    expect((await call('box_echo', { text: 'still here' })).output).toBe('echo: still here');
  });

  it('isError becomes an error output; 1 MB of output is capped', async () => {
    const { manager, call } = rig();
    await manager.apply([stdio()]);
    const failed = await call('box_fail');
    expect(failed.record.outcome).toBe('error');
    expect(JSON.parse(failed.output)).toEqual({ error: { code: 'tool_error', message: 'the thing is broken' } });
    const big = await call('box_big');
    expect(big.record).toMatchObject({ outcome: 'ok', truncated: true });
    expect(Buffer.byteLength(big.output)).toBeLessThanOrEqual(16_384);
    expect(big.output).toMatch(/\[output truncated: 1048576 bytes/);
  });

  it('a crashed server is reported, its tools leave the registry, and it comes back after a backoff', async () => {
    const { registry, manager, call } = rig();
    await manager.apply([stdio()]);
    const firstPid = manager.connection('box')?.pid;
    const changes: number[] = [];
    registry.on('toolsChanged', (names) => changes.push(names.length));
    const errors: string[] = [];
    manager.on('serverError', (e) => errors.push(`${e.code} ${String(e.context.server)}: ${e.message}`));
    const crashed = await call('box_crash');
    expect(crashed.record.outcome).toBe('error');
    expect(errors[0]).toMatch(/^MCP_UNAVAILABLE box: MCP server box: lost: the connection closed/);
    expect(changes[0]).toBe(0);
    await new Promise<void>((resolve) => registry.on('toolsChanged', (n) => n.length > 0 && resolve()));
    expect(changes).toEqual([0, 6]);
    expect(manager.connection('box')?.pid).not.toBe(firstPid);
    expect((await call('box_echo', { text: 'back' })).output).toBe('echo: back');
  });

  it('the child gets only its configured environment and a minimal PATH, never the API key', async () => {
    process.env.OPENAI_API_KEY = 'sk-test-must-not-leak-0123456789';
    try {
      const { manager } = rig();
      await manager.apply([stdio({ env: { GREETING: 'hi' } })]);
      const pid = manager.connection('box')?.pid;
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
      expect(environ.map((kv) => kv.split('=')[0]).sort()).toEqual(['GREETING', 'LC_ALL', 'PATH']);
      expect(environ.join('\n')).not.toContain('sk-test-must-not-leak');
    } finally {
      delete process.env.OPENAI_API_KEY;
    }
  });
});

describe('MCP over Streamable HTTP (the Home Assistant stand-in)', () => {
  it('connects with the token from a systemd credential, offers the allowed tools, and switches a light', async () => {
    const { registry, manager, call, logger } = rig();
    await manager.apply([haServer({ allow: ['HassTurnOn', 'HassTurnOff', 'GetLiveContext'] })]);
    expect(registry.names()).toEqual(['ha_HassTurnOn', 'ha_HassTurnOff', 'ha_GetLiveContext']);
    const r = await call('ha_HassTurnOn', { name: 'Kitchen Light' });
    expect(JSON.parse(r.output)).toEqual({ success: true, result: { targets: ['Kitchen Light'] } });
    expect(ha.entities.get('Kitchen Light')?.state).toBe('on');
    const missing = await call('ha_HassTurnOff', { name: 'Garage' });
    expect(missing.record.outcome).toBe('error');
    expect(logger.lines.join('\n')).not.toContain(TOKEN);
  });

  it('arguments that do not fit the schema never reach Home Assistant', async () => {
    const { manager, call } = rig();
    await manager.apply([haServer()]);
    const before = ha.calls.length;
    const r = await call('ha_HassLightSet', { name: 'Kitchen Light', brightness: 250 });
    expect(r.record.outcome).toBe('invalid-arguments');
    expect(JSON.parse(r.output).error.message).toContain('argument brightness must be <= 100');
    expect(ha.calls.length).toBe(before);
  });

  it('a wrong token is refused with a clear error naming the server, and no tools are offered', async () => {
    writeFileSync(join(dir, 'wrong-token'), 'not-the-right-token-123');
    const { registry, manager, logger } = rig();
    const errors: Array<{ message: string; hint: string | undefined }> = [];
    manager.on('serverError', (e) => errors.push({ message: e.message, hint: e.hint }));
    await manager.apply([haServer({ credential: 'wrong-token' })]);
    expect(errors[0]).toEqual({
      message: `MCP server ha: cannot connect to ${ha.url}: the server refused the token (HTTP 401)`,
      hint: 'check the token in tokenFile/credential (Home Assistant: a long-lived access token of a user)',
    });
    expect(registry.names()).toEqual([]);
    expect(logger.lines.join('\n')).not.toContain('not-the-right-token-123');
  });
});

describe('MCP manager and doctor', () => {
  it('applies config changes: a server added, edited and removed, its child stopped', async () => {
    const { registry, manager } = rig();
    await manager.apply([haServer({ allow: ['GetDateTime'] })]);
    expect(registry.names()).toEqual(['ha_GetDateTime']);
    await manager.apply([haServer({ allow: ['GetDateTime'] }), stdio({ allow: ['echo'] })]);
    expect(registry.names()).toEqual(['ha_GetDateTime', 'box_echo']);
    const pid = manager.connection('box')?.pid ?? 0;
    const ha1 = manager.connection('ha');
    await manager.apply([haServer({ allow: ['GetLiveContext'] })]);
    expect(registry.names()).toEqual(['ha_GetLiveContext']);
    expect(manager.connection('ha')).not.toBe(ha1);
    expect(() => process.kill(pid, 0)).toThrow(); // the removed server's process is gone
  });

  it('doctor lists the tools of each server or says why not', async () => {
    const checks = await checkMcpServers(
      [haServer({ deny: ['GetDateTime'] }), stdio({ name: 'gone', command: '/nonexistent/mcp-server', args: [] })],
      { env: { CREDENTIALS_DIRECTORY: dir }, timeoutMs: 3_000 },
    );
    expect(checks).toEqual([
      {
        server: 'ha',
        ok: true,
        tools: ['ha_HassTurnOn', 'ha_HassTurnOff', 'ha_HassLightSet', 'ha_GetLiveContext'],
        detail: '4 tool(s): ha_HassTurnOn, ha_HassTurnOff, ha_HassLightSet, ha_GetLiveContext',
      },
      {
        server: 'gone',
        ok: false,
        tools: [],
        detail: 'MCP server gone: cannot connect to /nonexistent/mcp-server: command /nonexistent/mcp-server not found',
        fix: 'check that /nonexistent/mcp-server runs on its own',
      },
    ]);
  });
});
