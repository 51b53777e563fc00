/**
 * ArecordCapture: a real arecord child on real libasound (the sandbox's FIFO-backed `file`
 * device), read in batches while the gate is closed and per period while it is open.
 */
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import type { PttError } from '../../src/core/errors.js';
import { ArecordCapture, GatedMic, type ArecordCaptureOptions } from '../../src/audio/index.js';
import { expectJitteredSteps } from '../support/backoff.js';
import { createAlsaSandbox, testPcm, type AlsaSandbox } from '../support/alsa.js';

const PERIOD_BYTES = 960; // 20 ms
const KEY = 'sk-test-arecord-must-not-leak-0123456789';

/** arecord processes whose parent is this test process. */
function arecordChildren(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'arecord' && ppid === process.pid) out.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('ArecordCapture on a real ALSA file device', () => {
  let alsa: AlsaSandbox;
  let cap: ArecordCapture | undefined;
  const make = (o: Partial<ArecordCaptureOptions> = {}) =>
    (cap = new ArecordCapture({
      device: alsa.captureDevice,
      periodMs: 20,
      env: { ...process.env, ...alsa.env, OPENAI_API_KEY: KEY },
      ...o,
    }));

  beforeEach(async () => {
    alsa = await createAlsaSandbox({ periodMs: 20 });
    alsa.mic.start();
  });
  afterEach(async () => {
    await cap?.stop();
    cap = undefined;
    await alsa.cleanup();
  });

  it('hands over the audio up to the press after a batched idle stretch, then byte-exact batches of whole periods until the release', async () => {
    // No batch read happens during the test: the pre-roll can only come from open() itself.
    make({ idleBatchMs: 60_000 });
    await cap!.start();
    const mic = new GatedMic(cap!, { preRollMs: 300 });
    const frames: Buffer[] = [];
    const gated: Buffer[] = [];
    cap!.on('frame', (f) => frames.push(f));
    mic.on('audio', (pcm) => gated.push(pcm));
    const before = testPcm(400, 1);
    await alsa.mic.feed(before);
    await sleep(150); // the press comes a little after the last word
    expect(frames).toHaveLength(0); // batched: nothing read yet
    const preRoll = mic.open();
    const written = alsa.mic.written;
    expect(preRoll.length).toBe(300 * 48);
    // The pre-roll is the stream just before the press: it holds the end of what was said.
    const at = written.indexOf(preRoll);
    expect(at).toBeGreaterThan(0);
    expect(preRoll.includes(before.subarray(before.length - 100 * 48))).toBe(true);
    // ... and reaches up to the press: at most a few periods (in the device, in arecord) behind what the FIFO got.
    expect(written.length - (at + preRoll.length)).toBeLessThanOrEqual(5 * PERIOD_BYTES);

    const during = testPcm(300, 2);
    await alsa.mic.feed(during);
    await sleep(60);
    const stats = mic.close();
    const turn = Buffer.concat([preRoll, ...gated]);
    const all = alsa.mic.written;
    // The turn continues the pre-roll with nothing lost or repeated, through the end of what was said while held.
    expect(all.indexOf(turn)).toBe(at);
    expect(turn.includes(during)).toBe(true);
    expect(stats.ms).toBe(Math.round(turn.length / 48));
    // Every frame is whole periods (one read each), in order: the raw stream is a contiguous piece of the FIFO's bytes.
    expect(frames.every((f) => f.length > 0 && f.length % PERIOD_BYTES === 0)).toBe(true);
    // While live, a read every liveBatchMs (100): a batch holds about five periods, not one per wake-up.
    expect(frames.length).toBeLessThan(turn.length / PERIOD_BYTES / 2);
    expect(all.includes(Buffer.concat(frames))).toBe(true);
    expect(Buffer.concat(frames).includes(before)).toBe(true);
    mic.detach();
  });

  it('gives arecord a minimal environment: the API key never reaches it', async () => {
    make();
    await cap!.start();
    const env = readFileSync(`/proc/${cap!.pid}/environ`, 'utf8').split('\0');
    expect(env.some((e) => e.includes(KEY))).toBe(false);
    expect(env).toContain(`ALSA_CONFIG_PATH=${alsa.env.ALSA_CONFIG_PATH}`);
  });

  it('reports a microphone that stops delivering (MIC_STALLED) once, and logs when it delivers again', async () => {
    const logger = memoryLogger();
    make({ stallMs: 300, idleBatchMs: 100, logger });
    const mic = new GatedMic(cap!);
    const errors: PttError[] = [];
    mic.on('error', (e) => errors.push(e));
    await cap!.start();
    await sleep(500);
    expect(errors).toEqual([]); // a device that delivers is not stalled, even though it is read only in batches
    alsa.mic.pause();
    try {
      await waitFor(() => errors.length > 0);
      await sleep(400);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'MIC_STALLED', context: { device: alsa.captureDevice } });
      expect(errors[0]!.message).toMatch(/^capture device "ptt_mic" has delivered no audio for \d+ ms$/);
    } finally {
      alsa.mic.resume();
    }
    await waitFor(() => logger.records().some((r) => r.msg === 'microphone delivers again'));
    const frames: Buffer[] = [];
    cap!.on('frame', (f) => frames.push(f));
    await waitFor(() => frames.length > 0);
    mic.detach();
  });

  it('restarts a killed or failing arecord with doubling delays, reports the outage once, and delivers again', async () => {
    // A wrapper that fails like a vanished device while the flag file exists.
    const flag = join(alsa.dir, 'unplugged');
    const wrapper = join(alsa.dir, 'arecord-wrapper');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ -e '${flag}' ]; then echo 'arecord: main:831: audio open error: No such device' >&2; exit 1; fi\nexec arecord "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const logger = memoryLogger();
    make({ arecordPath: wrapper, respawnMinMs: 40, respawnMaxMs: 400, logger });
    const errors: PttError[] = [];
    cap!.on('error', (e) => errors.push(e));
    await cap!.start();
    const first = cap!.pid!;
    writeFileSync(flag, '');
    process.kill(first, 'SIGKILL');
    await waitFor(() => logger.records().filter((r) => r.msg === 'arecord is down; restarting').length >= 3);
    rmSync(flag);
    await waitFor(() => logger.records().some((r) => r.msg === 'arecord restarted'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'AUDIO_CAPTURE_DIED', context: { signal: 'SIGKILL' } });
    const delays = logger
      .records()
      .filter((r) => r.msg === 'arecord is down; restarting')
      .map((r) => r.inMs);
    expectJitteredSteps(delays, [40, 80, 160]);
    expect(cap!.pid).not.toBe(first);
    expect(cap!.stats.respawns).toBe(1);
    const frames: Buffer[] = [];
    cap!.on('frame', (f) => frames.push(f));
    cap!.setLive(true);
    const said = testPcm(200, 5);
    await alsa.mic.feed(said);
    await waitFor(() => Buffer.concat(frames).includes(said));
    expect(arecordChildren()).toEqual([cap!.pid]);
  });

  it('fails to open a missing device with the reason and the capture devices that exist', async () => {
    make({ device: alsa.missingDevice });
    const err = (await cap!.start().then(
      () => undefined,
      (e: unknown) => e,
    )) as PttError;
    expect(err).toMatchObject({ code: 'AUDIO_CAPTURE_OPEN' });
    expect(err.message).toBe(
      `cannot open capture device "${alsa.missingDevice}": Unknown PCM ${alsa.missingDevice}; audio open error: No such file or directory`,
    );
    expect(err.hint).toContain(alsa.captureDevice);
    expect(err.context.available).toContain(alsa.captureDevice);
    expect(arecordChildren()).toEqual([]);
  });

  it('leaves no arecord behind after stop, also when stopped while arecord is still opening the device', async () => {
    make();
    await cap!.start();
    const pid = cap!.pid!;
    expect(arecordChildren()).toEqual([pid]);
    await cap!.stop();
    expect(arecordChildren()).toEqual([]);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);

    // A device whose open blocks (the file plugin waits for a FIFO writer that never comes).
    const blocked = join(alsa.dir, 'blocked.fifo');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [blocked]);
    writeFileSync(
      alsa.configFile,
      `${readFileSync(alsa.configFile, 'utf8')}pcm.ptt_blocked { type file; slave.pcm "null"; file "/dev/null"; infile "${blocked}"; format "raw" }\n`,
    );
    make({ device: 'ptt_blocked' });
    const starting = cap!.start();
    await waitFor(() => arecordChildren().length === 1);
    await cap!.stop();
    await expect(starting).rejects.toMatchObject({ code: 'AUDIO_CAPTURE_STOPPED' });
    expect(arecordChildren()).toEqual([]);
  });
});
