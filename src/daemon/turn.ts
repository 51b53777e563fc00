/** One user turn and the answer it gets: the timestamps the per-turn log line is made of. */
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
  /** The server acknowledged the commit (input_audio_buffer.committed): a new connection cannot re-send it. */
  inputAcked = false;
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
      releaseToCommitMs: round(
        this.committedAt === undefined || this.releasedAt === undefined ? undefined : this.committedAt - this.releasedAt,
      ),
      commitToFirstDeltaMs: round(
        this.firstDeltaAt === undefined || this.committedAt === undefined ? undefined : this.firstDeltaAt - this.committedAt,
      ),
      firstDeltaToDacMs: round(this.dacAt === undefined || this.firstDeltaAt === undefined ? undefined : this.dacAt - this.firstDeltaAt),
      playedMs: Math.round(this.playedMs),
      receivedMs: Math.round(this.receivedMs),
      ...(this.level ? { input: { rmsDbfs: this.level.rmsDbfs, peakDbfs: this.level.peakDbfs } } : {}),
      ...(this.truncated ? { truncated: this.truncated } : {}),
    };
  }
}
