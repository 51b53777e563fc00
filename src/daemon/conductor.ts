/**
 * The conductor: the one place that knows about the button, the mic, the session and the
 * speaker at once. Its state (idle, connecting, listening, thinking, speaking, error) is derived
 * from the turn in progress and the session's link after every event, and drives the LED, the
 * systemd status line and the log. It speaks only to the ports in ports.ts: no wire formats.
 */
import type { Component } from '../core/component.js';
import type { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { AnswerSide } from './answer.js';
import { DEFAULT_CONDUCTOR_OPTIONS, type ConductorOptions } from './conductor-options.js';
import type { ConductorDeps, ConductorEvents } from './conductor-types.js';
import { deriveState, statusLine, type StateView } from './conductor-state.js';
import type { ButtonEvents, ConductorState, EarconName, Events, MicEvents, MicPort, PressClaim } from './ports.js';
import type { SessionAudio, SessionEvents, SessionTranscript, SpeakerEvents } from './ports.js';
import { realtimeRecovery } from '../realtime/index.js';
import { Playback } from './playback.js';
import { carriesSpeech, onlyStopped, whyNotAsked } from './release-rules.js';
import { Transcripts } from './transcripts.js';
import { Turn, type TurnOutcome } from './turn.js';
import { monotonicMs } from '../core/clock.js';

export type { TranscriptEntry } from './transcripts.js';
export type { ToolCallsHook } from './tool-calls.js';
export type { ConductorDeps, ConductorEvents } from './conductor-types.js';
export { DEFAULT_CONDUCTOR_OPTIONS, type ConductorOptions, type TurnDetection } from './conductor-options.js';

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
  readonly #playback: Playback;
  readonly #answer: AnswerSide;
  #micOpen = false;
  /** The 'ready' earcon sounds once, at the first verified session. */
  #greeted = false;
  /** Hands-free: the button toggled the mic off. */
  #muted = false;
  readonly #transcripts = new Transcripts();
  #unsubscribe: Array<() => void> = [];
  /** Confirmations and alarms that take the button for a while (confirmation.ts, alarm.ts). */
  readonly #claims = new Set<PressClaim>();

  constructor(deps: ConductorDeps, options: Partial<ConductorOptions> = {}) {
    super();
    this.#d = deps;
    this.#opts = { ...DEFAULT_CONDUCTOR_OPTIONS, ...options };
    this.#log = deps.logger.child('conductor');
    // Monotonic like the button's timestamps (CLOCK_MONOTONIC), so press times can be used as given.
    this.#now = deps.now ?? monotonicMs;
    this.#playback = new Playback(deps.speaker, deps.dacProbeMs);
    this.#answer = new AnswerSide({
      playback: this.#playback,
      logger: this.#log,
      now: this.#now,
      host: {
        session: () => this.#d.session,
        answerTurn: () => this.#turnForAnswer(),
        end: (turn, outcome, reason, error) => (error ? this.#fail(turn, outcome, reason ?? outcome) : this.#finish(turn, outcome, reason)),
        changed: (reason) => this.#update(reason),
        noAnswerWhy: (ms) =>
          this.#linkReady
            ? `no answer from the server within ${ms} ms`
            : `the connection was not restored within ${ms} ms${this.#lastLinkError ? ` (${this.#lastLinkError.message})` : ''}`,
      },
    });
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
    this.#listen(speaker, 'drained', () => this.#answer.drained(this.#turn));
    this.#listen(speaker, 'error', (err) => this.#onDeviceError('speaker', err));
    this.#listen(session, 'state', (s, detail) => this.#onSessionState(s, detail));
    this.#listen(session, 'verified', () => this.#onVerified());
    this.#listen(session, 'audio', (a) => this.#onAudio(a));
    this.#listen(session, 'transcript', (t) => this.#onTranscript(t));
    this.#listen(session, 'responseStarted', (r) => this.#answer.started(r.responseId));
    this.#listen(session, 'responseDone', (r) => this.#toolRound(r) || this.#answer.done(this.#turn, r));
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
    if (this.#turn?.open) this.#finish(this.#turn, 'dropped', reason);
    if (this.#micOpen) this.#closeMic();
    this.#answer.stop();
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

  // ---- confirmations, alarms, announcements, home commands (confirmation.ts, alarm.ts, home-wiring.ts) ----

  /** While `claim` takes an event, the button does nothing else; returns the release of the claim. */
  claimPresses(claim: PressClaim): () => void {
    this.#claims.add(claim);
    return () => void this.#claims.delete(claim);
  }

  /** Plays a cue; `always` for an alarm, which rings even with earcons off. */
  sound(name: EarconName, always = false): void {
    if (always) this.#playback.earcon(this.#d.earcon(name));
    else this.#earcon(name);
  }

  /** Nobody is talking and no answer is awaited or playing: an announcement may start now. */
  get quiet(): boolean {
    return !this.#turn?.open && !this.#playback.answerPending;
  }

  /** A turn not from the mic (announcer.ts): `send` puts it on the verified session; played, cut by a press, logged. */
  textTurn(mode: 'say' | 'ask', send: () => boolean, question?: { itemId: string; text: string }): boolean {
    if (!this.#started || !this.quiet || !this.#linkReady || !send()) return false;
    const turn = new Turn(++this.#turnSeq, mode, this.#now(), false);
    this.#turn = turn;
    turn.asked(this.#now());
    if (question) this.#transcripts.remember(question.itemId, turn.id);
    if (question) this.emit('transcript', { time: new Date().toISOString(), turn: turn.id, role: 'user', ...question });
    this.#answer.expect(turn, this.#opts.answerTimeoutMs);
    this.#update(mode);
    return true;
  }

  /** Cuts the answer awaited or playing (the stop command); false when there was none. */
  stopAnswer(reason: string): boolean {
    const cut = this.#cutAnswer(reason);
    this.#update(reason);
    return cut;
  }

  /** Mutes the microphone (nothing of it is sent) or unmutes it; hands-free, as the button toggles it. */
  setMuted(on: boolean): void {
    if (this.#muted === on) return;
    if (this.handsFree) return this.#onPress({ at: this.#now() });
    this.#muted = on;
    this.#log.info(on ? 'microphone muted' : 'microphone unmuted');
    if (on && this.#turn?.phase === 'recording') this.#abandon(this.#turn, 'cancelled', 'microphone muted');
    this.#update(on ? 'muted' : 'unmuted');
  }

  /** The talk command's press (true) and release, as the button would give them (talk.ts decides when). */
  pressed(down: boolean): void {
    if (down) this.#onPress({ at: this.#now() });
    else this.#onRelease({ at: this.#now() });
  }

  #claimed(kind: keyof PressClaim): boolean {
    return [...this.#claims].some((claim) => claim[kind]());
  }

  // ---- button ----

  #onPress({ at }: ButtonEvents['press'][0]): void {
    if (this.#claimed('press')) return;
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
    this.#d.session.clearInput();
    const preRoll = this.#openMic();
    if (this.#muted) this.#log.warn('the microphone is muted: this press sends nothing (mute off to talk)');
    else if (preRoll.length > 0) this.#send(preRoll);
    // After the pre-roll: the server hears the press first, the earcon follows within a millisecond.
    this.#earcon('press');
    this.#update(bargeIn ? 'barge-in' : 'press');
  }

  #onRelease({ at, heldMs }: ButtonEvents['release'][0]): void {
    if (this.#claimed('release')) return;
    if (this.handsFree) return;
    const turn = this.#turn;
    if (turn?.phase !== 'recording') return;
    turn.released(this.#stamp(at), heldMs, this.#closeMic());
    const unasked = whyNotAsked(turn, this.#opts);
    if (unasked) {
      if (unasked.outcome === 'silent') this.#earcon('error');
      this.#abandon(turn, unasked.outcome, unasked.reason);
      this.#update(unasked.outcome);
      return;
    }
    const { committed, audioMs } = this.#d.session.commit();
    if (!committed) {
      this.#finish(turn, 'tap', `only ${Math.round(audioMs)} ms of audio: the server needs 100 ms, the input was cleared`);
      this.#update('tap');
      return;
    }
    this.#d.session.createResponse();
    turn.asked(this.#linkReady ? this.#now() : undefined);
    this.#earcon('release');
    this.#answer.expect(turn, this.#opts.answerTimeoutMs);
    this.#update('release');
  }

  #onLongPress(): void {
    if (this.#claimed('longPress')) return;
    const turn = this.#turn;
    // A silent hold after cutting an answer stops here already; otherwise someone is talking at length.
    if (this.handsFree || turn?.phase !== 'recording' || !turn.bargeIn) return;
    if (carriesSpeech(turn, this.#opts)) {
      this.#log.debug('long press while talking: kept as a question', { turn: turn.id, peakDbfs: Math.round(turn.peakDbfs) });
      return;
    }
    turn.closed(this.#closeMic());
    const stopped = onlyStopped(turn, this.#opts);
    if (stopped) this.#abandon(turn, stopped.outcome, `${stopped.reason} (long press)`);
    this.#update('long press');
  }

  // ---- microphone ----

  #openMic(): Buffer {
    this.#micOpen = true;
    return this.#d.mic.open();
  }

  #closeMic(): ReturnType<MicPort['close']> {
    // close() hands over what the capture still holds (up to the release) before it shuts the gate.
    const level = this.#d.mic.close();
    this.#micOpen = false;
    return level;
  }

  #onMicAudio(pcm: Buffer): void {
    if (!this.#micOpen || this.#muted) return;
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
    // The session holds audio until it is verified; the first append is on the wire only then.
    if (this.#linkReady) this.#turn?.appended(this.#now());
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
    } else if (turn.inToolRound) {
      // tool-calls.ts gives the calls and their outputs to the next session, which answers.
      this.#log.warn('connection lost during a tool round: the calls and their outputs go to the next session', { turn: turn.id, detail });
    } else if (turn.phase === 'awaiting-answer' && turn.responseId === undefined) {
      // The old server session acknowledged the commit; a new one knows nothing of this turn.
      this.#fail(turn, 'dropped', `the connection was lost after the turn was sent, before the answer started (${detail})`);
    } else if (turn.phase === 'answering' && !turn.answerDone) {
      this.#answer.lost(turn, detail);
    }
  }

  #onVerified(): void {
    const first = !this.#greeted;
    this.#greeted = true;
    this.#linkReady = true;
    this.#linkProblem = undefined;
    this.#lastLinkError = undefined;
    const turn = this.#turn;
    turn?.linkVerified(this.#now());
    // On-demand, the first verification comes in the middle of a turn: no chime over it.
    if (first && !turn?.open) this.#earcon('ready');
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

  /** The turn an arriving response may answer; hands-free, the server's VAD or the server itself starts one. */
  #turnForAnswer(): Turn | undefined {
    const turn = this.#turn;
    if (!this.handsFree) return turn;
    // The server's VAD ended the turn before we saw the commit.
    if (turn?.phase === 'recording') turn.asked(this.#now());
    if (turn?.open) return turn;
    // The server speaks unprompted (idle timeout): an answer without a question.
    const unprompted = this.#newHandsFreeTurn();
    unprompted.asked(undefined);
    return unprompted;
  }

  #onAudio(audio: SessionAudio): void {
    const turn = this.#answer.audio(audio);
    if (turn) this.#transcripts.remember(audio.itemId, turn.id);
  }

  #onTranscript(t: SessionTranscript): void {
    const entry = this.#transcripts.take(t, this.#turn, this.#answer.heardMs(t.itemId));
    if (entry) this.emit('transcript', entry);
  }

  // ---- hands-free (server VAD) ----

  #newHandsFreeTurn(): Turn {
    const turn = new Turn(++this.#turnSeq, 'hands-free', this.#now(), false);
    this.#turn = turn;
    return turn;
  }

  #onSpeechStarted(): void {
    if (!this.handsFree) return;
    // The server cancels its own response on speech (interrupt_response); we stop playback and tell it what was heard.
    const bargeIn = this.#cutAnswer('barge-in by voice', false);
    const turn = new Turn(++this.#turnSeq, 'hands-free', this.#now(), bargeIn);
    turn.appended(turn.startedAt);
    this.#turn = turn;
    this.#update('speech started');
  }

  #onSpeechStopped(): void {
    if (this.handsFree) this.#turn?.speechStopped(this.#now());
  }

  #onCommitted(itemId: string): void {
    const turn = this.#turn;
    if (turn) this.#transcripts.remember(itemId, turn.id);
    // Manual turns are committed at release; a hands-free one by the server's VAD while recording.
    if (turn && (turn.phase === 'awaiting-answer' || (this.handsFree && turn.phase === 'recording'))) turn.inputAcknowledged();
    if (!this.handsFree || !turn || turn.phase !== 'recording') return;
    turn.serverCommitted(this.#now());
    this.#answer.expect(turn, this.#opts.answerTimeoutMs);
    this.#update('committed');
  }

  // ---- devices ----

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

  /** Stops the answer in progress or being waited for (see AnswerSide.cut); returns whether there was one. */
  #cutAnswer(reason: string, cancel = true): boolean {
    const turn = this.#turn;
    if (!turn?.answerInProgress) return false;
    const cut = this.#answer.cut(turn, reason, cancel);
    this.emit('cut', cut);
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
    if (!turn.open) return;
    this.#d.toolCalls?.endTurn(turn.id);
    this.#answer.turnOver();
    const record = turn.finish(outcome, reason);
    const level = outcome === 'dropped' || outcome === 'failed' || outcome === 'silent' ? 'warn' : 'info';
    this.#log[level]('turn', { ...record, ...(this.#opts.profile ? { profile: this.#opts.profile } : {}) });
    this.emit('turn', record);
  }

  // ---- tools ----

  /** A completed response of the turn asked for tools: the turn stays open for the answer that uses them. */
  #toolRound(r: SessionEvents['responseDone'][0]): boolean {
    const turn = this.#turn;
    const hook = this.#d.toolCalls;
    const asks = (r.functionCalls?.length ?? 0) + (r.approvals?.length ?? 0);
    if (!hook || r.status !== 'completed' || asks === 0 || !turn?.answerInProgress) return false;
    if (r.responseId !== undefined && turn.responseId !== undefined && r.responseId !== turn.responseId) return false;
    turn.toolRound();
    this.#answer.expect(turn, hook.budgetMs() + this.#opts.answerTimeoutMs);
    this.#update('tool calls');
    void hook.run(turn.id, r.functionCalls ?? [], r.approvals).then((result) => {
      turn.calls.push(...result.records);
      if (result.kind === 'limit' && turn.open) this.#fail(turn, 'failed', result.reason);
      else if (result.kind === 'answered' && turn.open) this.#answer.expect(turn, this.#opts.answerTimeoutMs);
    });
    return true;
  }

  // ---- state ----

  #update(reason: string): void {
    if (!this.#started) return;
    const view: StateView = {
      turn: this.#turn,
      answerPending: this.#playback.answerPending,
      linkProblem: this.#linkProblem,
      linkReady: this.#linkReady,
      sessionState: this.#d.session.state,
      handsFree: this.handsFree,
      micOpen: this.#micOpen,
      muted: this.#muted,
    };
    const next = deriveState(view);
    if (next === this.#state) return;
    const from = this.#state;
    this.#state = next;
    this.#log.debug('state', { state: next, from, reason });
    this.#d.led?.setState(next);
    this.#d.status?.status(statusLine(next, view));
    this.emit('state', next, { from, reason });
  }

  /** Plays a cue the daemon made (the profile switched); silent when earcons are off. */
  cue(pcm: Buffer): void {
    if (this.#opts.earcons) this.#playback.earcon(pcm);
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
