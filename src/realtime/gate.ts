/**
 * The audio gate: holds microphone audio (and the turn commands that must follow it) until the
 * session is verified, then releases it in order. Bounded by duration; past the bound a push is
 * refused with an explicit result so the caller can report it, never dropped silently.
 */
import { bytesToMs, msToBytes } from '../core/pcm-format.js';

export type GateItem = { kind: 'audio'; pcm: Buffer } | { kind: 'command'; name: 'commit' | 'clear' | 'response' };

export class AudioGate {
  #items: GateItem[] = [];
  #bytes = 0;
  readonly #maxBytes: number;

  constructor(maxQueuedMs: number) {
    this.#maxBytes = msToBytes(maxQueuedMs);
  }

  get queuedMs(): number {
    return bytesToMs(this.#bytes);
  }

  get length(): number {
    return this.#items.length;
  }

  /** Queues audio; false (nothing queued) when it would pass the bound. */
  pushAudio(pcm: Buffer): boolean {
    if (this.#bytes + pcm.length > this.#maxBytes) return false;
    this.#items.push({ kind: 'audio', pcm });
    this.#bytes += pcm.length;
    return true;
  }

  pushCommand(name: 'commit' | 'clear' | 'response'): void {
    this.#items.push({ kind: 'command', name });
  }

  /**
   * Puts audio (and the commands sent with it) back in front: what a dropped connection never
   * acknowledged. Returns the milliseconds of audio that did not fit under the bound, which the
   * caller must report.
   */
  requeueFront(list: readonly GateItem[]): number {
    const total = list.reduce((n, i) => n + (i.kind === 'audio' ? i.pcm.length : 0), 0);
    const room = Math.max(0, this.#maxBytes - this.#bytes);
    let skip = Math.max(0, total - room);
    const kept: GateItem[] = [];
    for (const item of list) {
      if (item.kind === 'command') {
        kept.push(item);
        continue;
      }
      const b = item.pcm;
      // The oldest audio is the part that does not fit: the end of a turn matters most.
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      const part = skip > 0 ? b.subarray(skip) : b;
      skip = 0;
      kept.push({ kind: 'audio', pcm: part });
      this.#bytes += part.length;
    }
    this.#items.unshift(...kept);
    return bytesToMs(Math.max(0, total - room));
  }

  /** Removes and returns the oldest item. */
  shift(): GateItem | undefined {
    const item = this.#items.shift();
    if (item?.kind === 'audio') this.#bytes -= item.pcm.length;
    return item;
  }

  /** The oldest item, left in place. */
  peek(): GateItem | undefined {
    return this.#items[0];
  }

  /** Removes and returns everything, in order. */
  drain(): GateItem[] {
    const items = this.#items;
    this.#items = [];
    this.#bytes = 0;
    return items;
  }

  /** Drops queued audio and commands (a clear before the session was ready). */
  clear(): void {
    this.drain();
  }
}

/**
 * Splits PCM into `input_audio_buffer.append` payloads of at most `chunkBytes`, keeping an odd
 * trailing byte for the next call so no sample is ever split across frames.
 */
export class Chunker {
  #carry: Buffer | undefined;
  constructor(private readonly chunkBytes: number) {}

  split(pcm: Buffer): Buffer[] {
    const data = this.whole(pcm);
    const out: Buffer[] = [];
    for (let off = 0; off < data.length; off += this.chunkBytes) out.push(data.subarray(off, off + this.chunkBytes));
    return out;
  }

  /** The whole samples of what came before and `pcm`, unsplit; an odd trailing byte waits for the next call. */
  whole(pcm: Buffer): Buffer {
    let data = this.#carry ? Buffer.concat([this.#carry, pcm]) : pcm;
    this.#carry = undefined;
    if (data.length % 2 === 1) {
      this.#carry = Buffer.from(data.subarray(data.length - 1));
      data = data.subarray(0, data.length - 1);
    }
    return data;
  }

  /** Concatenates queued pieces and splits them into full-size chunks (fewer, larger frames). */
  coalesce(pieces: Buffer[]): Buffer[] {
    if (pieces.length === 0) return [];
    return this.split(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
  }

  reset(): void {
    this.#carry = undefined;
  }
}
