/**
 * One user turn and the answer it gets: the timestamps the per-turn log line is made of, and
 * where each answer item starts in what was written to the speaker (so a barge-in can tell the
 * server exactly how much of which item was heard).
 */
import type { TurnLevel } from './ports.js';

export type TurnPhase = 'recording' | 'awaiting-answer' | 'answering' | 'finished';
export type TurnOutcome = 'complete' | 'cut' | 'tap' | 'cancelled' | 'dropped' | 'failed';

/** The per-turn log line: what a person reads in the journal to see where time went. */
export interface TurnRecord {
  turn: number;
  mode: 'manual' | 'hands-free';
  outcome: TurnOutcome;
  reason?: string;
  bargeIn: boolean;
  heldMs?: number;
  pressToFirstAppendMs?: number;
  releaseToCommitMs?: number;
  commitToFirstDeltaMs?: number;
  firstDeltaToDacMs?: number;
  /** Milliseconds of the answer the person heard. */
  playedMs: number;
  /** Milliseconds of answer audio received. */
  receivedMs: number;
  /** The microphone level over the turn (a silent turn points at a muted or unplugged mic). */
  input?: TurnLevel;
  /** On a cut: the item truncated and where. */
  truncated?: { itemId: string; audioEndMs: number };
}

const round = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.max(0, Math.round(ms)));

export class Turn {
  phase: TurnPhase = 'recording';
  /** When the first audio of the turn went on the wire (session verified and sending). */
  firstAppendAt: number | undefined;
  releasedAt: number | undefined;
  heldMs: number | undefined;
  /** When the commit went on the wire. */
  committedAt: number | undefined;
  firstDeltaAt: number | undefined;
  dacAt: number | undefined;
  responseId: string | undefined;
  level: TurnLevel | undefined;
  receivedMs = 0;
  playedMs = 0;
  truncated: { itemId: string; audioEndMs: number } | undefined;
  /** Why the rest of the answer will not come (connection lost while answering). */
  lostReason: string | undefined;
  /** Largest absolute sample of the live audio (tracked only where a decision needs it). */
  peak = 0;
  /** Answer transcript so far, by item: what was cut is logged with its text. */
  readonly answerText = new Map<string, string>();

  constructor(
    readonly id: number,
    readonly mode: 'manual' | 'hands-free',
    readonly startedAt: number,
    readonly bargeIn: boolean,
  ) {}

  notePeak(pcm: Buffer): void {
    for (let i = 0; i + 1 < pcm.length; i += 2) {
      const v = Math.abs(pcm.readInt16LE(i));
      if (v > this.peak) this.peak = v;
    }
  }

  record(outcome: TurnOutcome, reason?: string): TurnRecord {
    this.phase = 'finished';
    return {
      turn: this.id,
      mode: this.mode,
      outcome,
      ...(reason ? { reason } : {}),
      bargeIn: this.bargeIn,
      ...(this.heldMs !== undefined ? { heldMs: round(this.heldMs) } : {}),
      pressToFirstAppendMs: round(this.firstAppendAt === undefined ? undefined : this.firstAppendAt - this.startedAt),
      releaseToCommitMs: round(this.committedAt === undefined || this.releasedAt === undefined ? undefined : this.committedAt - this.releasedAt),
      commitToFirstDeltaMs: round(this.firstDeltaAt === undefined || this.committedAt === undefined ? undefined : this.firstDeltaAt - this.committedAt),
      firstDeltaToDacMs: round(this.dacAt === undefined || this.firstDeltaAt === undefined ? undefined : this.dacAt - this.firstDeltaAt),
      playedMs: Math.round(this.playedMs),
      receivedMs: Math.round(this.receivedMs),
      ...(this.level ? { input: { rmsDbfs: this.level.rmsDbfs, peakDbfs: this.level.peakDbfs } } : {}),
      ...(this.truncated ? { truncated: this.truncated } : {}),
    };
  }
}

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
