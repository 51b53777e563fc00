/**
 * End to end with tools: the real daemon process (built dist/cli.js) on the simulator, ALSA
 * file-plugin devices, and a real MCP server as the daemon's stdio child. The simulated model
 * answers a press with function calls; the test checks what the MCP server received (through its
 * output), what went back on the wire, that one response.create followed, and what was heard;
 * a timer that came due while the daemon was down, MCP servers that hang, crash or answer 1 MB,
 * the Home Assistant stand-in over Streamable HTTP, that no secret reaches a log, argv or child
 * environment, and that no MCP child outlives the daemon.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DaemonProcess } from '../../src/demo/daemon-process.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';
import { earcon } from '../../src/audio/earcon.js';
import { daemonEnv } from '../support/daemon-rig.js';
import { createAlsaSandbox, testPcm, type AlsaSandbox } from '../support/alsa.js';
import { startHaStandIn, type HaStandIn } from '../support/ha-mcp-server.js';
import { validateClientEvent } from '../support/realtime-schema.js';

const KEY = 'sk-e2e-tools-0123456789abcdefghijklmnop';
const HA_TOKEN = 'ha-long-lived-token-e2e-abcdef0123456789';
const PERIOD_MS = 20;
const STDIO_SERVER = fileURLToPath(new URL('../support/mcp-stdio-server.ts', import.meta.url));

let dir: string;
let alsa: AlsaSandbox;
let sim: RealtimeSimulator;
let daemon: DaemonProcess;
let configPath: string;
let ha: HaStandIn;

const stdio = (name: string) => ({ name, transport: 'stdio', command: process.execPath, args: ['--import', 'tsx', STDIO_SERVER] });
const haServer = () => ({
  name: 'ha',
  transport: 'http',
  url: ha.url,
  tokenFile: join(dir, 'ha-token'),
  allow: ['HassTurnOn', 'GetLiveContext'],
});

function config(servers: unknown[]): Record<string, unknown> {
  return {
    realtime: { url: sim.url, apiKeyFile: join(dir, 'key'), reconnect: { minMs: 100, maxMs: 400 } },
    session: { instructions: 'You are the tools test assistant.', voice: 'marin' },
    audio: {
      input: { device: alsa.captureDevice, periodMs: PERIOD_MS, preRollMs: 200 },
      output: { device: alsa.playbackDevice, periodMs: PERIOD_MS, bufferMs: 60 },
    },
    gpio: { backend: 'virtual' },
    control: { socket: join(dir, 'control.sock') },
    state: { dir: join(dir, 'state') },
    log: { level: 'debug', format: 'json', transcriptFile: join(dir, 'transcripts.jsonl') },
    conversation: { earcons: false },
    tools: { mcpServers: servers, callTimeoutMs: 3_000 },
  };
}

function saveConfig(body: Record<string, unknown>): void {
  writeFileSync(`${configPath}.swp`, stringify(body));
  renameSync(`${configPath}.swp`, configPath);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function press(holdMs = 500): Promise<void> {
  await daemon.control('press');
  void alsa.mic.feed(testPcm(holdMs, 1));
  await sleep(holdMs);
  await daemon.control('release');
}

/** The names of the function tools in the latest session.update. */
function offeredTools(): string[] {
  const update = sim.framesOf('session.update').at(-1)!;
  return ((update.event.session as { tools: Array<{ name: string }> }).tools ?? []).map((t) => t.name);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-e2e-tools-'));
  configPath = join(dir, 'config.yaml');
  writeFileSync(join(dir, 'key'), `${KEY}\n`);
  chmodSync(join(dir, 'key'), 0o600);
  alsa = await createAlsaSandbox({ periodMs: PERIOD_MS });
  alsa.mic.start();
  sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: 400, deltaMs: 100 });
  await sim.start();
  ha = await startHaStandIn({ token: HA_TOKEN });
  writeFileSync(join(dir, 'ha-token'), `${HA_TOKEN}\n`, { mode: 0o600 });
  // A timer that came due while the daemon was down: it goes off as the daemon starts.
  mkdirSync(join(dir, 'state'), { recursive: true });
  writeFileSync(
    join(dir, 'state', 'timers.json'),
    JSON.stringify([{ name: 'pasta', kind: 'timer', dueAt: Date.now() - 60_000, createdAt: Date.now() - 600_000 }]),
  );
  saveConfig(config([stdio('t'), haServer()]));
  const env = daemonEnv(dir, alsa);
  daemon = new DaemonProcess({ configPath, socketPath: join(dir, 'control.sock'), env, entry: 'dist' });
  await daemon.waitForControl(20_000);
  await until(() => sim.sentOf('session.updated').length > 0, 'the first verified profile', 20_000);
}, 40_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`daemon log tail:\n${daemon.tail(40)}\n${daemon.other}`);
});

afterAll(async () => {
  if (daemon) await daemon.stop('SIGKILL');
  await sim?.stop();
  await ha?.close();
  await alsa?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tools end to end', () => {
  it('a timer that expired while the daemon was down goes off at start: the alarm rings, it is announced, a tap stops it', async () => {
    const fired = await daemon.waitFor((r) => r.msg === 'timer went off', 'the expired timer', 10_000);
    expect(fired).toMatchObject({ name: 'pasta', late: true });
    const announced = await daemon.waitFor((r) => r.msg === 'turn' && r.mode === 'say', 'the announcement turn', 15_000);
    expect(announced.outcome).toBe('complete');
    const oob = sim
      .framesOf('response.create')
      .find((f) => (f.event.response as { conversation?: string } | undefined)?.conversation === 'none');
    expect(String((oob!.event.response as { instructions: string }).instructions)).toMatch(/pasta.*while the device was off/);
    // The alarm earcon reached the output device (earcons are off in this config: the alarm rings regardless).
    await until(() => alsa.readOutput().includes(earcon('alarm').subarray(0, 960)), 'the alarm earcon on the output device');
    await daemon.control('tap 100');
    const stopped = await daemon.waitFor((r) => r.msg === 'alarm stopped', 'the alarm to stop', 5_000);
    expect(stopped.why).toBe('stopped by a press');
  }, 30_000);

  it('offers the built-in and MCP tools in the verified profile; two calls in one response: both outputs, ONE response.create, then the spoken answer', async () => {
    const tools = offeredTools();
    expect(tools).toEqual(expect.arrayContaining(['get_local_time', 'set_timer', 't_echo', 't_sleep']));
    expect(tools, 'an MCP name the API would refuse is mapped').not.toContain('t_dotted.name');

    sim.queueToolCalls([
      { name: 't_echo', arguments: { text: 'lights on' } },
      { name: 'get_local_time', arguments: {} },
    ]);
    const next = daemon.nextTurn(20_000);
    const before = sim.frames.length;
    await press();
    const record = await next;
    expect(record.outcome).toBe('complete');
    const outputs = sim.callOutputs.slice(-2);
    expect(outputs.map((o) => o.name)).toEqual(['t_echo', 'get_local_time']);
    expect(outputs[0]!.output, 'the MCP server ran the call and its text went back').toContain('echo: lights on');
    expect(outputs[1]!.output).toMatch(/\d{4}/);
    // After the outputs: exactly one response.create, and the answer to it was heard.
    const after = sim.frames.slice(before).map((f) => f.type);
    const firstOutput = after.indexOf('conversation.item.create');
    expect(after.slice(firstOutput)).toEqual(['conversation.item.create', 'conversation.item.create', 'response.create']);
    expect(record.playedMs).toBe(400);
    const calls = record.tools as Array<Record<string, unknown>>;
    expect(calls.map((c) => [c.tool, c.outcome])).toEqual([
      ['t_echo', 'ok'],
      ['get_local_time', 'ok'],
    ]);
    expect(calls[0]).toMatchObject({ source: 't', arguments: '{"text":"lights on"}' });
    // The transcript file has one line per call, in the turn, with what the log line has.
    const lines = readFileSync(join(dir, 'transcripts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const toolLines = lines.filter((l) => l.role === 'tool' && l.turn === record.turn);
    expect(toolLines.map((l) => [l.tool, l.outcome, l.arguments])).toEqual([
      ['t_echo', 'ok', '{"text":"lights on"}'],
      ['get_local_time', 'ok', '{}'],
    ]);
    expect(toolLines[0]).toMatchObject({ source: 't', outputBytes: expect.any(Number), durationMs: expect.any(Number) });
    expect(toolLines[0].outputBytes).toBeGreaterThan(0);
  });

  it('invalid arguments and an isError tool go back as error outputs the model can speak about', async () => {
    sim.queueToolCalls([
      { name: 't_echo', arguments: { text: 42 } },
      { name: 't_fail', arguments: {} },
    ]);
    const next = daemon.nextTurn(20_000);
    await press();
    const record = await next;
    expect(record.outcome).toBe('complete');
    const [invalid, failed] = sim.callOutputs.slice(-2);
    expect(JSON.parse(invalid!.output).error.code).toBe('invalid_arguments');
    expect(JSON.parse(failed!.output).error.code).toBe('tool_error');
    expect((record.tools as Array<{ outcome: string }>).map((c) => c.outcome)).toEqual(['invalid-arguments', 'error']);
  });

  it('an MCP server that hangs past its timeout, one that answers 1 MB, and Home Assistant over HTTP, in one response', async () => {
    sim.queueToolCalls([
      { name: 't_sleep', arguments: { ms: 5_000 } },
      { name: 't_big', arguments: {} },
      { name: 'ha_HassTurnOn', arguments: { name: 'Kitchen Light' } },
    ]);
    const next = daemon.nextTurn(20_000);
    await press();
    const record = await next;
    expect(record.outcome).toBe('complete');
    const [hung, big, light] = sim.callOutputs.slice(-3);
    expect(JSON.parse(hung!.output).error.code).toBe('timeout');
    expect(Buffer.byteLength(big!.output), 'the 1 MB output is capped at tools.maxOutputBytes').toBeLessThanOrEqual(16_384);
    expect(big!.output).toMatch(/^x+\n\[output truncated: 1048576 bytes/);
    expect(ha.calls.at(-1)).toEqual({ name: 'HassTurnOn', arguments: { name: 'Kitchen Light' } });
    expect(ha.entities.get('Kitchen Light')?.state).toBe('on');
    expect(light!.output).toContain('success');
    const calls = record.tools as Array<{ tool: string; outcome: string; truncated: boolean; durationMs: number }>;
    expect(calls.map((c) => [c.tool, c.outcome, c.truncated])).toEqual([
      ['t_sleep', 'timeout', false],
      ['t_big', 'ok', true],
      ['ha_HassTurnOn', 'ok', false],
    ]);
    expect(calls[0]!.durationMs).toBeLessThan(4_500);
  }, 30_000);

  it('a press during a slow tool aborts it: its late result is never sent', async () => {
    sim.queueToolCalls([{ name: 't_sleep', arguments: { ms: 2_000 } }]);
    const outputsBefore = sim.callOutputs.length;
    const next = daemon.nextTurn(20_000);
    await press();
    // The model's call response is done by now and the tool sleeps: a press cuts the turn.
    await until(() => sim.sentOf('response.function_call_arguments.done').some((f) => f.event.name === 't_sleep'), 'the t_sleep call');
    await sleep(300);
    await daemon.control('press');
    const cut = await next;
    await daemon.control('release');
    expect(['cut', 'cancelled']).toContain(cut.outcome);
    await sleep(2_500);
    expect(sim.callOutputs.length, 'no output for the aborted call').toBe(outputsBefore);
  });

  it('a call whose connection drops while the tool runs is run once and answered on the next session', async () => {
    sim.queueToolCalls([{ name: 't_sleep', arguments: { ms: 800 } }]);
    const outputsBefore = sim.callOutputs.length;
    const next = daemon.nextTurn(20_000);
    const mark = daemon.records.length;
    await press();
    await daemon.waitFor((r) => r.msg === 'tool round' && String(r.calls) === 't_sleep', 'the t_sleep call running', 10_000, mark);
    const dropped = sim.connections.length - 1;
    sim.closeConnection(dropped, 1006);
    const record = await next;
    expect(record.outcome, daemon.tail(20)).toBe('complete');
    // Run once: one call in the turn, one output on the wire, on the new connection.
    expect((record.tools as Array<{ tool: string }>).map((c) => c.tool)).toEqual(['t_sleep']);
    const outputs = sim.callOutputs.slice(outputsBefore);
    expect(outputs.map((o) => o.name)).toEqual(['t_sleep']);
    // The new session (after its restored memory) gets the call, its output, then one response.create.
    const fresh = sim.frames
      .filter((f) => f.connection > dropped)
      .map((f) => (f.type === 'conversation.item.create' ? (f.event.item as { type: string }).type : f.type))
      .filter((t) => t !== 'message' && t !== 'input_audio_buffer.append');
    const call = fresh.indexOf('function_call');
    expect(call, 'the call was given to the new session').toBeGreaterThan(fresh.indexOf('session.update'));
    expect(fresh.slice(call, call + 3)).toEqual(['function_call', 'function_call_output', 'response.create']);
  });

  it('a hot reload that adds an MCP server: its tools are applied and verified on the wire', async () => {
    const updates = sim.framesOf('session.update').length;
    saveConfig(config([stdio('t'), haServer(), stdio('u')]));
    await until(() => sim.framesOf('session.update').length > updates && offeredTools().includes('u_echo'), 'a session.update with u_echo');
    await daemon.waitFor((r) => r.msg === 'profile applied with the changed tools', 'the verified apply', 10_000);
    // Every client frame of the whole file was valid against the published schema.
    const problems = sim.frames.flatMap((f) => frameProblems(f.event).map((p) => `${f.type}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('an MCP server that crashes mid-call: an error output for the call, the answer still comes, the server is back with its tools', async () => {
    const since = daemon.records.length;
    sim.queueToolCalls([{ name: 't_crash', arguments: {} }]);
    const next = daemon.nextTurn(20_000);
    await press();
    const record = await next;
    expect(record.outcome).toBe('complete');
    expect(JSON.parse(sim.callOutputs.at(-1)!.output)).toHaveProperty('error');
    expect((record.tools as Array<{ outcome: string }>)[0]!.outcome).toBe('error');
    await daemon.waitFor((r) => r.msg === 'MCP server' && r.server === 't' && r.state === 'down', 'the crash reported', 5_000, since);
    await daemon.waitFor((r) => r.msg === 'MCP server' && r.server === 't' && r.state === 'ready', 'the server back', 10_000, since);
    await until(() => offeredTools().includes('t_echo'), 'its tools offered again');
  }, 30_000);

  it('no secret in the log, argv or child environments; SIGTERM leaves no MCP child or aplay behind', async () => {
    const pid = daemon.child.pid!;
    const children = childrenOf(pid);
    const mcp = children.filter((c) => c.cmdline.includes('mcp-stdio-server'));
    const aplay = children.filter((c) => c.cmdline.startsWith('aplay'));
    expect(mcp.length, 'the t and u servers run as children').toBe(2);
    expect(aplay.length).toBe(1);
    const secrets = [KEY, HA_TOKEN];
    const leaks = (what: string, text: string) => secrets.filter((x) => text.includes(x)).map((x) => `${what} holds ${x.slice(0, 8)}…`);
    const found = [
      ...leaks('the daemon log', `${daemon.records.map((r) => JSON.stringify(r)).join('\n')}${daemon.other}`),
      ...leaks('the transcript file', readFileSync(join(dir, 'transcripts.jsonl'), 'utf8')),
      ...leaks('the daemon cmdline', readProc(pid, 'cmdline')),
      ...[...mcp, ...aplay].flatMap((c) => [
        ...leaks(`${c.cmdline} cmdline`, c.cmdline),
        ...leaks(`${c.cmdline} environ`, readProc(c.pid, 'environ')),
      ]),
    ];
    expect(found).toEqual([]);
    expect(
      readProc(mcp[0]!.pid, 'environ')
        .split('\0')
        .filter(Boolean)
        .map((kv) => kv.split('=')[0])
        .sort(),
      'only PATH and the C locale',
    ).toEqual(['LC_ALL', 'PATH']);

    // Every client frame of the whole file, crash and timeout turns included, was valid against the published schema.
    expect(sim.frames.flatMap((f) => frameProblems(f.event).map((p) => `${f.type}: ${p}`))).toEqual([]);

    const exit = await daemon.stop('SIGTERM');
    expect(exit.code).toBe(0);
    for (const c of [...mcp, ...aplay]) await until(() => !alive(c.pid), `${c.cmdline.split(' ')[0]} (pid ${c.pid}) to be gone`, 3_000);
  }, 20_000);
});

/**
 * A client frame against the published schema. That schema cannot validate `conversation: "none"`
 * (an overlapping oneOf: either documented value matches both branches), so an out-of-band
 * response.create is checked without it.
 */
function frameProblems(event: Record<string, unknown>): string[] {
  const response = event.response as Record<string, unknown> | undefined;
  if (event.type !== 'response.create' || response?.conversation !== 'none') return validateClientEvent(event);
  const { conversation: _c, ...rest } = response;
  return validateClientEvent({ ...event, response: rest });
}

/** The running children of `pid` (from /proc/<pid>/task/<tid>/children), with their command lines. */
function childrenOf(pid: number): Array<{ pid: number; cmdline: string }> {
  const pids = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readProc(pid, `task/${tid}/children`).trim().split(/\s+/).filter(Boolean).map(Number),
  );
  return pids.map((p) => ({ pid: p, cmdline: readProc(p, 'cmdline').split('\0').join(' ').trim() }));
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** Running (a zombie waiting for its reaper has already exited). */
const alive = (pid: number) => {
  const stat = readProc(pid, 'stat');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
};
