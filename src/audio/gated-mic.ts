/**
 * Capture stays open for the daemon's lifetime; the gate decides what is sent. A ring of the
 * last `preRollMs` keeps the first syllable spoken just before the press reached the button.
 */
import type { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { bytesToMs, LevelMeter, msToBytes } from './pcm.js';
import type { AudioSource } from './source.js';

export interface TurnStats {
  ms: number;
  rmsDbfs: number;
  peakDbfs: number;
  /** Peak below `silentPeakDbfs`: likely a muted or disconnected mic. */
  silent: boolean;
}

export interface GatedMicOptions {
  preRollMs?: number;
  /** A turn whose peak stays below this is reported as silent (default -60 dBFS). */
  silentPeakDbfs?: number;
  logger?: Logger;
}

export type GatedMicEvents = {
  audio: [Buffer];
  error: [PttError];
};

export class GatedMic extends TypedEmitter<GatedMicEvents> {
  #ring: Buffer[] = [];
  #ringBytes = 0;
  #open = false;
  #meter = new LevelMeter();
  #turnBytes = 0;
  readonly #preRollBytes: number;

  constructor(
    private readonly source: AudioSource,
    private readonly options: GatedMicOptions = {},
  ) {
    super();
    this.#preRollBytes = msToBytes(options.preRollMs ?? 150);
    source.on('frame', this.#onFrame);
    source.on('error', (e) => this.emit('error', e));
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Opens the gate; returns the pre-roll (the last preRollMs before now), then `audio` flows. */
  open(): Buffer {
    // A batched source hands over what it holds now, so the pre-roll reaches up to the press.
    this.source.setLive?.(true);
    const preRoll = Buffer.concat(this.#ring);
    const trimmed = preRoll.subarray(Math.max(0, preRoll.length - this.#preRollBytes));
    this.#ring = [];
    this.#ringBytes = 0;
    this.#open = true;
    this.#meter = new LevelMeter();
    this.#meter.add(trimmed);
    this.#turnBytes = trimmed.length;
    return trimmed;
  }

  /** Closes the gate; returns the turn's length and level (pre-roll included). */
  close(): TurnStats {
    const wasOpen = this.#open;
    // What a batched source still holds belongs to this turn: it passes the gate before it shuts.
    if (wasOpen) this.source.setLive?.(false);
    this.#open = false;
    const { rmsDbfs, peakDbfs } = this.#meter.level();
    const stats = {
      ms: Math.round(bytesToMs(this.#turnBytes)),
      rmsDbfs,
      peakDbfs,
      silent: peakDbfs < (this.options.silentPeakDbfs ?? -60),
    };
    if (wasOpen && stats.silent && stats.ms > 0) {
      this.options.logger?.warn('the turn was silent: is the microphone muted or unplugged?', {
        ...stats,
        hint: 'check the capture level with alsamixer, or run realtime-ptt doctor',
      });
    }
    this.#meter = new LevelMeter();
    this.#turnBytes = 0;
    return stats;
  }

  /** Stops listening to the source (the source's own lifecycle belongs to its owner). */
  detach(): void {
    this.source.off('frame', this.#onFrame);
  }

  #onFrame = (pcm: Buffer): void => {
    if (this.#open) {
      this.#meter.add(pcm);
      this.#turnBytes += pcm.length;
      this.emit('audio', pcm);
      return;
    }
    this.#ring.push(pcm);
    this.#ringBytes += pcm.length;
    // Keep whole frames covering at least preRollMs; open() trims to the exact length.
    while (this.#ring.length > 1 && this.#ringBytes - this.#ring[0]!.length >= this.#preRollBytes) {
      this.#ringBytes -= this.#ring.shift()!.length;
    }
    if (this.#preRollBytes === 0) {
      this.#ring = [];
      this.#ringBytes = 0;
    }
  };
}
