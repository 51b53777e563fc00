/**
 * The microphone on real ALSA through alsa-capture 0.3.0, with its measured traps handled
 * (DESIGN.md): options are validated before the addon sees them (it throws synchronously),
 * string payloads are parsed, the stale period re-emitted after an overrun or a read error is
 * dropped, a read error (mic unplugged) closes and reopens with backoff instead of looping, and
 * an unhandled addon `error` is always listened for (it would otherwise vanish).
 */
import { createRequire } from 'node:module';
import { Backoff } from '../core/backoff.js';
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { checkCaptureOptions, deviceOpenError, probeDevice } from './alsa-devices.js';
import { BYTES_PER_SAMPLE, SAMPLE_RATE } from './pcm.js';
import type { AudioSource, AudioSourceEvents } from './source.js';
import { StallWatch } from './stall-watch.js';
import { captureThreadAvailable, captureThreadsHeld, noteCaptureThread, threadpoolSize } from './threadpool.js';

/** What AlsaCapture needs from the addon: the real `alsa-capture` object or a test double. */
export interface CaptureAddon {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  close(): void;
}

export interface CaptureAddonOptions {
  device: string;
  channels: number;
  rate: number;
  format: string;
  periodSize: number;
}

export type CaptureAddonFactory = (options: CaptureAddonOptions) => CaptureAddon;

export interface AlsaCaptureOptions {
  device: string;
  periodMs?: number;
  logger?: Logger;
  /** Reopen delays after a read error: double from min to max, with jitter (core/backoff.ts). */
  reopenMinMs?: number;
  reopenMaxMs?: number;
  /** How long start() waits for the device to open. */
  openTimeoutMs?: number;
  /** How long stop() waits for the read loop to end (it ends at the next period). */
  closeTimeoutMs?: number;
  /** An open device that delivers no frame for this long is reported as stalled (MIC_STALLED). */
  stallMs?: number;
  /** Defaults to the real addon, loaded on first use so importing audio never loads libasound. */
  addon?: CaptureAddonFactory;
  /** Lists capture devices for the open error; defaults to arecord -L / -l. */
  listCaptureDevices?: () => Promise<string[]>;
}

const realAddon: CaptureAddonFactory = (options) => {
  const require = createRequire(import.meta.url);
  const Addon = require('alsa-capture') as new (o: CaptureAddonOptions) => CaptureAddon;
  return new Addon(options);
};

interface Open {
  addon: CaptureAddon;
  /** Set once the worker thread has ended ('close' or 'error' from the addon). */
  ended: Promise<void>;
}

export class AlsaCapture extends TypedEmitter<AudioSourceEvents> implements AudioSource {
  readonly name = 'audio.capture';
  readonly periodMs: number;
  #current: Open | undefined;
  #stopped = true;
  #dropNext = false;
  #shortFrames: number | undefined;
  #reopenTimer: NodeJS.Timeout | undefined;
  readonly #reopenBackoff: Backoff;
  #overruns = 0;
  #reopens = 0;
  #frames = 0;
  /** Fires stallMs after the last frame it knows of; frames only note the time (no timer work per frame). */
  #stallTimer: NodeJS.Timeout | undefined;
  readonly #stall: StallWatch;

  constructor(private readonly options: AlsaCaptureOptions) {
    super();
    this.periodMs = options.periodMs ?? 20;
    this.#reopenBackoff = new Backoff({ minMs: options.reopenMinMs ?? 250, maxMs: options.reopenMaxMs ?? 5000 });
    this.#stall = new StallWatch({
      device: options.device,
      stallMs: options.stallMs ?? 1000,
      logger: options.logger,
      report: (err) => this.emit('error', err),
    });
  }

  get stats(): { frames: number; overruns: number; reopens: number } {
    return { frames: this.#frames, overruns: this.#overruns, reopens: this.#reopens };
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    const { device } = this.options;
    checkCaptureOptions(device, this.periodMs);
    if (/^hw:/.test(device)) {
      // alsa-capture asks for 24 kHz mono; a raw hw: device that cannot do that may crash the
      // addon (and the daemon with it), so arecord tries it first, in a child process.
      const probe = await probeDevice('capture', device);
      if (!probe.ok) {
        throw new PttError('AUDIO_CAPTURE_OPEN', probe.error.message, {
          context: { device },
          hint: `use plughw:${device.slice(3)}, which converts rate and channels`,
          cause: probe.error,
        });
      }
    }
    if (!captureThreadAvailable()) {
      this.options.logger?.warn('few libuv threads left besides the capture; file I/O may stall', {
        threadpoolSize: threadpoolSize(),
        captureThreads: captureThreadsHeld(),
        hint: 'run the daemon with UV_THREADPOOL_SIZE=8 in its environment',
      });
    }
    this.#stopped = false;
    try {
      await this.#open();
    } catch (err) {
      this.#stopped = true;
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#disarmStall();
    if (this.#reopenTimer) clearTimeout(this.#reopenTimer);
    this.#reopenTimer = undefined;
    const current = this.#current;
    this.#current = undefined;
    if (current) await this.#close(current);
  }

  #open(): Promise<void> {
    const { device } = this.options;
    const periodSize = Math.round((SAMPLE_RATE * this.periodMs) / 1000);
    const factory = this.options.addon ?? realAddon;
    let addon: CaptureAddon;
    try {
      addon = factory({ device, channels: 1, rate: SAMPLE_RATE, format: 'S16_LE', periodSize });
    } catch (err) {
      throw new PttError('AUDIO_CAPTURE_OPEN', `cannot start capture on "${device}": ${err instanceof Error ? err.message : String(err)}`, {
        context: { device },
        cause: err,
      });
    }
    noteCaptureThread(1);
    let endThread!: () => void;
    let threadEnded = false;
    const ended = new Promise<void>(
      (r) =>
        (endThread = () => {
          if (!threadEnded) noteCaptureThread(-1);
          threadEnded = true;
          r();
        }),
    );
    const open: Open = { addon, ended };
    this.#current = open;
    this.#dropNext = false;
    this.#shortFrames = undefined;

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const timeoutMs = this.options.openTimeoutMs ?? 3000;
      const timer = setTimeout(
        () =>
          fail(
            new PttError('AUDIO_CAPTURE_OPEN', `capture device "${device}" did not start within ${timeoutMs} ms`, {
              context: { device },
              hint: 'check that no other program holds the device (fuser -v /dev/snd/*)',
            }),
          ),
        timeoutMs,
      );
      const succeed = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#stall.opened();
        this.#armStall();
        resolve();
      };
      const fail = (e: PttError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (this.#current === open) this.#current = undefined;
        try {
          addon.close();
        } catch {
          /* already finished */
        }
        reject(e);
      };
      const isCurrent = () => this.#current === open;

      addon.on('error', (e: unknown) => {
        // The worker has ended: the open (or hw params) failed.
        endThread();
        const reason = String(e instanceof Error ? e.message : e).trim();
        void this.#openError(device, reason).then((err) => {
          if (!settled) return fail(err);
          if (isCurrent()) this.#recover(err);
        });
      });
      addon.on('close', () => endThread());
      // Sent once the hardware parameters are set: the device is open and reading.
      addon.on('periodTime', () => succeed());
      addon.on('periodSizeDeviating', (v: unknown) =>
        this.options.logger?.warn('capture period differs from the requested one', {
          device,
          requestedFrames: periodSize,
          actualFrames: Number(v),
        }),
      );
      addon.on('rateDeviating', (v: unknown) => {
        if (!isCurrent()) return;
        const err = new PttError('AUDIO_CAPTURE_RATE', `capture device "${device}" cannot record at 24 kHz (it offers ${Number(v)} Hz)`, {
          context: { device, rate: Number(v) },
          hint: 'use a plughw: or plug device, which resamples',
        });
        if (!settled) fail(err);
        else this.emit('error', err);
      });
      addon.on('overrun', () => {
        if (!isCurrent()) return;
        // alsa-capture re-emits the previous period after an overrun: drop it, count the loss.
        this.#overruns++;
        this.#dropNext = true;
        this.options.logger?.debug('capture overrun', { device, overruns: this.#overruns });
        this.emit('overrun');
      });
      addon.on('shortRead', (v: unknown) => {
        if (isCurrent()) this.#shortFrames = Number(v);
      });
      addon.on('readError', (v: unknown) => {
        if (!isCurrent()) return; // the old loop keeps reporting until it sees its close flag
        this.#dropNext = true;
        this.#recover(
          new PttError('AUDIO_CAPTURE_READ', `reading from capture device "${device}" failed: ${String(v)}`, {
            context: { device, reason: String(v) },
            hint: 'check the microphone connection; capture reopens by itself',
          }),
        );
      });
      addon.on('audio', (data: unknown) => {
        if (!isCurrent() || !(data instanceof Uint8Array)) return;
        succeed();
        this.#delivered();
        if (this.#dropNext) {
          this.#dropNext = false;
          this.#shortFrames = undefined;
          return;
        }
        let pcm = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        if (this.#shortFrames !== undefined) {
          // A short read fills only the first frames; the rest of the buffer is stale.
          pcm = pcm.subarray(0, this.#shortFrames * BYTES_PER_SAMPLE);
          this.#shortFrames = undefined;
          if (pcm.length === 0) return;
        }
        if (this.#reopenBackoff.attempt > 0 && this.#frames > 0) this.#reopenBackoff.reset(); // healthy again
        this.#frames++;
        this.emit('frame', pcm);
      });
    });
  }

  #openError(device: string, reason: string): Promise<PttError> {
    const why = reason.replace(/^Unable to (open PCM device|set HW parameters): /, '');
    return deviceOpenError('capture', device, why, this.options.listCaptureDevices ? { list: this.options.listCaptureDevices } : {});
  }

  #armStall(waitMs = this.options.stallMs ?? 1000): void {
    if (this.#stallTimer) return;
    this.#stallTimer = setTimeout(() => this.#onStall(), Math.max(1, waitMs));
    this.#stallTimer.unref(); // a watchdog never keeps the process alive
  }

  #disarmStall(): void {
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }

  /** A frame arrived: the end of a stall is logged, and the watchdog armed again after one. */
  #delivered(): void {
    this.#stall.delivered();
    if (!this.#stallTimer) this.#armStall(); // otherwise the armed timer looks at the last frame when it fires
  }

  #onStall(): void {
    this.#stallTimer = undefined;
    if (this.#stopped || !this.#current) return;
    // No stall yet: look again stallMs after the last frame (about one wake-up per stallMs). A
    // stall is reported once; the next frame re-arms the watchdog and logs the recovery.
    const wait = this.#stall.check();
    if (!this.#stall.stalled) this.#armStall(wait);
  }

  /** A failing device: close it, report once, reopen with doubling delays until stopped. */
  #recover(err: PttError): void {
    this.#disarmStall();
    const current = this.#current;
    this.#current = undefined;
    if (current) void this.#close(current);
    if (this.#stopped || this.#reopenTimer) return;
    if (this.#reopenBackoff.attempt === 0) this.emit('error', err); // once per outage, not per failed read
    const delay = this.#reopenBackoff.next();
    this.options.logger?.warn('capture failed; reopening', {
      code: err.code,
      reason: err.message,
      inMs: delay,
      attempt: this.#reopenBackoff.attempt,
    });
    this.#reopenTimer = setTimeout(() => {
      this.#reopenTimer = undefined;
      if (this.#stopped) return;
      if (!captureThreadAvailable()) {
        // A previous read loop is still stuck in the driver: opening another would eat the pool.
        return this.#recover(
          new PttError('AUDIO_CAPTURE_STUCK', 'the previous capture has not ended; waiting before reopening', {
            context: { captureThreads: captureThreadsHeld(), threadpoolSize: threadpoolSize() },
          }),
        );
      }
      this.#reopens++;
      this.#open().then(
        () => this.options.logger?.info('capture reopened', { device: this.options.device, reopens: this.#reopens }),
        (e: unknown) => this.#recover(e instanceof PttError ? e : new PttError('AUDIO_CAPTURE_OPEN', String(e))),
      );
    }, delay);
  }

  async #close(open: Open): Promise<void> {
    try {
      open.addon.close();
    } catch {
      /* the worker already ended */
    }
    const timeoutMs = this.options.closeTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      open.ended.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      // The read loop only checks its close flag between reads; a device that delivers nothing
      // keeps its thread until the next period arrives.
      this.options.logger?.warn('capture read loop did not end; its thread stays busy until the device delivers', {
        device: this.options.device,
        captureThreads: captureThreadsHeld(),
      });
    }
  }
}
