/**
 * End to end, the press that only stops: the real daemon process (the built `dist/cli.js`)
 * against the simulator streaming its reply at real time, real libasound through ALSA `file`
 * devices (the mic a FIFO fed at real time, digital silence when nothing is fed; the speaker a
 * file) and the virtual button on the control socket. A person asks, the answer plays, they
 * press to stop it and keep holding without a word: the answer stops where it was heard, and
 * nothing new is asked.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BYTES_PER_MS } from '../../src/core/pcm-format.js';
import { DaemonProcess, type LogRecord } from '../../src/demo/daemon-process.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';
import { type AlsaSandbox, createAlsaSandbox, testPcm } from '../support/alsa.js';

const KEY = 'sk-e2e-silent-stop-0123456789abcdef';
const PERIOD_MS = 20;
const REPLY_MS = 3_000;

let dir: string;
let alsa: AlsaSandbox;
let sim: RealtimeSimulator;
let daemon: DaemonProcess;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The answer audio the simulator has sent so far for the latest response. */
function lastReply(): Buffer {
  const created = sim.sentOf('response.created').at(-1)!;
  const id = (created.event.response as { id: string }).id;
  return Buffer.concat(
    sim.sent
      .filter((f) => f.type === 'response.output_audio.delta' && f.event.response_id === id)
      .map((f) => Buffer.from(String(f.event.delta), 'base64')),
  );
}

/** Milliseconds of `reply` that reached the output device (its longest prefix found there). */
function heardOf(reply: Buffer): number {
  const out = alsa.readOutput();
  const at = out.indexOf(reply.subarray(0, 50 * BYTES_PER_MS));
  if (at < 0) return 0;
  let n = 0;
  while (n < reply.length && at + n < out.length && out[at + n] === reply[n]) n++;
  return (Math.floor(n / 2) * 2) / BYTES_PER_MS;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-e2e-stop-'));
  writeFileSync(join(dir, 'key'), `${KEY}\n`);
  chmodSync(join(dir, 'key'), 0o600);
  alsa = await createAlsaSandbox({ periodMs: PERIOD_MS });
  alsa.mic.start();
  // At real time, so the press lands while the server is still streaming the answer.
  sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: REPLY_MS, pace: 'realtime' });
  await sim.start();
  const configPath = join(dir, 'config.yaml');
  const socketPath = join(dir, 'control.sock');
  writeFileSync(
    configPath,
    stringify({
      realtime: { url: sim.url, apiKeyFile: join(dir, 'key') },
      audio: {
        input: { device: alsa.captureDevice, periodMs: PERIOD_MS, preRollMs: 200 },
        output: { device: alsa.playbackDevice, periodMs: PERIOD_MS, bufferMs: 60 },
      },
      gpio: { backend: 'virtual' },
      control: { socket: socketPath },
      log: { level: 'debug', format: 'json', transcriptFile: null },
      // Earcons off: what reaches the output device is exactly the answer.
      conversation: { earcons: false },
    }),
  );
  mkdirSync(join(dir, 'xdg', 'alsa'), { recursive: true });
  copyFileSync(alsa.configFile, join(dir, 'xdg', 'alsa', 'asoundrc'));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg') };
  delete env.OPENAI_API_KEY;
  delete env.ALSA_CONFIG_PATH;
  daemon = new DaemonProcess({ configPath, socketPath, env, entry: 'dist' });
  await daemon.waitForControl(20_000);
  await daemon.waitFor((r) => r.msg === 'profile verified', 'the profile verified', 20_000);
}, 30_000);

afterAll(async () => {
  if (daemon) await daemon.stop('SIGKILL');
  await sim?.stop();
  await alsa?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('realtime-ptt run, a press that stops an answer', () => {
  it('held silent after the cut: the answer stops where it was heard, and nothing new is asked', async (ctx) => {
    ctx.onTestFailed(() => void process.stderr.write(`daemon log tail:\n${daemon.tail(40)}\n${daemon.other}`));
    // A question, answered.
    const answered = daemon.nextTurn(20_000);
    await daemon.control('press');
    await alsa.mic.feed(testPcm(600, 1));
    await daemon.control('release');
    await until(() => sim.sentOf('response.created').length === 1, 'the answer');
    await until(() => heardOf(lastReply()) >= 300, '300 ms of the answer at the device');

    // Press to stop it, and hold for 700 ms without a word.
    const mark = sim.frames.length;
    const turnsBefore = daemon.find((r) => r.msg === 'turn').length;
    await daemon.control('press');
    const cut = await answered;
    await sleep(700);
    await daemon.control('release');
    await daemon.waitFor((r) => r.msg === 'turn' && r.outcome !== 'cut', 'the stop turn', 5_000, daemon.records.indexOf(cut));
    const [cutLine, stopLine] = daemon.find((r) => r.msg === 'turn').slice(turnsBefore) as [LogRecord, LogRecord];
    expect(cutLine).toMatchObject({ outcome: 'cut' });
    expect(stopLine).toMatchObject({ outcome: 'cancelled', bargeIn: true });
    expect(String(stopLine.reason)).toMatch(/stopped the answer and nothing was said.*nothing was asked/);

    // The server was mid-answer: the cancel ended it there, and the truncate matches what was heard.
    await until(() => sim.sentOf('response.done').length === 1, 'the cut response to end');
    expect(sim.sentOf('response.done')[0]!.event.response).toMatchObject({ status: 'cancelled' });
    expect(lastReply().length / BYTES_PER_MS, 'the server had not sent the whole answer').toBeLessThan(REPLY_MS);
    await sleep(300);
    const heardMs = heardOf(lastReply());
    const truncate = sim.framesOf('conversation.item.truncate').at(-1)!;
    expect(Math.abs((truncate.event.audio_end_ms as number) - heardMs)).toBeLessThanOrEqual(PERIOD_MS);

    // Nothing was asked: the held audio was cleared, never committed, and no response requested.
    const after = sim.frames.slice(mark).map((f) => f.type);
    expect(after).not.toContain('input_audio_buffer.commit');
    expect(after).not.toContain('response.create');
    expect(after.at(-1)).toBe('input_audio_buffer.clear');
    expect(sim.sentOf('response.created')).toHaveLength(1);
    expect(await daemon.control('status')).toBe('idle');
  });
});
