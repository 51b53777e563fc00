/**
 * Capture on real libasound (alsa-capture in this process) from the sandbox's FIFO-backed
 * `file` device, plus the addon's failure sequences replayed through the addon seam.
 */
import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { PttError } from '../../src/core/errors.js';
import { AlsaCapture, captureThreadsHeld, GatedMic, type CaptureAddon, type CaptureAddonOptions } from '../../src/audio/index.js';
import { expectJitteredSteps } from '../support/backoff.js';
import { createAlsaSandbox, testPcm, trimSilence, type AlsaSandbox } from '../support/alsa.js';

const PERIOD_BYTES = 960; // 20 ms

describe('AlsaCapture on a real ALSA file device', () => {
  let alsa: AlsaSandbox;
  let cap: AlsaCapture | undefined;
  beforeEach(async () => {
    alsa = await createAlsaSandbox({ periodMs: 20 });
    alsa.useInProcess();
    // The plugin opens the FIFO for reading when the capture starts: a writer must exist.
    alsa.mic.start();
  });
  afterEach(async () => {
    // Stop the capture while the feeder still writes, so its read loop can see the close flag.
    await cap?.stop();
    cap = undefined;
    await alsa.cleanup();
  });

  it('delivers exactly what was spoken, in period frames, with the pre-roll before the press', async () => {
    cap = new AlsaCapture({ device: alsa.captureDevice, periodMs: 20 });
    await cap.start();
    expect(captureThreadsHeld()).toBe(1);
    const mic = new GatedMic(cap, { preRollMs: 100 });
    const before = testPcm(200, 1); // spoken before the press
    const during = testPcm(300, 2); // spoken while held
    const all: Buffer[] = [];
    const gated: Buffer[] = [];
    let preRoll: Buffer = Buffer.alloc(0);
    const lastBefore = before.subarray(before.length - PERIOD_BYTES);
    cap.on('frame', (f) => {
      all.push(f);
      // Press the button right after the last period of `before` was captured.
      if (!mic.isOpen && f.equals(lastBefore)) preRoll = mic.open();
    });
    mic.on('audio', (pcm) => gated.push(pcm));
    await alsa.mic.feed(Buffer.concat([before, during]));
    await waitFor(() => Buffer.concat(gated).includes(during.subarray(during.length - PERIOD_BYTES)));
    const stats = mic.close();

    expect(all.every((f) => f.length === PERIOD_BYTES)).toBe(true);
    expect(preRoll).toEqual(before.subarray(before.length - 100 * 48));
    expect(trimSilence(Buffer.concat(gated))).toEqual(during);
    // The raw stream holds both parts back to back: nothing lost, nothing repeated.
    expect(Buffer.concat(all).includes(Buffer.concat([before, during]))).toBe(true);
    expect(stats.ms).toBeGreaterThanOrEqual(400);
    expect(stats.silent).toBe(false);
    expect(stats.peakDbfs).toBeGreaterThan(-12);
  });

  it('frees its threadpool thread on stop', async () => {
    cap = new AlsaCapture({ device: alsa.captureDevice, periodMs: 20 });
    await cap.start();
    expect(captureThreadsHeld()).toBe(1);
    await cap.stop();
    expect(captureThreadsHeld()).toBe(0);
  });

  it('a stalled device keeps its read loop (and thread) until it delivers again; stop() does not hang', async () => {
    const logger = memoryLogger();
    cap = new AlsaCapture({ device: alsa.captureDevice, periodMs: 20, closeTimeoutMs: 100, logger });
    await cap.start();
    alsa.mic.pause(); // the device stops delivering: snd_pcm_readi blocks in the worker thread
    await new Promise((r) => setTimeout(r, 100));
    await cap.stop();
    expect(logger.records().some((r) => String(r.msg).includes('did not end'))).toBe(true);
    expect(captureThreadsHeld()).toBe(1); // honest accounting: the thread is still taken
    alsa.mic.resume();
    await waitFor(() => captureThreadsHeld() === 0);
  });

  it('reports a microphone that stops delivering (MIC_STALLED, through the gated mic too) and logs when it delivers again', async () => {
    const logger = memoryLogger();
    cap = new AlsaCapture({ device: alsa.captureDevice, periodMs: 20, stallMs: 300, logger });
    const mic = new GatedMic(cap);
    const errors: PttError[] = [];
    mic.on('error', (e) => errors.push(e));
    await cap.start();
    await new Promise((r) => setTimeout(r, 500));
    expect(errors).toEqual([]); // a device that delivers is not stalled
    alsa.mic.pause(); // the writer stops: the capture is open but gets no frames
    try {
      await waitFor(() => errors.length > 0);
      await new Promise((r) => setTimeout(r, 400));
      expect(errors).toHaveLength(1); // once per stall, not once per check
      const [err] = errors;
      expect(err).toMatchObject({ code: 'MIC_STALLED', context: { device: alsa.captureDevice } });
      expect(err!.message).toMatch(/^capture device "ptt_mic" has delivered no audio for \d+ ms$/);
      expect(err!.context.msSinceLastFrame).toBeGreaterThanOrEqual(300);
    } finally {
      alsa.mic.resume();
    }
    await waitFor(() => logger.records().some((r) => r.msg === 'microphone delivers again'));
    const back = logger.records().find((r) => r.msg === 'microphone delivers again')!;
    expect(back).toMatchObject({ device: alsa.captureDevice });
    expect(back.stalledMs).toBeGreaterThanOrEqual(700);
    mic.detach();
  });

  it('fails to open a missing device with an error that lists the devices that exist', async () => {
    cap = new AlsaCapture({ device: alsa.missingDevice, periodMs: 20 });
    const err = await cap.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PttError);
    const e = err as PttError;
    expect(e.code).toBe('AUDIO_CAPTURE_OPEN');
    expect(e.message).toContain(`"${alsa.missingDevice}"`);
    expect(e.hint).toContain(alsa.captureDevice);
    expect(e.context.available).toContain(alsa.captureDevice);
    expect(captureThreadsHeld()).toBe(0);
  });

  it('the missing-device message offers only devices that can record (a Pi: the USB mic, not Headphones or HDMI)', async () => {
    // arecord on PATH answers like a Pi 4 with a USB microphone; libasound still fails the open for real.
    const bin = join(alsa.dir, 'bin');
    mkdirSync(bin);
    const fixtures = fileURLToPath(new URL('fixtures/', import.meta.url));
    writeFileSync(
      join(bin, 'arecord'),
      `#!/bin/sh\ncase "$1" in -L) cat '${fixtures}pi4-arecord-L.txt';; -l) cat '${fixtures}pi4-arecord-l.txt';; esac\n`,
    );
    chmodSync(join(bin, 'arecord'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    try {
      cap = new AlsaCapture({ device: alsa.missingDevice, periodMs: 20 });
      const err = (await cap.start().then(
        () => undefined,
        (e: unknown) => e,
      )) as PttError;
      expect(err).toMatchObject({ code: 'AUDIO_CAPTURE_OPEN', hint: expect.stringContaining('plughw:CARD=Device,DEV=0') });
      expect(err.hint).not.toMatch(/Headphones|vc4hdmi|dmix/);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('tries a raw hw: device with arecord first and refuses it, naming the plughw: spelling, before the addon could crash on it', async () => {
    let addonMade = false;
    cap = new AlsaCapture({
      device: 'hw:0,0',
      periodMs: 20,
      addon: () => {
        addonMade = true;
        throw new Error('not reached');
      },
    });
    await expect(cap.start()).rejects.toMatchObject({
      code: 'AUDIO_CAPTURE_OPEN',
      message: expect.stringMatching(/^capture device "hw:0,0" does not open at 24 kHz mono S16_LE: \S/),
      hint: 'use plughw:0,0, which converts rate and channels',
    });
    expect(addonMade).toBe(false);
  });

  it('refuses a bad period before the addon sees it (the addon would throw synchronously)', async () => {
    cap = new AlsaCapture({ device: alsa.captureDevice, periodMs: 0 });
    await expect(cap.start()).rejects.toMatchObject({ code: 'AUDIO_BAD_OPTION', hint: expect.stringContaining('periodMs') });
  });
});

/** Replays alsa-capture 0.3.0's event sequences (payloads are strings, as the addon sends them). */
class ReplayAddon extends EventEmitter implements CaptureAddon {
  closed = false;
  constructor(readonly options: CaptureAddonOptions) {
    super();
  }
  override on(event: string, listener: (...args: unknown[]) => void): this {
    return super.on(event, listener);
  }
  close(): void {
    this.closed = true;
    setImmediate(() => this.emit('close'));
  }
}

describe('AlsaCapture with the addon failure sequences', () => {
  it('drops the stale period the addon re-emits after an overrun, and counts it', async () => {
    let addon!: ReplayAddon;
    const cap = new AlsaCapture({ device: 'plughw:1', periodMs: 20, addon: (o) => (addon = new ReplayAddon(o)) });
    const starting = cap.start();
    addon.emit('periodTime', '20000');
    await starting;
    expect(addon.options).toEqual({ device: 'plughw:1', channels: 1, rate: 24000, format: 'S16_LE', periodSize: 480 });
    const frames: Buffer[] = [];
    let overruns = 0;
    cap.on('frame', (f) => frames.push(f));
    cap.on('overrun', () => overruns++);
    const p1 = testPcm(20, 1);
    const p2 = testPcm(20, 2);
    addon.emit('audio', new Uint8Array(p1));
    addon.emit('overrun', 'overrun occurred');
    addon.emit('audio', new Uint8Array(p1)); // the stale buffer, again
    addon.emit('audio', new Uint8Array(p2));
    expect(frames).toEqual([p1, p2]);
    expect(overruns).toBe(1);
    expect(cap.stats.overruns).toBe(1);
    await cap.stop();
  });

  it('keeps only the frames a short read filled', async () => {
    let addon!: ReplayAddon;
    const cap = new AlsaCapture({ device: 'plughw:1', periodMs: 20, addon: (o) => (addon = new ReplayAddon(o)) });
    const starting = cap.start();
    addon.emit('periodTime', '20000');
    await starting;
    const frames: Buffer[] = [];
    cap.on('frame', (f) => frames.push(f));
    const p = testPcm(20, 3);
    addon.emit('shortRead', '100');
    addon.emit('audio', new Uint8Array(p));
    expect(frames).toEqual([p.subarray(0, 200)]);
    await cap.stop();
  });

  it('on a read error (mic unplugged) closes, reports once, and reopens with backoff', async () => {
    const addons: ReplayAddon[] = [];
    const logger = memoryLogger();
    const cap = new AlsaCapture({
      device: 'plughw:1',
      periodMs: 20,
      logger,
      reopenMinMs: 20,
      reopenMaxMs: 40,
      addon: (o) => {
        const a = new ReplayAddon(o);
        addons.push(a);
        return a;
      },
    });
    const starting = cap.start();
    addons[0]!.emit('periodTime', '20000');
    await starting;
    const errors: PttError[] = [];
    const frames: Buffer[] = [];
    cap.on('error', (e) => errors.push(e));
    cap.on('frame', (f) => frames.push(f));
    // The addon loops: readError then the stale buffer, over and over, until closed.
    for (let i = 0; i < 50; i++) {
      addons[0]!.emit('readError', 'No such device');
      addons[0]!.emit('audio', new Uint8Array(testPcm(20, 9)));
    }
    expect(addons[0]!.closed).toBe(true);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'AUDIO_CAPTURE_READ', context: { reason: 'No such device' } });
    expect(frames).toHaveLength(0);
    // The reopen fails once (device still gone), then succeeds.
    await waitFor(() => addons.length === 2);
    addons[1]!.emit('error', new Error('Unable to open PCM device: No such device\n'));
    await waitFor(() => addons.length === 3);
    addons[2]!.emit('periodTime', '20000');
    const p = testPcm(20, 4);
    addons[2]!.emit('audio', new Uint8Array(p));
    expect(frames).toEqual([p]);
    expect(errors).toHaveLength(1); // still one report for the whole outage
    expect(cap.stats.reopens).toBe(2);
    const delays = logger
      .records()
      .filter((r) => r.msg === 'capture failed; reopening')
      .map((r) => r.inMs);
    expect(delays).toHaveLength(2);
    expectJitteredSteps(delays, [20, 40]);
    await cap.stop();
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
