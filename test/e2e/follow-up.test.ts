/**
 * Follow-up without pressing, end to end on the real daemon (dist/cli.js) with the simulator's
 * server VAD and ALSA file-plugin devices: after an answer the microphone stays open under VAD for
 * session.followUp.windowMs; a question in the window is answered without a press, silence closes
 * it, a press in it is push to talk. Every append on the wire is checked against the turn
 * detection in force at that moment (never between a session.update and its session.updated).
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DaemonProcess, type LogRecord } from '../../src/demo/daemon-process.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';
import { createAlsaSandbox, testPcm, type AlsaSandbox } from '../support/alsa.js';
import { validateClientEvent } from '../support/realtime-schema.js';

const KEY = 'sk-followup-0123456789abcdefghijklmnop';
const PERIOD_MS = 20;
const WINDOW_MS = 1_500;

let dir: string;
let alsa: AlsaSandbox;
let sim: RealtimeSimulator;
let daemon: DaemonProcess;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function manualTurn(seed: number): Promise<LogRecord> {
  const next = daemon.nextTurn(20_000);
  await daemon.control('press');
  void alsa.mic.feed(testPcm(400, seed));
  await sleep(600);
  await daemon.control('release');
  return next;
}

type Mode = 'manual' | 'server_vad' | 'semantic_vad';
const modeOf = (session: unknown): Mode =>
  ((session as { audio?: { input?: { turn_detection?: { type?: Mode } | null } } }).audio?.input?.turn_detection?.type ?? 'manual') as Mode;

/**
 * Within one millisecond: the simulator records a client frame after handling it (its answer is
 * stamped first), so a client session.update goes before server frames, other client frames after.
 */
const rank = (e: { from: 'client' | 'server'; f: { type: string } }): number =>
  e.from === 'server' ? 1 : e.f.type === 'session.update' ? 0 : 2;

/**
 * Walks the connection's frames in time order: each append must fall where no session.update is
 * waiting for its session.updated; returns the mode each append was sent under.
 */
function appendModes(conn: number): Mode[] {
  const timeline = [
    ...sim.frames.filter((f) => f.connection === conn).map((f) => ({ at: f.at, from: 'client' as const, f })),
    ...sim.sent.filter((f) => f.connection === conn).map((f) => ({ at: f.at, from: 'server' as const, f })),
  ].sort((a, b) => a.at - b.at || rank(a) - rank(b));
  let mode: Mode = 'manual';
  let pendingSince: number | undefined;
  const modes: Mode[] = [];
  for (const e of timeline) {
    if (e.from === 'client' && e.f.type === 'session.update') pendingSince = e.at;
    else if (e.from === 'server' && e.f.type === 'session.updated') {
      pendingSince = undefined;
      mode = modeOf(e.f.event.session);
    } else if (e.from === 'client' && e.f.type === 'input_audio_buffer.append') {
      expect(pendingSince, `an append at ${e.at} ms while a session.update (${pendingSince} ms) was unconfirmed`).toBeUndefined();
      modes.push(mode);
    } else if (e.from === 'client' && e.f.type === 'input_audio_buffer.commit') {
      expect(mode, 'the client commits only under manual turn detection').toBe('manual');
    }
  }
  return modes;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-followup-'));
  writeFileSync(join(dir, 'key'), `${KEY}\n`);
  chmodSync(join(dir, 'key'), 0o600);
  alsa = await createAlsaSandbox({ periodMs: PERIOD_MS });
  alsa.mic.start();
  sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: 400, deltaMs: 100, pace: 'realtime' });
  await sim.start();
  const configPath = join(dir, 'config.yaml');
  const socketPath = join(dir, 'control.sock');
  writeFileSync(
    configPath,
    stringify({
      realtime: { url: sim.url, apiKeyFile: join(dir, 'key'), reconnect: { minMs: 100, maxMs: 400 } },
      session: { instructions: 'follow-up tests', followUp: { windowMs: WINDOW_MS, turnDetection: 'server_vad' } },
      audio: {
        input: { device: alsa.captureDevice, periodMs: PERIOD_MS, preRollMs: 100 },
        output: { device: alsa.playbackDevice, periodMs: PERIOD_MS, bufferMs: 60 },
      },
      gpio: { backend: 'virtual' },
      control: { socket: socketPath },
      state: { dir: join(dir, 'state') },
      log: { level: 'debug', format: 'json', transcriptFile: null },
      conversation: { earcons: false },
    }),
  );
  mkdirSync(join(dir, 'xdg', 'alsa'), { recursive: true });
  copyFileSync(alsa.configFile, join(dir, 'xdg', 'alsa', 'asoundrc'));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg') };
  delete env.OPENAI_API_KEY;
  delete env.ALSA_CONFIG_PATH;
  daemon = new DaemonProcess({ configPath, socketPath, env, entry: 'dist' });
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

describe('follow-up without pressing', () => {
  it('after an answer the window opens under a verified VAD update; silence closes it back to push to talk', async () => {
    const mark = daemon.records.length;
    expect(await manualTurn(1)).toMatchObject({ outcome: 'complete', mode: 'manual' });
    await daemon.waitFor((r) => r.msg === 'follow-up window open', 'the window', 5_000, mark);
    expect(await daemon.control('status')).toBe('listening');
    const closed = await daemon.waitFor((r) => r.msg === 'follow-up window closed', 'the window closed', 5_000, mark);
    expect(closed.reason).toBe(`${WINDOW_MS} ms without speech`);
    await sleep(300);
    expect(await daemon.control('status')).toBe('idle');
    const updated = sim.sentOf('session.updated', 0).map((f) => modeOf(f.event.session));
    expect(updated.slice(-2)).toEqual(['server_vad', 'manual']);
    const modes = appendModes(0);
    expect(modes).toContain('server_vad'); // the microphone streamed in the window
    expect(sim.sentOf('input_audio_buffer.speech_started', 0)).toHaveLength(0);
  });

  it('a question in the window is answered without a press; a press in the window is push to talk again', async () => {
    let mark = daemon.records.length;
    expect(await manualTurn(2)).toMatchObject({ outcome: 'complete' });
    await daemon.waitFor((r) => r.msg === 'follow-up window open', 'the window', 5_000, mark);
    mark = daemon.records.length;
    const handsFree = daemon.nextTurn(20_000);
    await alsa.mic.feed(testPcm(500, 3));
    expect(await handsFree).toMatchObject({ outcome: 'complete', mode: 'hands-free' });
    expect(sim.sentOf('input_audio_buffer.speech_started', 0).length).toBeGreaterThan(0);
    expect(sim.framesOf('input_audio_buffer.commit', 0).at(-1)!.at, 'the server committed, not the client').toBeLessThan(
      sim.sentOf('input_audio_buffer.committed', 0).at(-1)!.at,
    );

    // The window runs again after that answer; a press in it is an ordinary push-to-talk turn.
    await sleep(300);
    const updatesBefore = sim.framesOf('session.update', 0).length;
    expect(await manualTurn(4)).toMatchObject({ outcome: 'complete', mode: 'manual' });
    const update = sim.framesOf('session.update', 0)[updatesBefore]!;
    expect(modeOf(update.event.session), 'the press switched back to manual first').toBe('manual');
    const after = sim.frames.filter((f) => f.connection === 0 && f.at >= update.at).map((f) => f.type);
    expect(after.indexOf('session.update')).toBeLessThan(after.indexOf('input_audio_buffer.append'));
    await daemon.waitFor(
      (r) => r.msg === 'follow-up window closed' && r.reason === 'a press during the follow-up window',
      'the press',
      5_000,
      mark,
    );
    const modes = appendModes(0);
    expect(modes).toContain('manual');
    expect(modes).toContain('server_vad');
  });

  it('every client frame is valid against the published schema', async () => {
    await daemon.waitFor(
      (r) => r.msg === 'follow-up window closed' && String(r.reason).endsWith('without speech'),
      'the last window closed',
    );
    const invalid = sim.frames.map((f) => ({ type: f.type, errors: validateClientEvent(f.event) })).filter((r) => r.errors.length > 0);
    expect(invalid).toEqual([]);
  });
});
