/**
 * The answer side of a turn: the answer's audio to the speaker, the timer that gives up on an
 * answer that never starts, the answer's end (response done, speaker drained, connection lost),
 * and the cut: playback stops at once, the response is cancelled and the item truncated at what
 * was heard. Responses of a cut or stale answer are remembered so their late audio is dropped.
 *
 * The conductor owns the turn in progress and ends turns; this side reaches it through AnswerHost.
 */
import type { Logger } from '../core/logger.js';
import { BYTES_PER_MS } from '../core/pcm-format.js';
import type { Playback } from './playback.js';
import type { SessionAudio, SessionEvents, SessionPort } from './ports.js';
import type { Turn, TurnOutcome } from './turn.js';

/** What a cut stopped: logged as `answer cut` and emitted as the conductor's `cut` event. */
export interface CutInfo {
  turn: number;
  playedMs: number;
  receivedMs: number;
  truncated?: { itemId: string; audioEndMs: number };
  heardText?: string;
  reason: string;
}

export interface AnswerHost {
  /** The session in use (a rewire replaces it). */
  session(): SessionPort;
  /** The turn an arriving response may answer (hands-free, the conductor advances or starts one here). */
  answerTurn(): Turn | undefined;
  /** Ends a turn: logged and emitted; `error` sounds the error earcon first. */
  end(turn: Turn, outcome: TurnOutcome, reason: string | undefined, error?: boolean): void;
  /** Something changed: the conductor derives its state again. */
  changed(reason: string): void;
  /** Why no answer came within `timeoutMs` (the link's state decides the wording). */
  noAnswerWhy(timeoutMs: number): string;
}

export interface AnswerSideDeps {
  host: AnswerHost;
  playback: Playback;
  logger: Logger;
  now: () => number;
}

/** Stale response ids and truncated items are kept for late events only: a short memory is enough. */
const MEMORY = 32;

export class AnswerSide {
  readonly #host: AnswerHost;
  readonly #playback: Playback;
  readonly #log: Logger;
  readonly #now: () => number;
  /** Responses that were cut or are stale: their late audio is dropped. */
  readonly #stale = new Set<string>();
  /** Answer items cut by a barge-in, with where: their transcript line says the person heard only part. */
  readonly #truncated = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: AnswerSideDeps) {
    this.#host = deps.host;
    this.#playback = deps.playback;
    this.#log = deps.logger;
    this.#now = deps.now;
  }

  /** How much of a truncated item the person heard (undefined: not cut). */
  heardMs(itemId: string): number | undefined {
    return this.#truncated.get(itemId);
  }

  /** The turn's question is on its way: without an answer started within `timeoutMs` it is dropped. */
  expect(turn: Turn, timeoutMs: number): void {
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (turn.phase !== 'awaiting-answer') return;
      const session = this.#host.session();
      const why = this.#host.noAnswerWhy(timeoutMs);
      session.cancelResponse();
      session.clearInput();
      this.#host.end(turn, 'dropped', why, true);
      this.#host.changed('answer timeout');
    }, timeoutMs);
  }

  started(responseId: string): void {
    if (this.#stale.has(responseId)) return;
    if (this.#claim(responseId)) this.#clearTimer();
    this.#host.changed('response started');
  }

  /** Plays answer audio; returns the turn it answers (undefined: stale, dropped). */
  audio({ responseId, itemId, pcm }: SessionAudio): Turn | undefined {
    if (this.#stale.has(responseId)) return undefined;
    const turn = this.#claim(responseId);
    if (!turn) return undefined;
    const start = this.#playback.answer(pcm, itemId);
    if (turn.answerAudio(pcm.length / BYTES_PER_MS, this.#now())) {
      this.#clearTimer();
      this.#playback.watch(start, () => turn.reachedDac(this.#now()));
      this.#host.changed('answer audio');
    }
    return turn;
  }

  /** The response ended: a turn with no audio ends now; one with audio ends when the speaker drains. */
  done(turn: Turn | undefined, { responseId, status }: SessionEvents['responseDone'][0]): void {
    if (responseId !== undefined && this.#stale.delete(responseId)) return;
    if (!turn?.answerInProgress) return;
    if (responseId !== undefined && turn.responseId !== undefined && responseId !== turn.responseId) return;
    if (turn.receivedMs === 0) {
      turn.answerEnded();
      if (status === 'completed') this.#host.end(turn, 'complete', 'the answer had no audio');
      else if (status === 'disconnected') this.#host.end(turn, 'dropped', 'the connection was lost before the answer came', true);
      else this.#host.end(turn, 'failed', `the response ended with status ${status}`, true);
      this.#host.changed('response done');
      return;
    }
    this.#playback.endStream();
    if (status === 'completed') turn.answerEnded();
    else turn.answerEnded(status === 'disconnected' ? 'connection lost while answering' : `response ${status}`);
    if (this.#playback.idle) this.#endHeard(turn);
    this.#host.changed('response done');
  }

  /** The speaker played everything it was given. */
  drained(turn: Turn | undefined): void {
    this.#playback.drained();
    if (turn?.phase === 'answering') {
      turn.heardAll();
      if (turn.answerDone) this.#endHeard(turn);
    }
    this.#host.changed('playback drained');
  }

  /** The connection was lost while this turn's answer was arriving: what came is played, the rest will not come. */
  lost(turn: Turn, detail: string): void {
    this.#log.warn('connection lost while answering: what arrived is played, the rest will not come', { turn: turn.id, detail });
    turn.answerEnded(`connection lost while answering (${detail})`);
    if (this.#playback.idle) this.#host.end(turn, 'cut', turn.lostReason);
  }

  /**
   * Stops the turn's answer (playing or awaited): playback stops at once, the response is
   * cancelled (unless the server does it itself: `cancel` false), and the item is truncated at
   * what was heard. Returns what was cut; the caller ends the turn.
   */
  cut(turn: Turn, reason: string, cancel = true): CutInfo {
    this.#clearTimer();
    const session = this.#host.session();
    const { unheardMs, spot } = this.#playback.cut();
    const truncated = spot ? { itemId: spot.itemId, audioEndMs: Math.round(spot.audioEndMs) } : undefined;
    turn.cut(unheardMs, truncated);
    if (cancel && !turn.answerDone) session.cancelResponse();
    if (turn.responseId !== undefined && !turn.answerDone) this.#stale.add(turn.responseId);
    if (truncated) {
      session.truncate(truncated.itemId, truncated.audioEndMs);
      if (this.#truncated.size > MEMORY) this.#truncated.clear();
      this.#truncated.set(truncated.itemId, truncated.audioEndMs);
    }
    const heardText = spot ? turn.answerText.get(spot.itemId) : undefined;
    const info: CutInfo = {
      turn: turn.id,
      playedMs: Math.round(turn.playedMs),
      receivedMs: Math.round(turn.receivedMs),
      ...(turn.truncated ? { truncated: turn.truncated } : {}),
      ...(heardText ? { heardText } : {}),
      reason,
    };
    this.#log.info('answer cut', { ...info });
    return info;
  }

  /** A turn ended: its timer, DAC probe and item lengths are no longer needed. */
  turnOver(): void {
    this.#clearTimer();
    this.#playback.stopWatch();
    this.#playback.forgetItems();
  }

  /** Stops everything at once (the conductor stops or is rewired). */
  stop(): void {
    this.#clearTimer();
    this.#playback.stop();
  }

  /** The turn `responseId` answers; a response no turn waits for (from a turn already cut) is cancelled. */
  #claim(responseId: string): Turn | undefined {
    const turn = this.#host.answerTurn();
    if (turn?.claim(responseId)) return turn;
    if (this.#stale.size > MEMORY) this.#stale.clear();
    this.#stale.add(responseId);
    this.#host.session().cancelResponse();
    this.#log.debug('stale answer cancelled', { responseId });
    return undefined;
  }

  /** Everything that came was heard: complete, or cut when the rest was lost. */
  #endHeard(turn: Turn): void {
    this.#host.end(turn, turn.lostReason ? 'cut' : 'complete', turn.lostReason);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
