/**
 * End to end on the real daemon (built dist/cli.js) with the simulator, ALSA file-plugin devices
 * and the virtual button: profiles switched by command and by double press and verified on the
 * wire, a switch asked for during an answer, an unknown profile refused, the active profile after
 * a restart; the conversation restored into every new session (dropped socket, 1001 expiry,
 * on-demand idle close) before the next turn's audio, within the memory limits; forget.
 */
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DaemonProcess, type LogRecord } from '../../src/demo/daemon-process.js';
import { RealtimeSimulator, type RecordedFrame } from '../../src/simulator/index.js';
import { daemonEnv } from '../support/daemon-rig.js';
import { createAlsaSandbox, testPcm, type AlsaSandbox } from '../support/alsa.js';
import { validateClientEvent } from '../support/realtime-schema.js';

const KEY = 'sk-profiles-0123456789abcdefghijklmnop';
const PERIOD_MS = 20;
const MAIN_I = 'You are the household assistant. Answer in one sentence.';
const KIDS_I = 'You talk with children. Use short, simple words.';

let dir: string;
let alsa: AlsaSandbox;
let sim: RealtimeSimulator;
let daemon: DaemonProcess;
let env: NodeJS.ProcessEnv;
let configPath: string;
let socketPath: string;
let transcriptPath: string;

function config(over: { connection?: 'persistent' | 'on-demand' } = {}): Record<string, unknown> {
  return {
    realtime: {
      url: sim.url,
      apiKeyFile: join(dir, 'key'),
      connection: over.connection ?? 'persistent',
      reconnect: { minMs: 100, maxMs: 400 },
      timeouts: { sessionUpdateMs: 5_000, idleCloseMs: 1_000 },
    },
    session: { instructions: MAIN_I, voice: 'marin' },
    profiles: { switchGesture: 'doublePress', named: { kids: { voice: 'shimmer', instructions: KIDS_I } } },
    audio: {
      input: { device: alsa.captureDevice, periodMs: PERIOD_MS, preRollMs: 100 },
      output: { device: alsa.playbackDevice, periodMs: PERIOD_MS, bufferMs: 60 },
    },
    gpio: { backend: 'virtual', doublePressMs: 600 },
    control: { socket: socketPath },
    state: { dir: join(dir, 'state') },
    log: { level: 'debug', format: 'json', transcriptFile: transcriptPath },
    conversation: { earcons: false, memoryTurns: 2 },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function turn(seed: number): Promise<LogRecord> {
  const next = daemon.nextTurn(20_000);
  await daemon.control('press');
  void alsa.mic.feed(testPcm(400, seed));
  await sleep(600);
  await daemon.control('release');
  return next;
}

const framesOn = (conn: number): RecordedFrame[] => sim.frames.filter((f) => f.connection === conn);
const last = () => sim.connections.length - 1;
const sessionOf = (f: RecordedFrame) => f.event.session as { instructions?: string; audio?: { output?: { voice?: string } } };

/** The texts restored on connection `conn`, after its profile was confirmed and before its first audio. */
function restoredOn(conn: number): string[] {
  const frames = framesOn(conn);
  const types = frames.map((f) => f.type);
  const items = frames.filter((f) => f.type === 'conversation.item.create');
  const updated = sim.sentOf('session.updated', conn)[0];
  if (items.length > 0) {
    expect(updated, 'the profile was confirmed').toBeDefined();
    expect(items[0]!.at, 'restored after session.updated').toBeGreaterThanOrEqual(updated!.at);
    const firstAppend = types.indexOf('input_audio_buffer.append');
    if (firstAppend >= 0) expect(types.lastIndexOf('conversation.item.create'), 'restored before any audio').toBeLessThan(firstAppend);
  }
  return items.map((f) => {
    const item = f.event.item as { role: string; content: Array<{ text: string }> };
    return `${item.role}: ${item.content[0]!.text}`;
  });
}

async function newVerifiedConnection(before: number): Promise<number> {
  await until(() => sim.connections.length > before && sim.sentOf('session.updated', last()).length > 0, 'a new verified connection');
  await sleep(200); // the restore goes out right after verification
  return last();
}

function startDaemon(): DaemonProcess {
  return new DaemonProcess({ configPath, socketPath, env, entry: 'dist' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-profiles-'));
  configPath = join(dir, 'config.yaml');
  socketPath = join(dir, 'control.sock');
  transcriptPath = join(dir, 'transcripts.jsonl');
  writeFileSync(join(dir, 'key'), `${KEY}\n`);
  chmodSync(join(dir, 'key'), 0o600);
  alsa = await createAlsaSandbox({ periodMs: PERIOD_MS });
  alsa.mic.start();
  sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: 600, deltaMs: 100, pace: 'realtime' });
  await sim.start();
  writeFileSync(configPath, stringify(config()));
  env = daemonEnv(dir, alsa);
  daemon = startDaemon();
  await daemon.waitFor((r) => r.msg === 'profile verified', 'the first verification', 20_000);
  await daemon.waitForControl(20_000);
}, 30_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`daemon log tail:\n${daemon.tail(40)}\n${daemon.other}`);
});

afterAll(async () => {
  if (daemon) await daemon.stop('SIGKILL');
  await sim?.stop();
  await alsa?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('profiles on the running daemon', () => {
  it('lists the profiles, refuses an unknown one and keeps the old one', async () => {
    expect(await daemon.control('profile')).toBe('active: main; profiles: main, kids');
    const updates = sim.framesOf('session.update').length;
    await expect(daemon.control('profile grownup')).rejects.toThrow(
      'error: there is no profile "grownup"; the profile "main" stays active   fix: use one of: main, kids (profiles.named in the config file defines them)',
    );
    await sleep(200);
    expect(sim.framesOf('session.update'), 'nothing sent for a refused switch').toHaveLength(updates);
    expect(await daemon.control('profile')).toMatch(/^active: main;/);
  });

  it('switches by command: a verified session.update with the new voice and instructions; the turn and transcript name it', async () => {
    expect(await daemon.control('profile kids')).toBe('ok: kids (live)');
    const update = sim.framesOf('session.update', 0).at(-1)!;
    expect(sessionOf(update)).toMatchObject({ instructions: KIDS_I, audio: { output: { voice: 'shimmer' } } });
    expect(sim.sentOf('session.updated', 0).at(-1)!.at).toBeGreaterThanOrEqual(update.at);
    expect(daemon.find((r) => r.msg === 'profile switched').at(-1)).toMatchObject({ profile: 'kids', from: 'main', mode: 'live' });

    const record = await turn(1);
    expect(record).toMatchObject({ outcome: 'complete', profile: 'kids' });
    await until(() => readFileSync(transcriptPath, 'utf8').split('\n').filter(Boolean).length >= 2, 'two transcript lines');
    const lines = readFileSync(transcriptPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.role, l.profile])).toEqual([
      ['user', 'kids'],
      ['assistant', 'kids'],
    ]);
  });

  it('switches by double press (next in file order); the voice change reconnects and the new session gets the conversation first', async () => {
    const connections = sim.connections.length;
    const mark = daemon.records.length;
    await daemon.control('tap 60');
    await daemon.control('tap 60');
    const switched = await daemon.waitFor((r) => r.msg === 'profile switched', 'the gesture switch', 10_000, mark);
    expect(switched).toMatchObject({ profile: 'main', from: 'kids', mode: 'reconnect-when-idle' });
    const conn = await newVerifiedConnection(connections);
    expect(sessionOf(sim.framesOf('session.update', conn)[0]!)).toMatchObject({
      instructions: MAIN_I,
      audio: { output: { voice: 'marin' } },
    });
    const restored = restoredOn(conn);
    expect(restored).toHaveLength(2);
    expect(restored[0]).toMatch(/^user: /);
    expect(restored[1]).toBe('assistant: This is simulated reply number 1. The local simulator is speaking.');
    expect(await daemon.control('profile')).toMatch(/^active: main;/);
  });

  it('a switch asked for during an answer is applied after the answer has played', async () => {
    const connections = sim.connections.length;
    const responses = sim.sentOf('response.created').length;
    const next = daemon.nextTurn(20_000);
    await daemon.control('press');
    void alsa.mic.feed(testPcm(400, 2));
    await sleep(600);
    await daemon.control('release');
    await until(() => sim.sentOf('response.created').length > responses, 'the answer started');
    const updates = sim.framesOf('session.update').length;
    expect(await daemon.control('profile kids')).toBe('ok: switching to kids when the answer in progress ends');
    await sleep(100);
    expect(sim.framesOf('session.update'), 'nothing changes under the answer').toHaveLength(updates);
    const mark = daemon.records.length;
    const record = await next;
    expect(record).toMatchObject({ outcome: 'complete', profile: 'main', playedMs: 600 });
    const turnAt = daemon.records.findIndex((r, i) => i >= mark && r.msg === 'turn');
    const switched = await daemon.waitFor((r) => r.msg === 'profile switched', 'the switch after the answer', 10_000, mark);
    expect(switched).toMatchObject({ profile: 'kids', from: 'main' });
    expect(daemon.records.indexOf(switched), 'switched after the turn line').toBeGreaterThan(turnAt);
    const conn = await newVerifiedConnection(connections);
    expect(sessionOf(sim.framesOf('session.update', conn)[0]!)).toMatchObject({ instructions: KIDS_I });
  });
});

describe('the switch_profile tool', () => {
  it('the model switches the profile with a tool call; it is applied after that answer, verified on the wire', async () => {
    const profile = (await daemon.control('profile')).match(/^active: (\S+);/)![1]!;
    const target = profile === 'kids' ? 'main' : 'kids';
    const offered = sim.framesOf('session.update').at(-1)!.event.session as { tools?: Array<{ name: string; description: string }> };
    expect(offered.tools?.find((t) => t.name === 'switch_profile')?.description).toMatch(/Profiles: main, kids/);
    sim.queueToolCalls([{ name: 'switch_profile', arguments: { profile: target } }]);
    const mark = daemon.records.length;
    expect(await turn(7)).toMatchObject({ outcome: 'complete', profile });
    const output = sim.callOutputs.at(-1)!;
    expect(output.name).toBe('switch_profile');
    expect(JSON.parse(output.output)).toEqual({ profile: target, switched: true, note: 'applied after this answer' });
    const switched = await daemon.waitFor((r) => r.msg === 'profile switched', 'the switch', 10_000, mark);
    expect(switched).toMatchObject({ profile: target, from: profile });
    expect(await daemon.control('profile')).toMatch(new RegExp(`^active: ${target};`));
    // Back where the following tests expect it.
    expect(await daemon.control(`profile ${profile}`)).toMatch(/^ok: /);
  });
});

describe('memory across reconnects', () => {
  it('restores the conversation after a dropped socket and after a 1001 expiry, before the next audio, within memoryTurns', async () => {
    let before = sim.connections.length;
    sim.closeConnection(last(), 1006);
    let conn = await newVerifiedConnection(before);
    expect(restoredOn(conn), 'turns 1 and 2').toHaveLength(4);

    expect(await turn(3)).toMatchObject({ outcome: 'complete' });
    restoredOn(conn); // the restore came before this turn's audio
    await sleep(1_700); // the user's transcript may come late: the turn waits for it

    before = sim.connections.length;
    sim.closeConnection(conn, 1001, 'session expired');
    conn = await newVerifiedConnection(before);
    const restored = restoredOn(conn);
    expect(restored, 'memoryTurns 2: turns 2 and 3').toHaveLength(4);
    expect(restored[3]).toBe('assistant: This is simulated reply number 1. The local simulator is speaking.');
  });

  it('an answer cut by a press is restored as heard, not as generated', async () => {
    const cut = daemon.nextTurn(20_000);
    const mark = daemon.records.length;
    await daemon.control('press');
    void alsa.mic.feed(testPcm(400, 4));
    await sleep(600);
    await daemon.control('release');
    await daemon.waitFor((r) => r.msg === 'state' && r.state === 'speaking', 'the answer playing', 10_000, mark);
    await sleep(250);
    await daemon.control('press'); // stops the answer; held silent, it asks nothing
    expect(await cut).toMatchObject({ outcome: 'cut' });
    await sleep(150);
    await daemon.control('release');
    await sleep(1_700); // the user's transcript may come late: the turn waits for it

    const before = sim.connections.length;
    sim.closeConnection(last(), 1006);
    const restored = restoredOn(await newVerifiedConnection(before));
    const full = 'This is simulated reply number 2. The local simulator is speaking.';
    const heard = restored.at(-1)!.replace(/^assistant: /, '');
    expect(restored.at(-1), 'the cut answer is the last text').toMatch(/^assistant: This is/);
    expect(full.startsWith(heard) && heard.length < full.length, `"${heard}" is the part heard of "${full}"`).toBe(true);
  });

  it('forget clears it at once: the next session starts fresh', async () => {
    expect(await daemon.control('forget')).toBe('ok: forgot 4 texts; the next session starts fresh');
    const before = sim.connections.length;
    sim.closeConnection(last(), 1001, 'session expired');
    const conn = await newVerifiedConnection(before);
    expect(restoredOn(conn)).toEqual([]);
  });
});

describe('after a restart (on-demand)', () => {
  it('keeps the active profile, and restores the conversation after the idle close', async () => {
    expect((await daemon.stop('SIGTERM')).code).toBe(0);
    const kept = JSON.parse(readFileSync(join(dir, 'state', 'profile.json'), 'utf8')) as { active: string };
    expect(kept).toEqual({ active: 'kids' });
    const save = `${configPath}.tmp`;
    writeFileSync(save, stringify(config({ connection: 'on-demand' })));
    renameSync(save, configPath);
    const before = sim.connections.length;
    daemon = startDaemon();
    await daemon.waitForControl(20_000);
    expect(await daemon.control('profile')).toBe('active: kids; profiles: main, kids');

    expect(await turn(4)).toMatchObject({ outcome: 'complete', profile: 'kids' });
    const first = before;
    expect(sessionOf(sim.framesOf('session.update', first)[0]!)).toMatchObject({ instructions: KIDS_I });
    await until(() => sim.connections[first]!.closedWith !== undefined, 'the idle close', 10_000);
    expect(sim.connections[first]!.closedWith).toMatchObject({ by: 'client' });

    expect(await turn(5)).toMatchObject({ outcome: 'complete' });
    const second = last();
    expect(second).toBeGreaterThan(first);
    expect(restoredOn(second), 'turn 4 restored before turn 5 audio').toHaveLength(2);
  });

  it('every client frame of every connection is valid against the published schema', () => {
    const invalid = sim.frames.map((f) => ({ type: f.type, errors: validateClientEvent(f.event) })).filter((r) => r.errors.length > 0);
    expect(invalid).toEqual([]);
    expect(sim.framesOf('conversation.item.create').length).toBeGreaterThan(0);
  });
});
