/**
 * The unacknowledged turn of one socket: what was sent and the server has not confirmed yet, so
 * it can be replayed whole, in order, on a new socket if this one dies. That is the audio since
 * the last acknowledged commit (or clear), the commits not yet answered by
 * `input_audio_buffer.committed`, and the `response.create` that followed them.
 *
 * It also counts the audio on the server's input buffer, so an acknowledged commit can say how
 * much audio it took.
 */
import { bytesToMs, msToBytes } from '../core/pcm-format.js';
import type { GateItem } from './gate.js';

export interface Unacknowledged {
  items: GateItem[];
  droppedMs: number;
}

export class TurnLedger {
  #items: GateItem[] = [];
  #audioBytes = 0;
  readonly #maxAudioBytes: number;
  /** Audio appended since the last commit or clear: the server's input buffer. */
  #openBytes = 0;
  /** Bytes each sent, unacknowledged commit took from the buffer, oldest first. */
  #commitBytes: number[] = [];
  /** Oldest audio let go past the bound: a replay lacks it, and must say so. */
  #droppedBytes = 0;

  /**
   * @param maxAudioMs The most audio kept for a replay (the gate cannot hold more anyway). Hands-free,
   * audio flows for hours without a commit; past this the oldest goes, as the gate would drop it.
   */
  constructor(maxAudioMs: number) {
    this.#maxAudioBytes = msToBytes(maxAudioMs);
  }

  /** Nothing unacknowledged. */
  get empty(): boolean {
    return this.#items.length === 0;
  }

  /** What a replay would send, in order (a copy). */
  get items(): GateItem[] {
    return [...this.#items];
  }

  /** A commit was sent and not yet acknowledged. */
  get commitPending(): boolean {
    return this.#commitBytes.length > 0;
  }

  /** An input_audio_buffer.append went out. */
  audio(pcm: Buffer): void {
    this.#items.push({ kind: 'audio', pcm });
    this.#audioBytes += pcm.length;
    this.#openBytes += pcm.length;
    // Past the bound the oldest audio goes, to the byte, as the gate would drop it on a replay.
    let excess = this.#audioBytes - this.#maxAudioBytes;
    if (excess <= 0) return;
    for (let i = 0; excess > 0 && i < this.#items.length; i++) {
      const item = this.#items[i]!;
      if (item.kind !== 'audio') continue;
      const cut = Math.min(excess, item.pcm.length);
      this.#items[i] = { kind: 'audio', pcm: item.pcm.subarray(cut) };
      excess -= cut;
      this.#audioBytes -= cut;
      this.#droppedBytes += cut;
    }
    this.#items = this.#items.filter((item) => item.kind !== 'audio' || item.pcm.length > 0);
  }

  /** An input_audio_buffer.commit went out. */
  commit(): void {
    this.#items.push({ kind: 'command', name: 'commit' });
    this.#commitBytes.push(this.#openBytes);
    this.#openBytes = 0;
  }

  /**
   * A response.create went out. Kept only when it answers a commit not yet acknowledged: replaying
   * that commit must ask for its answer again. After an acknowledged commit it is not the ledger's.
   */
  response(): void {
    if (this.commitPending) this.#items.push({ kind: 'command', name: 'response' });
  }

  /** An input_audio_buffer.clear went out: the audio after the last command is gone; a pending commit stays. */
  clear(): void {
    let last = this.#items.length - 1;
    while (last >= 0 && this.#items[last]!.kind === 'audio') last -= 1;
    for (const item of this.#items.slice(last + 1)) if (item.kind === 'audio') this.#audioBytes -= item.pcm.length;
    this.#items = this.#items.slice(0, last + 1);
    this.#openBytes = 0;
    this.#droppedBytes = 0;
  }

  /**
   * The server said input_audio_buffer.committed: the oldest pending commit, with its audio and the
   * response.create after it, is acknowledged. A commit by server VAD (none of ours pending) took
   * everything sent so far. Returns the milliseconds of audio that commit took.
   */
  committed(): number {
    const i = this.#items.findIndex((item) => item.kind === 'command' && item.name === 'commit');
    let took: number;
    let rest: number;
    if (i < 0 || this.#commitBytes.length === 0) {
      took = this.#openBytes;
      this.#openBytes = 0;
      rest = this.#items.length;
    } else {
      took = this.#commitBytes.shift()!;
      rest = i + 1;
      for (let item = this.#items[rest]; item?.kind === 'command' && item.name === 'response'; item = this.#items[rest]) rest += 1;
    }
    for (const item of this.#items.slice(0, rest)) if (item.kind === 'audio') this.#audioBytes -= item.pcm.length;
    this.#items = this.#items.slice(rest);
    this.#droppedBytes = 0;
    return bytesToMs(took);
  }

  /**
   * Empties the ledger for a replay on the next socket: everything, in order, and how much of the
   * oldest audio is missing from it (let go past the bound).
   */
  takeAll(): Unacknowledged {
    const taken = { items: this.#items, droppedMs: bytesToMs(this.#droppedBytes) };
    this.#items = [];
    this.#audioBytes = 0;
    this.#openBytes = 0;
    this.#commitBytes = [];
    this.#droppedBytes = 0;
    return taken;
  }
}
