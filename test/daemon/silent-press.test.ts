/**
 * "A press to stop expects silence": what a press that cuts an answer, and a turn with a dead
 * microphone, send to the server. The daemon's real parts run in this process: the
 * RealtimeSession against the simulator (replies streamed at real time, so a cut lands in the
 * middle of one), alsa-capture reading an ALSA `file` device fed from a FIFO at real time (the
 * feeder writes digital silence whenever nothing is fed), aplay playing to an ALSA `file`
 * device, and the virtual button on its control socket.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { earcon } from '../../src/audio/index.js';
import { loadConfig } from '../../src/config/index.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Daemon, type Notifier } from '../../src/daemon/daemon.js';
import { createParts } from '../../src/daemon/parts.js';
import type { ConductorState } from '../../src/daemon/ports.js';
import type { TurnRecord } from '../../src/daemon/turn.js';
import { sendControlCommand } from '../../src/gpio/index.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';
import { type AlsaSandbox, createAlsaSandbox, testPcm } from '../support/alsa.js';

const KEY = 'sk-silent-press-0123456789abcdef';
const REPLY_MS = 2_000;

let dir: string;
let alsa: AlsaSandbox;
let sim: RealtimeSimulator;
let daemon: Daemon;
let state: ConductorState = 'connecting';
const turns: TurnRecord[] = [];
const logger = memoryLogger();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const control = (line: string) => sendControlCommand(join(dir, 'control.sock'), line);

async function until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** What the server was asked to do since `mark` (an index into the simulator's client frames). */
const sentSince = (mark: number, type: string) => sim.frames.slice(mark).filter((f) => f.type === type);

/** Asks a question (speech while held) and returns once its answer is playing mid-stream. */
async function answerPlaying(): Promise<void> {
  const responses = sim.sentOf('response.created').length;
  await control('press');
  await alsa.mic.feed(testPcm(500, turns.length + 1));
  await control('release');
  await until(() => state === 'speaking', 'the answer playing');
  await sleep(400); // some of it heard; the server is still streaming the rest
  expect(sim.sentOf('response.created').length).toBe(responses + 1);
  expect(sim.sentOf('response.done').length, 'the answer is still streaming').toBe(responses);
}

/** Presses while it speaks, holds `holdMs` (feeding `speech` if given), releases; returns the two turns that ended. */
async function cutAndHold(holdMs: number, speech?: Buffer): Promise<{ cut: TurnRecord; next: TurnRecord; mark: number }> {
  await answerPlaying();
  const before = turns.length;
  const mark = sim.frames.length;
  await control('press');
  if (speech) void alsa.mic.feed(speech);
  await sleep(holdMs);
  await control('release');
  await until(() => turns.length >= before + 2, 'the cut turn and the next one');
  return { cut: turns[before]!, next: turns[before + 1]!, mark };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-silent-'));
  alsa = await createAlsaSandbox({ periodMs: 20 });
  alsa.useInProcess();
  alsa.mic.start(); // before the capture opens the FIFO
  sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: REPLY_MS, pace: 'realtime' });
  await sim.start();
  writeFileSync(join(dir, 'key'), KEY, { mode: 0o600 });
  const configPath = join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    stringify({
      realtime: { url: sim.url, apiKeyFile: join(dir, 'key') },
      audio: {
        input: { device: alsa.captureDevice, periodMs: 20, preRollMs: 200 },
        output: { device: alsa.playbackDevice, periodMs: 20, bufferMs: 60 },
      },
      gpio: { backend: 'virtual', longPressMs: 1_500 },
      control: { socket: join(dir, 'control.sock') },
      log: { level: 'debug', transcriptFile: null },
      conversation: { earcons: true, minHoldMs: 200, cancelBelowDbfs: -35 },
    }),
  );
  const loaded = await loadConfig(configPath, {});
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const notifier: Notifier = { ready() {}, status() {}, reloading() {}, stopping() {}, startWatchdog() {}, stop() {} };
  // aplay is a child: it finds the sandbox devices through ALSA_CONFIG_PATH in its environment.
  const parts = createParts({ logger, env: { ...alsa.env } });
  daemon = new Daemon({ configPath, config: loaded.config, logger, notifier, parts, env: {}, watch: false });
  daemon.on('state', (s) => (state = s));
  daemon.on('turn', (t) => turns.push(t));
  const ready = daemon.next('ready', 10_000);
  await daemon.start();
  await ready;
}, 30_000);

afterAll(async () => {
  await daemon?.stop(); // the capture stops while the feeder still writes
  await sim?.stop();
  await alsa?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a press that stops an answer, then held without speech, asks nothing', () => {
  it.each([
    ['600 ms (longer than a tap, shorter than a long press)', 600],
    ['2 s (past the long press)', 2_000],
  ])('held %s: the answer stops mid-stream, the input is cleared, nothing is committed or requested', async (_label, holdMs) => {
    const { cut, next, mark } = await cutAndHold(holdMs);
    expect(cut).toMatchObject({ outcome: 'cut' });
    expect(cut.playedMs).toBeGreaterThan(0);
    expect(cut.playedMs).toBeLessThan(REPLY_MS);
    expect(next).toMatchObject({ outcome: 'cancelled', bargeIn: true });
    expect(next.reason).toMatch(/nothing was asked/);
    // The server really was mid-answer: the cancel ended the response it was streaming.
    await until(() => sim.sentOf('response.done').length === sim.sentOf('response.created').length, 'the cut response to end');
    expect(sim.sentOf('response.done').at(-1)!.event.response).toMatchObject({ status: 'cancelled' });
    await sleep(300);
    expect(sentSince(mark, 'response.cancel')).toHaveLength(1);
    expect(sentSince(mark, 'conversation.item.truncate')).toHaveLength(1);
    expect(sentSince(mark, 'input_audio_buffer.commit'), 'nothing committed').toHaveLength(0);
    expect(sentSince(mark, 'response.create'), 'nothing asked').toHaveLength(0);
    expect(sim.frames.at(-1)!.type, 'the held audio was cleared').toBe('input_audio_buffer.clear');
    expect(state).toBe('idle');
  });

  it('a hold with speech after the cut is a question, and it is answered', async () => {
    const { cut, next, mark } = await cutAndHold(800, testPcm(500, 9));
    expect(cut).toMatchObject({ outcome: 'cut' });
    expect(next).toMatchObject({ outcome: 'complete', bargeIn: true });
    expect(next.receivedMs).toBe(REPLY_MS);
    expect(sentSince(mark, 'input_audio_buffer.commit')).toHaveLength(1);
    expect(sentSince(mark, 'response.create')).toHaveLength(1);
  });
});

describe('a turn of digital silence (a muted or unplugged microphone)', () => {
  it('is not sent: cleared instead of committed, the error earcon plays, the turn line says why', async () => {
    await until(() => state === 'idle', 'idle');
    const mark = sim.frames.length;
    const heardFrom = alsa.readOutput().length;
    const before = turns.length;
    await control('press');
    await sleep(600); // the feeder writes only zeros
    await control('release');
    await until(() => turns.length > before, 'the turn line');
    const record = turns[before]!;
    expect(record).toMatchObject({ outcome: 'silent', bargeIn: false, input: { peakDbfs: -120 } });
    expect(record.reason).toMatch(/digital silence.*muted or unplugged/);
    expect(logger.records().find((r) => r.msg === 'turn' && r.outcome === 'silent')).toMatchObject({ level: 'warn' });

    // The error tone reached the speaker (a middle slice of it: the start may be faded in).
    const tone = earcon('error');
    const slice = tone.subarray(tone.length / 4, tone.length / 2);
    await until(() => alsa.readOutput().indexOf(slice, heardFrom) >= 0, 'the error earcon at the output device', 3_000);

    await sleep(200);
    expect(sentSince(mark, 'input_audio_buffer.commit')).toHaveLength(0);
    expect(sentSince(mark, 'response.create')).toHaveLength(0);
    expect(sim.frames.at(-1)!.type).toBe('input_audio_buffer.clear');
  });
});
