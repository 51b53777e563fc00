/**
 * The speaker as the conductor uses it: earcons and answer audio go in, and it can say at any
 * moment how much of which answer item the person has heard, so a barge-in tells the server
 * exactly where to truncate.
 */
import { BYTES_PER_MS } from '../core/pcm-format.js';
import type { SpeakerPort } from './ports.js';

/**
 * Bookkeeping of what was written to the speaker since it was last idle: earcons and answer
 * items in order. The speaker reports played milliseconds on the same origin, so the played
 * position maps to an item and an offset inside it. Item lengths survive an idle speaker (an
 * answer arriving slower than real time underruns it) until `forgetItems()`.
 */
export class PlaybackLedger {
  #writtenMs = 0;
  /** Runs of answer audio since idle; `itemOffsetMs` is how much of the item came before the run. */
  #runs: Array<{ itemId: string; startMs: number; ms: number; itemOffsetMs: number }> = [];
  readonly #itemMs = new Map<string, number>();
  #idle = true;

  get idle(): boolean {
    return this.#idle;
  }

  /** Answer audio (not just an earcon) is waiting to be heard. */
  get answerPending(): boolean {
    return this.#runs.length > 0;
  }

  /** Records a write; returns the position (ms since idle) at which it starts. */
  add(ms: number, itemId?: string): number {
    const start = this.#writtenMs;
    this.#idle = false;
    this.#writtenMs += ms;
    if (itemId !== undefined) {
      const before = this.#itemMs.get(itemId) ?? 0;
      this.#itemMs.set(itemId, before + ms);
      const last = this.#runs[this.#runs.length - 1];
      if (last && last.itemId === itemId && last.startMs + last.ms === start) last.ms += ms;
      else this.#runs.push({ itemId, startMs: start, ms, itemOffsetMs: before });
    }
    return start;
  }

  /** Answer milliseconds written since idle that were not yet heard at a played position. */
  unheardAnswerMs(playedMs: number): number {
    let unheard = 0;
    for (const r of this.#runs) unheard += r.ms - Math.min(r.ms, Math.max(0, playedMs - r.startMs));
    return unheard;
  }

  /** The item being heard at `playedMs` and how far into it; undefined when no answer audio was heard. */
  locate(playedMs: number): { itemId: string; audioEndMs: number } | undefined {
    let found: { itemId: string; audioEndMs: number } | undefined;
    for (const r of this.#runs) {
      if (playedMs <= r.startMs) break;
      found = { itemId: r.itemId, audioEndMs: r.itemOffsetMs + Math.min(r.ms, playedMs - r.startMs) };
    }
    if (found) return found;
    const first = this.#runs[0];
    if (first) return first.itemOffsetMs > 0 ? { itemId: first.itemId, audioEndMs: first.itemOffsetMs } : undefined;
    // Idle speaker: everything written was heard; the last item ended where it ended.
    const last = [...this.#itemMs].pop();
    return last ? { itemId: last[0], audioEndMs: last[1] } : undefined;
  }

  /** The speaker went idle (drained or interrupted): positions restart at 0. */
  reset(): void {
    this.#writtenMs = 0;
    this.#runs = [];
    this.#idle = true;
  }

  forgetItems(): void {
    this.#itemMs.clear();
  }
}

/** A barge-in's result: how much of the answer was heard, and where to truncate. */
export interface Cut {
  /** Answer milliseconds written since the speaker was last idle that were never heard. */
  unheardMs: number;
  spot: { itemId: string; audioEndMs: number } | undefined;
}

export class Playback {
  readonly #ledger = new PlaybackLedger();
  #probe: NodeJS.Timeout | undefined;
  #speaker: SpeakerPort;
  readonly #probeMs: number;

  constructor(speaker: SpeakerPort, probeMs = 5) {
    this.#speaker = speaker;
    this.#probeMs = probeMs;
  }

  /** After a restart of the audio parts. */
  use(speaker: SpeakerPort): void {
    this.#speaker = speaker;
  }

  /** Answer audio is waiting to be heard (earcons do not count). */
  get answerPending(): boolean {
    return this.#ledger.answerPending;
  }

  get idle(): boolean {
    return this.#ledger.idle;
  }

  earcon(pcm: Buffer): void {
    if (pcm.length === 0) return;
    this.#ledger.add(pcm.length / BYTES_PER_MS);
    this.#speaker.write(pcm);
    // A cue is whole: the speaker drains (and rests) right after it instead of bridging the
    // silence for a grace period; an answer written later continues the stream.
    if (!this.#ledger.answerPending) this.#speaker.endStream?.();
  }

  /** Queues answer audio; returns where it starts on the speaker's timeline. */
  answer(pcm: Buffer, itemId: string): number {
    const start = this.#ledger.add(pcm.length / BYTES_PER_MS, itemId);
    this.#speaker.write(pcm);
    return start;
  }

  endStream(): void {
    this.#speaker.endStream?.();
  }

  /** Stops at once and says what was heard. */
  cut(): Cut {
    const playedMs = this.#ledger.idle ? 0 : this.#speaker.interrupt();
    const result = { unheardMs: this.#ledger.unheardAnswerMs(playedMs), spot: this.#ledger.locate(playedMs) };
    this.#ledger.reset();
    this.stopWatch();
    return result;
  }

  /** The speaker reported it has played everything (positions restart at 0). */
  drained(): void {
    this.#ledger.reset();
  }

  /** Calls `reached` once the speaker has played past `startMs` (the first answer sample at the DAC). */
  watch(startMs: number, reached: () => void): void {
    this.stopWatch();
    const check = (): boolean => {
      if (this.#speaker.playedMs() <= startMs) return false;
      reached();
      return true;
    };
    // Sleep until the speaker says the position will be heard (or, when it cannot tell, until it
    // would be at real time), then look again: a starved or paused speaker makes it later.
    const next = (): void => {
      const due = this.#speaker.untilPlayedMs?.(startMs) ?? startMs - this.#speaker.playedMs();
      this.#probe = setTimeout(
        () => {
          this.#probe = undefined;
          if (!check()) next();
        },
        Math.max(this.#probeMs, due + 1),
      );
    };
    if (!check()) next();
  }

  stopWatch(): void {
    if (this.#probe) clearTimeout(this.#probe);
    this.#probe = undefined;
  }

  /** A turn is over: item lengths are no longer needed. */
  forgetItems(): void {
    this.#ledger.forgetItems();
  }

  /** Silences whatever is playing (stop, rewire). */
  stop(): void {
    this.stopWatch();
    if (!this.#ledger.idle) this.#speaker.interrupt();
    this.#ledger.reset();
  }
}
