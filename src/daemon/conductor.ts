/**
 * The conductor: the one place that knows about the button, the mic, the session and the
 * speaker at once. Its state (idle, connecting, listening, thinking, speaking, error) is derived
 * from the turn in progress and the session's link after every event, and drives the LED, the
 * systemd status line and the log. It speaks only to the ports in ports.ts: no wire formats.
 */
import type { Component } from '../core/component.js';
import type { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { BYTES_PER_MS } from '../core/pcm-format.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type {
  ButtonEvents,
  Events,
  ButtonPort,
  ConductorState,
  EarconName,
  LedPort,
  MicEvents,
  MicPort,
  SessionAudio,
  SessionEvents,
  SessionPort,
  SessionTranscript,
  SpeakerEvents,
  SpeakerPort,
  StatusPort,
} from './ports.js';
import { realtimeRecovery } from '../realtime/index.js';
import { Playback } from './playback.js';
import { Turn, type TurnOutcome, type TurnRecord } from './turn.js';

export type TurnDetection = 'manual' | 'server_vad' | 'semantic_vad';

export interface ConductorOptions {
  turnDetection: TurnDetection;
  /** Hands-free: speech during an answer interrupts it; otherwise the mic is gated while it speaks. */
  bargeInByVoice: boolean;
  earcons: boolean;
  /** A press held shorter than this is a tap: the input is cleared and nothing is asked. */
  minHoldMs: number;
  /** A released turn that has no answer started this long after release is dropped (with the error earcon). */
  answerTimeoutMs: number;
  /**
   * A long press after a barge-in cancels (nothing new is asked) only if the microphone stayed
   * below this peak level: holding the button while talking is a question, however long.
   */
  speechPeakDbfs: number;
}

export const DEFAULT_CONDUCTOR_OPTIONS: ConductorOptions = {
  turnDetection: 'manual',
  bargeInByVoice: false,
  earcons: true,
  minHoldMs: 200,
  answerTimeoutMs: 15_000,
  speechPeakDbfs: -35,
};

export interface TranscriptEntry {
  time: string;
  turn: number | undefined;
  role: 'user' | 'assistant';
  itemId: string;
  text: string;
  /** The assistant was interrupted: the person heard only the first `heardMs` of this item. */
  cut?: boolean;
  heardMs?: number;
}

export type ConductorEvents = {
  state: [ConductorState, { from: ConductorState; reason: string }];
  turn: [TurnRecord];
  transcript: [TranscriptEntry];
  /** A barge-in or long press stopped an answer. */
  cut: [
    {
      turn: number;
      playedMs: number;
      receivedMs: number;
      truncated?: { itemId: string; audioEndMs: number };
      heardText?: string;
      reason: string;
    },
  ];
};

export interface ConductorDeps {
  mic: MicPort;
  speaker: SpeakerPort;
  session: SessionPort;
  button: ButtonPort;
  earcon: (name: EarconName) => Buffer;
  logger: Logger;
  led?: LedPort;
  status?: StatusPort;
  now?: () => number;
  /** How often the first-delta-to-DAC probe reads the speaker position. */
  dacProbeMs?: number;
}

/** Session states in which no connection is wanted (on-demand between turns). */
const DORMANT = new Set(['idle']);

export class Conductor extends TypedEmitter<ConductorEvents> implements Component {
  readonly name = 'conductor';
  #opts: ConductorOptions;
  #d: ConductorDeps;
  readonly #log: Logger;
  readonly #now: () => number;

  #started = false;
  #state: ConductorState = 'connecting';
  #linkReady = false;
  #linkProblem: PttError | undefined;
  #lastLinkError: PttError | undefined;
  #turnSeq = 0;
  #turn: Turn | undefined;
  /** Responses that were cut or are stale: their late audio is dropped. */
  readonly #cut = new Set<string>();
  readonly #playback: Playback;
  /** The answer (of #turn) has been fully received. */
  #answerDone = false;
  #answerTimer: NodeJS.Timeout | undefined;
  #micOpen = false;
  /** The 'ready' earcon sounds once, at the first verified session. */
  #greeted = false;
  /** Hands-free: the button toggled the mic off. */
  #muted = false;
  /** Which turn an item (user input or answer) belongs to, for the transcript file. */
  readonly #itemTurn = new Map<string, number>();
  /** Answer items cut by a barge-in, with where: their transcript line says the person heard only part. */
  readonly #truncated = new Map<string, number>();
  #unsubscribe: Array<() => void> = [];

  constructor(deps: ConductorDeps, options: Partial<ConductorOptions> = {}) {
    super();
    this.#d = deps;
    this.#opts = { ...DEFAULT_CONDUCTOR_OPTIONS, ...options };
    this.#log = deps.logger.child('conductor');
    // Monotonic like the button's timestamps (CLOCK_MONOTONIC), so press times can be used as given.
    this.#now = deps.now ?? (() => Number(process.hrtime.bigint()) / 1e6);
    this.#playback = new Playback(deps.speaker, deps.dacProbeMs);
  }

  get state(): ConductorState {
    return this.#state;
  }

  get options(): Readonly<ConductorOptions> {
    return this.#opts;
  }

  get handsFree(): boolean {
    return this.#opts.turnDetection !== 'manual';
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    // Seen as plain event sources, so each listener's payload type is inferred.
    const session: Events<SessionEvents> = this.#d.session;
    const mic: Events<MicEvents> = this.#d.mic;
    const speaker: Events<SpeakerEvents> = this.#d.speaker;
    const button: Events<ButtonEvents> = this.#d.button;
    this.#listen(button, 'press', (e) => this.#onPress(e));
    this.#listen(button, 'release', (e) => this.#onRelease(e));
    this.#listen(button, 'longPress', () => this.#onLongPress());
    this.#listen(mic, 'audio', (pcm) => this.#onMicAudio(pcm));
    this.#listen(mic, 'error', (err) => this.#onDeviceError('microphone', err));
    this.#listen(speaker, 'drained', () => this.#onDrained());
    this.#listen(speaker, 'error', (err) => this.#onDeviceError('speaker', err));
    this.#listen(session, 'state', (s, detail) => this.#onSessionState(s, detail));
    this.#listen(session, 'verified', () => this.#onVerified());
    this.#listen(session, 'audio', (a) => this.#onAudio(a));
    this.#listen(session, 'transcript', (t) => this.#onTranscript(t));
    this.#listen(session, 'responseStarted', (r) => this.#onResponseStarted(r.responseId));
    this.#listen(session, 'responseDone', (r) => this.#onResponseDone(r));
    this.#listen(session, 'speechStarted', () => this.#onSpeechStarted());
    this.#listen(session, 'speechStopped', () => this.#onSpeechStopped());
    this.#listen(session, 'inputCommitted', (c) => this.#onCommitted(c.itemId));
    this.#listen(session, 'error', (err) => this.#onSessionError(err));
    this.#linkReady = this.#d.session.state === 'ready';
    this.#syncHandsFreeMic();
    this.#update('started');
  }

  async stop(reason = 'the daemon is stopping'): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    this.#clearTimers();
    if (this.#turn && this.#turn.phase !== 'finished') this.#finish(this.#turn, 'dropped', reason);
    if (this.#micOpen) this.#closeMic();
    this.#playback.stop();
  }

  /**
   * Swaps parts that were restarted (hot reload of audio, GPIO or connection settings). A turn in
   * progress ends as dropped with `reason`; the turn count and state carry on.
   */
  async rewire(parts: Partial<Pick<ConductorDeps, 'mic' | 'speaker' | 'session' | 'button' | 'led'>>, reason: string): Promise<void> {
    const wasStarted = this.#started;
    await this.stop(reason);
    this.#d = { ...this.#d, ...parts };
    this.#playback.use(this.#d.speaker);
    this.#muted = false;
    if (wasStarted) await this.start();
  }

  /** Hot reload of the conductor's own settings (turn detection, barge-in by voice, earcons). */
  setOptions(options: Partial<ConductorOptions>): void {
    const wasHandsFree = this.handsFree;
    this.#opts = { ...this.#opts, ...options };
    if (wasHandsFree !== this.handsFree) {
      this.#log.info('turn detection changed', { turnDetection: this.#opts.turnDetection });
      if (this.#turn && this.#turn.phase === 'recording') this.#abandon(this.#turn, 'cancelled', 'turn detection changed');
      if (this.#micOpen) this.#closeMic();
      this.#muted = false;
    }
    this.#syncHandsFreeMic();
    this.#update('options changed');
  }

  // ---- button ----

  #onPress({ at }: ButtonEvents['press'][0]): void {
    if (this.handsFree) {
      this.#muted = !this.#muted;
      this.#log.info(this.#muted ? 'microphone muted' : 'microphone unmuted');
      if (this.#muted && this.#turn?.phase === 'recording') this.#abandon(this.#turn, 'cancelled', 'muted by the button');
      this.#earcon(this.#muted ? 'release' : 'press');
      this.#syncHandsFreeMic();
      this.#update(this.#muted ? 'muted' : 'unmuted');
      return;
    }
    if (this.#turn?.phase === 'recording') return; // a second press without a release (toggle bounce): already listening
    const bargeIn = this.#cutAnswer('barge-in');
    if (this.#linkProblem) {
      this.#log.warn('the session cannot answer until this is fixed; recording anyway', { error: this.#linkProblem });
    }
    const turn = new Turn(++this.#turnSeq, 'manual', this.#stamp(at), bargeIn);
    this.#turn = turn;
    this.#answerDone = false;
    this.#d.session.clearInput();
    this.#earcon('press');
    const preRoll = this.#openMic();
    if (preRoll.length > 0) this.#send(preRoll);
    this.#update(bargeIn ? 'barge-in' : 'press');
  }

  #onRelease({ at, heldMs }: ButtonEvents['release'][0]): void {
    if (this.handsFree) return;
    const turn = this.#turn;
    if (turn?.phase !== 'recording') return;
    turn.level = this.#closeMic();
    turn.releasedAt = this.#stamp(at);
    turn.heldMs = heldMs ?? turn.releasedAt - turn.startedAt;
    if (turn.heldMs < this.#opts.minHoldMs) {
      // The server refuses a commit of under 100 ms, and a tap is rarely a question: clear instead.
      this.#abandon(
        turn,
        'tap',
        `held ${Math.round(turn.heldMs)} ms, under the ${this.#opts.minHoldMs} ms tap threshold: nothing was asked`,
      );
      this.#update('tap');
      return;
    }
    const { committed, audioMs } = this.#d.session.commit();
    if (!committed) {
      this.#finish(turn, 'tap', `only ${Math.round(audioMs)} ms of audio: the server needs 100 ms, the input was cleared`);
      this.#update('tap');
      return;
    }
    this.#d.session.createResponse();
    if (this.#linkReady) turn.committedAt = this.#now();
    turn.phase = 'awaiting-answer';
    this.#earcon('release');
    this.#armAnswerTimer(turn);
    this.#update('release');
  }

  #onLongPress(): void {
    const turn = this.#turn;
    // Only a silent hold after cutting an answer is a cancel; otherwise someone is talking at length.
    if (this.handsFree || !turn || turn.phase !== 'recording' || !turn.bargeIn) return;
    const peakDbfs = turn.peak > 0 ? 20 * Math.log10(turn.peak / 32768) : -120;
    if (peakDbfs >= this.#opts.speechPeakDbfs) {
      this.#log.debug('long press while talking: kept as a question', { turn: turn.id, peakDbfs: Math.round(peakDbfs) });
      return;
    }
    turn.level = this.#closeMic();
    this.#abandon(turn, 'cancelled', 'long press after a barge-in: the answer was stopped and nothing new was asked');
    this.#update('long press');
  }

  // ---- microphone ----

  #openMic(): Buffer {
    this.#micOpen = true;
    return this.#d.mic.open();
  }

  #closeMic(): ReturnType<MicPort['close']> {
    this.#micOpen = false;
    return this.#d.mic.close();
  }

  #onMicAudio(pcm: Buffer): void {
    if (!this.#micOpen) return;
    if (this.handsFree) {
      // Gated while the assistant speaks, unless speech is allowed to interrupt it.
      if (this.#playback.answerPending && !this.#opts.bargeInByVoice) return;
      this.#send(pcm);
      return;
    }
    const turn = this.#turn;
    if (turn?.phase !== 'recording') return;
    if (turn.bargeIn) turn.notePeak(pcm);
    this.#send(pcm);
  }

  #send(pcm: Buffer): void {
    this.#d.session.appendAudio(pcm);
    const turn = this.#turn;
    // The session holds audio until it is verified; the first append is on the wire only then.
    if (turn && turn.phase === 'recording' && turn.firstAppendAt === undefined && this.#linkReady) turn.firstAppendAt = this.#now();
  }

  /** Hands-free: the mic streams whenever the session is ready and the button has not muted it. */
  #syncHandsFreeMic(): void {
    if (!this.#started || !this.handsFree) return;
    const want = !this.#muted && (this.#linkReady || this.#turn?.phase === 'recording');
    if (want && !this.#micOpen) {
      const preRoll = this.#openMic();
      if (preRoll.length > 0) this.#send(preRoll);
    } else if (!want && this.#micOpen) {
      this.#closeMic();
    }
  }

  // ---- session ----

  #onSessionState(state: string, detail: string): void {
    const ready = state === 'ready';
    const wasReady = this.#linkReady;
    this.#linkReady = ready;
    // 'verifying' after 'ready' is a changed profile re-applied on the same socket, not a loss.
    if (wasReady && !ready && state !== 'verifying') this.#onLinkLost(state, detail);
    this.#syncHandsFreeMic();
    this.#update(`session ${state}`);
  }

  #onLinkLost(state: string, detail: string): void {
    const turn = this.#turn;
    if (!turn) return;
    if (turn.phase === 'recording' || (turn.phase === 'awaiting-answer' && !turn.inputAcked)) {
      // The session puts what the server had not acknowledged (audio, commit, response.create)
      // back in its gate and sends it once verified again.
      this.#log.warn('connection lost during a turn: its audio is held and sent once the session is verified again', {
        turn: turn.id,
        sessionState: state,
        detail,
      });
    } else if (turn.phase === 'awaiting-answer' && turn.responseId === undefined) {
      // The old server session acknowledged the commit; a new one knows nothing of this turn.
      this.#fail(turn, 'dropped', `the connection was lost after the turn was sent, before the answer started (${detail})`);
    } else if (turn.phase === 'answering' && !this.#answerDone) {
      this.#log.warn('connection lost while answering: what arrived is played, the rest will not come', { turn: turn.id, detail });
      this.#answerDone = true;
      turn.lostReason = `connection lost while answering (${detail})`;
      if (this.#playback.idle) this.#finish(turn, 'cut', turn.lostReason);
    }
  }

  #onVerified(): void {
    const first = !this.#greeted;
    this.#greeted = true;
    this.#linkReady = true;
    this.#linkProblem = undefined;
    this.#lastLinkError = undefined;
    const turn = this.#turn;
    const now = this.#now();
    if (turn && turn.firstAppendAt === undefined && turn.phase !== 'finished') turn.firstAppendAt = now;
    if (turn && turn.phase === 'awaiting-answer' && turn.committedAt === undefined) turn.committedAt = now;
    // On-demand, the first verification comes in the middle of a turn: no chime over it.
    if (first && (!turn || turn.phase === 'finished')) this.#earcon('ready');
    this.#syncHandsFreeMic();
    this.#update('session verified');
  }

  #onSessionError(err: PttError): void {
    this.#lastLinkError = err;
    if (realtimeRecovery(err)?.needsAPerson) this.#linkProblem = err;
    const turn = this.#turn;
    const about = typeof err.context.clientEvent === 'string' ? err.context.clientEvent : undefined;
    // A failed commit or response.create means this turn will get no answer: say so now.
    if (turn && turn.phase === 'awaiting-answer' && (about === 'input_audio_buffer.commit' || about === 'response.create')) {
      this.#fail(turn, 'dropped', `the server refused ${about}: ${err.message}`);
    }
    this.#update('session error');
  }

  #onResponseStarted(responseId: string): void {
    if (this.#cut.has(responseId)) return;
    if (this.#answeringTurn(responseId)) this.#clearAnswerTimer();
    this.#update('response started');
  }

  /** The turn a response answers; a response no turn waits for (from a turn already cut) is cancelled. */
  #answeringTurn(responseId: string): Turn | undefined {
    let turn = this.#turn;
    if (this.handsFree && turn?.phase === 'recording') {
      // The server's VAD ended the turn before we saw the commit.
      turn.committedAt ??= this.#now();
      turn.phase = 'awaiting-answer';
    } else if (this.handsFree && (!turn || turn.phase === 'finished')) {
      // The server speaks unprompted (idle timeout): an answer without a question.
      turn = this.#newHandsFreeTurn();
      turn.phase = 'awaiting-answer';
    }
    if (turn && (turn.phase === 'awaiting-answer' || turn.phase === 'answering') && (turn.responseId ?? responseId) === responseId) {
      if (turn.responseId === undefined) {
        turn.responseId = responseId;
        this.#answerDone = false;
      }
      return turn;
    }
    if (this.#cut.size > 32) this.#cut.clear();
    this.#cut.add(responseId);
    this.#d.session.cancelResponse();
    this.#log.debug('stale answer cancelled', { responseId });
    return undefined;
  }

  #onAudio({ responseId, itemId, pcm }: SessionAudio): void {
    if (this.#cut.has(responseId)) return;
    const turn = this.#answeringTurn(responseId);
    if (!turn) return;
    this.#remember(itemId, turn.id);
    const ms = pcm.length / BYTES_PER_MS;
    turn.receivedMs += ms;
    const start = this.#playback.answer(pcm, itemId);
    if (turn.firstDeltaAt === undefined) {
      turn.firstDeltaAt = this.#now();
      turn.phase = 'answering';
      this.#clearAnswerTimer();
      this.#playback.watch(start, () => (turn.dacAt = this.#now()));
      this.#update('answer audio');
    }
  }

  #onResponseDone({ responseId, status }: SessionEvents['responseDone'][0]): void {
    if (responseId !== undefined && this.#cut.delete(responseId)) return;
    const turn = this.#turn;
    if (!turn || turn.phase === 'finished' || turn.phase === 'recording') return;
    if (responseId !== undefined && turn.responseId !== undefined && responseId !== turn.responseId) return;
    this.#answerDone = true;
    if (turn.receivedMs === 0) {
      if (status === 'completed') this.#finish(turn, 'complete', 'the answer had no audio');
      else if (status === 'disconnected') this.#fail(turn, 'dropped', 'the connection was lost before the answer came');
      else this.#fail(turn, 'failed', `the response ended with status ${status}`);
      this.#update('response done');
      return;
    }
    this.#playback.endStream();
    if (status !== 'completed') turn.lostReason = status === 'disconnected' ? 'connection lost while answering' : `response ${status}`;
    if (this.#playback.idle) this.#finish(turn, turn.lostReason ? 'cut' : 'complete', turn.lostReason);
    this.#update('response done');
  }

  #onTranscript({ role, itemId, text, final }: SessionTranscript): void {
    const turnId = this.#itemTurn.get(itemId) ?? this.#turn?.id;
    if (role === 'assistant' && this.#turn && turnId === this.#turn.id) {
      this.#turn.answerText.set(itemId, final ? text : (this.#turn.answerText.get(itemId) ?? '') + text);
    }
    if (!final) return;
    const heardMs = role === 'assistant' ? this.#truncated.get(itemId) : undefined;
    this.emit('transcript', {
      time: new Date().toISOString(),
      turn: turnId,
      role,
      itemId,
      text,
      ...(heardMs !== undefined ? { cut: true, heardMs } : {}),
    });
  }

  #remember(itemId: string, turnId: number): void {
    if (this.#itemTurn.size > 64) this.#itemTurn.delete(this.#itemTurn.keys().next().value as string);
    this.#itemTurn.set(itemId, turnId);
  }

  // ---- hands-free (server VAD) ----

  #newHandsFreeTurn(): Turn {
    const turn = new Turn(++this.#turnSeq, 'hands-free', this.#now(), false);
    this.#turn = turn;
    return turn;
  }

  #onSpeechStarted(): void {
    if (!this.handsFree) return;
    const speaking = this.#turn?.phase === 'answering' || this.#turn?.phase === 'awaiting-answer';
    // The server cancels its own response on speech (interrupt_response); we stop playback and tell it what was heard.
    const bargeIn = speaking ? this.#cutAnswer('barge-in by voice', false) : false;
    const turn = new Turn(++this.#turnSeq, 'hands-free', this.#now(), bargeIn);
    turn.firstAppendAt = turn.startedAt;
    this.#turn = turn;
    this.#update('speech started');
  }

  #onSpeechStopped(): void {
    const turn = this.#turn;
    if (!this.handsFree || !turn || turn.phase !== 'recording') return;
    turn.releasedAt = this.#now();
    turn.heldMs = turn.releasedAt - turn.startedAt;
  }

  #onCommitted(itemId: string): void {
    const turn = this.#turn;
    if (turn) this.#remember(itemId, turn.id);
    // Manual turns are committed at release; a hands-free one by the server's VAD while recording.
    if (turn && (turn.phase === 'awaiting-answer' || (this.handsFree && turn.phase === 'recording'))) turn.inputAcked = true;
    if (!this.handsFree || !turn || turn.phase !== 'recording') return;
    turn.committedAt = this.#now();
    turn.releasedAt ??= turn.committedAt;
    turn.phase = 'awaiting-answer';
    this.#answerDone = false;
    this.#armAnswerTimer(turn);
    this.#update('committed');
  }

  // ---- speaker ----

  #onDrained(): void {
    this.#playback.drained();
    const turn = this.#turn;
    if (turn && turn.phase === 'answering') {
      turn.playedMs = turn.receivedMs;
      if (this.#answerDone) this.#finish(turn, turn.lostReason ? 'cut' : 'complete', turn.lostReason);
    }
    this.#update('playback drained');
  }

  #onDeviceError(device: 'microphone' | 'speaker', err: PttError): void {
    this.#log.error(`${device} error`, { error: err });
    const turn = this.#turn;
    if (device === 'microphone' && turn?.phase === 'recording') {
      this.#closeMic();
      this.#fail(turn, 'dropped', `the microphone failed: ${err.message}`);
    }
    this.#update(`${device} error`);
  }

  // ---- cutting, finishing ----

  /**
   * Stops an answer in progress (or one being waited for): playback stops at once, the response
   * is cancelled, and the item is truncated at what was actually heard. Returns whether there was
   * anything to cut.
   */
  #cutAnswer(reason: string, cancel = true): boolean {
    const turn = this.#turn;
    if (!turn || (turn.phase !== 'answering' && turn.phase !== 'awaiting-answer')) return false;
    this.#clearAnswerTimer();
    const { unheardMs, spot } = this.#playback.cut();
    turn.playedMs = turn.receivedMs - unheardMs;
    if (cancel && !this.#answerDone) this.#d.session.cancelResponse();
    if (turn.responseId !== undefined && !this.#answerDone) this.#cut.add(turn.responseId);
    if (spot) {
      const audioEndMs = Math.round(spot.audioEndMs);
      this.#d.session.truncate(spot.itemId, audioEndMs);
      turn.truncated = { itemId: spot.itemId, audioEndMs };
      if (this.#truncated.size > 32) this.#truncated.clear();
      this.#truncated.set(spot.itemId, audioEndMs);
    }
    const heardText = spot ? turn.answerText.get(spot.itemId) : undefined;
    const cutInfo = {
      turn: turn.id,
      playedMs: Math.round(turn.playedMs),
      receivedMs: Math.round(turn.receivedMs),
      ...(turn.truncated ? { truncated: turn.truncated } : {}),
      ...(heardText ? { heardText } : {}),
      reason,
    };
    this.#log.info('answer cut', cutInfo);
    this.emit('cut', cutInfo);
    this.#finish(turn, 'cut', reason);
    return true;
  }

  /** Ends a turn that asks nothing: the input buffer is cleared on the server. */
  #abandon(turn: Turn, outcome: TurnOutcome, reason: string): void {
    this.#d.session.clearInput();
    this.#finish(turn, outcome, reason);
  }

  /** Ends a turn that went wrong: the person hears the error earcon and the log says why. */
  #fail(turn: Turn, outcome: TurnOutcome, reason: string): void {
    this.#earcon('error');
    this.#finish(turn, outcome, reason);
  }

  #finish(turn: Turn, outcome: TurnOutcome, reason?: string): void {
    if (turn.phase === 'finished') return;
    this.#clearAnswerTimer();
    this.#playback.stopWatch();
    if (outcome === 'complete') turn.playedMs = turn.receivedMs;
    this.#playback.forgetItems();
    const record = turn.record(outcome, reason);
    const level = outcome === 'dropped' || outcome === 'failed' ? 'warn' : 'info';
    this.#log[level]('turn', { ...record });
    this.emit('turn', record);
  }

  #armAnswerTimer(turn: Turn): void {
    this.#clearAnswerTimer();
    this.#answerTimer = setTimeout(() => {
      this.#answerTimer = undefined;
      if (this.#turn !== turn || turn.phase !== 'awaiting-answer') return;
      const why = this.#linkReady
        ? `no answer from the server within ${this.#opts.answerTimeoutMs} ms`
        : `the connection was not restored within ${this.#opts.answerTimeoutMs} ms${this.#lastLinkError ? ` (${this.#lastLinkError.message})` : ''}`;
      this.#d.session.cancelResponse();
      this.#d.session.clearInput();
      this.#fail(turn, 'dropped', why);
      this.#update('answer timeout');
    }, this.#opts.answerTimeoutMs);
  }

  #clearAnswerTimer(): void {
    if (this.#answerTimer) clearTimeout(this.#answerTimer);
    this.#answerTimer = undefined;
  }

  #clearTimers(): void {
    this.#clearAnswerTimer();
    this.#playback.stopWatch();
  }

  // ---- state ----

  #derive(): ConductorState {
    const turn = this.#turn;
    if (turn?.phase === 'recording') return 'listening';
    if (turn?.phase === 'awaiting-answer') return 'thinking';
    if (turn?.phase === 'answering' || this.#playback.answerPending) return 'speaking';
    if (this.#linkProblem) return 'error';
    if (!this.#linkReady) return DORMANT.has(this.#d.session.state) ? 'idle' : 'connecting';
    if (this.handsFree && this.#micOpen) return 'listening';
    return 'idle';
  }

  #update(reason: string): void {
    if (!this.#started) return;
    const next = this.#derive();
    if (next === this.#state) return;
    const from = this.#state;
    this.#state = next;
    this.#log.debug('state', { state: next, from, reason });
    this.#d.led?.setState(next);
    this.#d.status?.status(this.#statusLine(next));
    this.emit('state', next, { from, reason });
  }

  #statusLine(state: ConductorState): string {
    if (state === 'error' && this.#linkProblem) return `error: ${this.#linkProblem.message}`;
    if (state === 'connecting') return 'connecting to the Realtime API';
    if (state === 'idle' && this.handsFree && this.#muted) return 'idle (microphone muted)';
    return state;
  }

  #earcon(name: EarconName): void {
    if (!this.#opts.earcons) return;
    this.#playback.earcon(this.#d.earcon(name));
  }

  #stamp(at: number | undefined): number {
    // Button timestamps are monotonic ms like performance.now(); trust them only when they are close.
    const now = this.#now();
    return at !== undefined && Number.isFinite(at) && Math.abs(now - at) < 5_000 ? Math.min(at, now) : now;
  }

  #listen<M extends { [event: string]: unknown[] }, K extends keyof M & string>(
    source: Events<M>,
    event: K,
    listener: (...args: M[K]) => void,
  ): void {
    source.on(event, listener);
    this.#unsubscribe.push(() => void source.off(event, listener));
  }
}
