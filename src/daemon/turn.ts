/**
 * One user turn and the answer it gets: its phase, the timestamps the per-turn log line is made
 * of, and what was received and heard. It changes only through its transition methods, named
 * for what happened, so the conductor and the answer side never write its fields.
 */
import type { CallRecord } from '../tools/types.js';
import type { TurnLevel } from './ports.js';

export type TurnMode = 'manual' | 'hands-free' | 'say' | 'ask';
export type TurnPhase = 'recording' | 'awaiting-answer' | 'answering' | 'finished';
/** `silent`: the microphone gave digital silence (muted or unplugged); nothing was asked. */
export type TurnOutcome = 'complete' | 'cut' | 'tap' | 'cancelled' | 'silent' | 'dropped' | 'failed';

/** The per-turn log line: what a person reads in the journal to see where time went. */
export interface TurnRecord {
  turn: number;
  /** say and ask: an announcement (say, a timer going off) or a typed question (home-wiring.ts), not the microphone. */
  mode: TurnMode;
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
  /** The function calls of the turn (tool, duration, outcome, output size, redacted arguments). */
  tools?: CallRecord[];
}

const round = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.max(0, Math.round(ms)));

export class Turn {
  #phase: TurnPhase = 'recording';
  /** When the first audio of the turn went on the wire (session verified and sending). */
  #firstAppendAt: number | undefined;
  #releasedAt: number | undefined;
  #heldMs: number | undefined;
  /** When the commit went on the wire. */
  #committedAt: number | undefined;
  #inputAcked = false;
  #firstDeltaAt: number | undefined;
  #dacAt: number | undefined;
  #responseId: string | undefined;
  #answerDone = false;
  /** Tools of a completed response run; no response has taken their results yet. */
  #inToolRound = false;
  #level: TurnLevel | undefined;
  #receivedMs = 0;
  #playedMs = 0;
  #truncated: { itemId: string; audioEndMs: number } | undefined;
  #lostReason: string | undefined;
  #peak = 0;
  /** The turn's function calls, in the order they finished. */
  readonly calls: CallRecord[] = [];
  /** Answer transcript so far, by item: what was cut is logged with its text. */
  readonly answerText = new Map<string, string>();

  constructor(
    readonly id: number,
    readonly mode: TurnMode,
    readonly startedAt: number,
    readonly bargeIn: boolean,
  ) {}

  get phase(): TurnPhase {
    return this.#phase;
  }

  /** Recording, or waiting for or playing its answer. */
  get open(): boolean {
    return this.#phase !== 'finished';
  }

  /** Waiting for its answer or playing it: a press now cuts it. */
  get answerInProgress(): boolean {
    return this.#phase === 'awaiting-answer' || this.#phase === 'answering';
  }

  /** The server acknowledged the commit (input_audio_buffer.committed): a new connection cannot re-send it. */
  get inputAcked(): boolean {
    return this.#inputAcked;
  }

  get responseId(): string | undefined {
    return this.#responseId;
  }

  /** The whole answer has been received (or will not come: see `lostReason`). */
  get answerDone(): boolean {
    return this.#answerDone;
  }

  /** Why the rest of the answer will not come (connection lost while answering). */
  get lostReason(): string | undefined {
    return this.#lostReason;
  }

  get receivedMs(): number {
    return this.#receivedMs;
  }

  get playedMs(): number {
    return this.#playedMs;
  }

  get heldMs(): number | undefined {
    return this.#heldMs;
  }

  get level(): TurnLevel | undefined {
    return this.#level;
  }

  get truncated(): { itemId: string; audioEndMs: number } | undefined {
    return this.#truncated;
  }

  /** Peak level of the live audio in dBFS (tracked only where a decision needs it, see `notePeak`). */
  get peakDbfs(): number {
    return this.#peak > 0 ? 20 * Math.log10(this.#peak / 32768) : -120;
  }

  notePeak(pcm: Buffer): void {
    for (let i = 0; i + 1 < pcm.length; i += 2) {
      const v = Math.abs(pcm.readInt16LE(i));
      if (v > this.#peak) this.#peak = v;
    }
  }

  // ---- transitions ----

  /** Audio of this turn is on the wire (only counted while recording with the session verified). */
  appended(now: number): void {
    if (this.#phase === 'recording') this.#firstAppendAt ??= now;
  }

  /** The session was verified: what it held went out now. */
  linkVerified(now: number): void {
    if (!this.open) return;
    this.#firstAppendAt ??= now;
    if (this.#phase === 'awaiting-answer') this.#committedAt ??= now;
  }

  /** The mic closed: how long and how loud the turn was. */
  released(at: number, heldMs: number | undefined, level: TurnLevel | undefined): void {
    this.#releasedAt = at;
    this.#heldMs = heldMs ?? at - this.startedAt;
    this.#level = level;
  }

  /** The mic closed without a release (a long press that cancels). */
  closed(level: TurnLevel | undefined): void {
    this.#level = level;
  }

  /** Hands-free: the server heard the speech stop. */
  speechStopped(now: number): void {
    if (this.#phase !== 'recording') return;
    this.#releasedAt = now;
    this.#heldMs = now - this.startedAt;
  }

  /** The question is asked: commit and response.create are sent (`committedAt` undefined: held by the session until verified). */
  asked(committedAt: number | undefined): void {
    if (committedAt !== undefined) this.#committedAt ??= committedAt;
    this.#phase = 'awaiting-answer';
    this.#answerDone = false;
  }

  /** Hands-free: the server's VAD committed the input (the speech ended there if it was not heard to stop). */
  serverCommitted(now: number): void {
    this.#releasedAt ??= now;
    this.asked(now);
  }

  get inToolRound(): boolean {
    return this.#inToolRound;
  }

  /** The server acknowledged the commit. */
  inputAcknowledged(): void {
    this.#inputAcked = true;
  }

  /** Whether `responseId` answers this turn; the first response to come is taken as its answer. */
  claim(responseId: string): boolean {
    if (!this.answerInProgress || (this.#responseId ?? responseId) !== responseId) return false;
    if (this.#responseId === undefined) {
      this.#responseId = responseId;
      this.#answerDone = false;
      this.#inToolRound = false;
    }
    return true;
  }

  /** The response asked for tools: the turn waits for the response that uses their results. */
  toolRound(): void {
    this.#inToolRound = true;
    this.#phase = 'awaiting-answer';
    this.#responseId = undefined;
    this.#answerDone = false;
  }

  /** Answer audio arrived; returns true for the first of it (the turn is now answering). */
  answerAudio(ms: number, now: number): boolean {
    this.#receivedMs += ms;
    // After a tool round the next response's audio makes the turn answer again.
    this.#phase = 'answering';
    if (this.#firstDeltaAt !== undefined) return false;
    this.#firstDeltaAt = now;
    return true;
  }

  /** The first answer sample reached the speaker's output. */
  reachedDac(now: number): void {
    this.#dacAt = now;
  }

  /** No more answer audio will come; `lostReason` says why when it was not completed. */
  answerEnded(lostReason?: string): void {
    this.#answerDone = true;
    if (lostReason !== undefined) this.#lostReason = lostReason;
  }

  /** Everything received was played. */
  heardAll(): void {
    this.#playedMs = this.#receivedMs;
  }

  /** The answer was stopped: `unheardMs` of what was received never played; the server item was truncated at `truncated`. */
  cut(unheardMs: number, truncated: { itemId: string; audioEndMs: number } | undefined): void {
    this.#playedMs = this.#receivedMs - unheardMs;
    if (truncated) this.#truncated = truncated;
  }

  /** Ends the turn; returns its log record. */
  finish(outcome: TurnOutcome, reason?: string): TurnRecord {
    this.#phase = 'finished';
    if (outcome === 'complete') this.#playedMs = this.#receivedMs;
    const since = (a: number | undefined, b: number | undefined) => round(a === undefined || b === undefined ? undefined : a - b);
    return {
      turn: this.id,
      mode: this.mode,
      outcome,
      ...(reason ? { reason } : {}),
      bargeIn: this.bargeIn,
      ...(this.#heldMs !== undefined ? { heldMs: round(this.#heldMs) } : {}),
      pressToFirstAppendMs: since(this.#firstAppendAt, this.startedAt),
      releaseToCommitMs: since(this.#committedAt, this.#releasedAt),
      commitToFirstDeltaMs: since(this.#firstDeltaAt, this.#committedAt),
      firstDeltaToDacMs: since(this.#dacAt, this.#firstDeltaAt),
      playedMs: Math.round(this.#playedMs),
      receivedMs: Math.round(this.#receivedMs),
      ...(this.#level ? { input: { rmsDbfs: this.#level.rmsDbfs, peakDbfs: this.#level.peakDbfs } } : {}),
      ...(this.#truncated ? { truncated: this.#truncated } : {}),
      ...(this.calls.length > 0 ? { tools: [...this.calls] } : {}),
    };
  }
}
