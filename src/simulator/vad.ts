/**
 * Server VAD on audio energy, in audio time (milliseconds of input received, not wall time),
 * so a test that streams faster or slower than real time gets the same turns.
 */
import { BYTES_PER_MS } from '../core/pcm-format.js';

export interface VadParams {
  /** 0..1 as in turn_detection.threshold; 0.5 means an RMS of -26 dBFS counts as speech. */
  threshold: number;
  prefixPaddingMs: number;
  silenceDurationMs: number;
  /** server_vad idle_timeout_ms: silence this long after a reply ends a turn anyway. */
  idleTimeoutMs?: number | null;
}

export type VadEvent =
  | { kind: 'start'; audioStartMs: number }
  | { kind: 'stop'; audioEndMs: number }
  | { kind: 'timeout'; audioStartMs: number; audioEndMs: number };

const WINDOW_MS = 10;
const WINDOW_BYTES = WINDOW_MS * BYTES_PER_MS;

export class EnergyVad {
  #rest = Buffer.alloc(0);
  #ms = 0;
  #speaking = false;
  #silentMs = 0;
  /** Audio time when the idle timeout was armed (a reply ended), if it is. */
  #idleFrom: number | undefined;

  constructor(private readonly params: VadParams) {}

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Feeds input audio; returns the speech start/stop edges it crossed. */
  push(pcm: Buffer): VadEvent[] {
    const events: VadEvent[] = [];
    let buf = this.#rest.length ? Buffer.concat([this.#rest, pcm]) : pcm;
    // The real scale is unpublished; a tenth of full scale at threshold 1 keeps speech and silence apart.
    const level = this.params.threshold * 0.1;
    while (buf.length >= WINDOW_BYTES) {
      let sum = 0;
      for (let i = 0; i < WINDOW_BYTES; i += 2) {
        const s = buf.readInt16LE(i) / 32768;
        sum += s * s;
      }
      const loud = Math.sqrt(sum / (WINDOW_BYTES / 2)) > level;
      buf = buf.subarray(WINDOW_BYTES);
      this.#ms += WINDOW_MS;
      if (loud) {
        this.#silentMs = 0;
        this.#idleFrom = undefined;
        if (!this.#speaking) {
          this.#speaking = true;
          events.push({ kind: 'start', audioStartMs: Math.max(0, this.#ms - WINDOW_MS - this.params.prefixPaddingMs) });
        }
      } else if (this.#speaking) {
        this.#silentMs += WINDOW_MS;
        if (this.#silentMs >= this.params.silenceDurationMs) {
          this.#speaking = false;
          events.push({ kind: 'stop', audioEndMs: this.#ms - this.#silentMs + Math.min(this.#silentMs, this.params.silenceDurationMs) });
          this.#silentMs = 0;
        }
      } else if (this.#idleFrom !== undefined && this.params.idleTimeoutMs && this.#ms - this.#idleFrom >= this.params.idleTimeoutMs) {
        events.push({ kind: 'timeout', audioStartMs: this.#idleFrom, audioEndMs: this.#ms });
        this.#idleFrom = undefined;
      }
    }
    this.#rest = Buffer.from(buf);
    return events;
  }

  /** Starts the idle timeout from now (the server does so when a reply ends). */
  armIdleTimeout(): void {
    if (this.params.idleTimeoutMs) this.#idleFrom = this.#ms;
  }

  /** Forgets a turn in progress (input_audio_buffer.clear). Audio time keeps running. */
  reset(): void {
    this.#speaking = false;
    this.#silentMs = 0;
  }
}
