/**
 * One Realtime session: apply and verify the device profile, gate microphone audio until it is
 * verified, turn commands, reconnect and rotation. The wire (URL, auth, ping, close) is a
 * `RealtimeTransport`; this module decides what its endings mean and when to connect again.
 *
 * The connection is a discriminated union (`Link`) that ties the socket to its status; every
 * transport handler first checks that its socket is still the current one, so events from a
 * replaced socket are ignored.
 */
import type { Component } from '../core/component.js';
import { PttError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { registerSecret } from '../core/secrets.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { Backoff } from '../core/backoff.js';
import { bytesToMs, msToBytes } from '../core/pcm-format.js';
import { mintForSession, secretFresh, type ClientSecret } from './client-secret.js';
import { realtimeErrors, realtimeRecovery } from './errors.js';
import { handleFrame, type InboundHost } from './inbound.js';
import { IdleTimer } from './idle-timer.js';
import { responseCreateEvent, truncateEvent, type OutOfBandResponse } from './out-of-band.js';
import { DEFAULT_MAX_BUFFERED_BYTES, Outbox, type TurnCommand } from './outbox.js';
import { restoreEvents, type RestoreSource } from './restore.js';
import type { ClientEvent, ConversationItem, GaSessionConfig } from './protocol.js';
import {
  DEFAULT_TIMEOUTS,
  type ApplyResult,
  type CommitResult,
  type RealtimeSessionEvents,
  type RealtimeSessionOptions,
  type RealtimeTimeouts,
  type SessionState,
} from './session-types.js';
import { armRotation, clearTimers, endOutcome, newSock, transportOptions, type Link, type Retry, type Sock } from './socket-state.js';
import { RealtimeTransport, type TransportEnd } from './transport.js';
import { answers, awaitedEvent, judge, onNextConnection, voiceDeferred, withoutVoice, type Verification } from './verification.js';

export * from './session-types.js';

const MIN_COMMIT_MS = 100;
const noopLogger = (): Logger => createLogger({ level: 'error', format: 'json', sink: { write: () => {} } });

export class RealtimeSession extends TypedEmitter<RealtimeSessionEvents> implements Component {
  readonly name = 'realtime';
  readonly #o: RealtimeSessionOptions;
  #t: RealtimeTimeouts;
  readonly #log: Logger;
  #backoff: Backoff;
  readonly #outbox: Outbox;
  #restore: RestoreSource | undefined;
  readonly #inbound: InboundHost;
  readonly #maxQueuedMs: number;
  #profile: GaSessionConfig;
  #link: Link = { status: 'none' };
  #state: SessionState = 'stopped';
  #started = false;
  #attempts = 0;
  #eventSeq = 0;
  #turnBytes = 0;
  #secret: ClientSecret | undefined;
  readonly #idle: IdleTimer;
  /** A rotation or deferred re-apply waiting for the session to be idle. */
  #pendingReconnect: string | undefined;
  /** Inside #lose's events: audio or a command from a listener waits for #lose's own reconnect (with its backoff). */
  #losing = false;

  constructor(options: RealtimeSessionOptions) {
    super();
    this.#o = options;
    this.#t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.#log = (options.logger ?? noopLogger()).child('realtime');
    this.#backoff = new Backoff(options.backoff ?? { minMs: 500, maxMs: 30_000 });
    this.#maxQueuedMs = options.maxQueuedMs ?? 10_000;
    this.#outbox = new Outbox({
      maxQueuedMs: this.#maxQueuedMs,
      chunkBytes: msToBytes(options.appendChunkMs ?? 100),
      maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
      drainCheckMs: 20,
      logger: this.#log,
      onError: (error) => this.emit('error', error),
      onUplink: (report) => this.emit('uplink', report),
    });
    this.#profile = options.session;
    this.#inbound = this.#inboundHost();
    this.#idle = new IdleTimer(
      () => this.#t.idleCloseMs,
      () => this.#idleClose(),
    );
  }

  get state(): SessionState {
    return this.#state;
  }

  /** True while the current socket's session is verified and audio flows straight through. */
  get verified(): boolean {
    return this.#link.status === 'ready';
  }

  /** Milliseconds of audio held by the gate. */
  get queuedMs(): number {
    return this.#outbox.queuedMs;
  }

  /** Starts the session; persistent connects now, on-demand on the first audio. Never waits for the network. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    registerSecret(this.#o.apiKey);
    if (this.#o.connection === 'persistent') this.#connect('start');
    else this.#setState('idle', 'on-demand: connects on the first audio');
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#idle.clear();
    const link = this.#link;
    this.#link = { status: 'none' };
    this.#outbox.detach();
    if (link.status === 'waiting') clearTimeout(link.timer);
    if (link.status === 'verifying') {
      clearTimeout(link.v.timer);
      link.v.settle?.({ ok: false, error: realtimeErrors.stopped('applyProfile') });
    }
    if (link.status === 'connecting' || link.status === 'verifying' || link.status === 'ready') await this.#closeGracefully(link.sock);
    this.#setState('stopped', 'stopped');
  }

  /**
   * New timeouts and reconnect delays, in force from the next timer armed (a wait already running
   * keeps its delay). A new backoff range starts its escalation again.
   */
  setTiming(timing: { timeouts?: Partial<RealtimeTimeouts>; backoff?: { minMs: number; maxMs: number } }): void {
    this.#t = { ...this.#t, ...timing.timeouts };
    if (timing.backoff) this.#backoff = new Backoff(timing.backoff);
  }

  // ---- audio and turn commands -------------------------------------------------------------

  /**
   * Accepts microphone audio at any time. Sent at once when verified; otherwise held (in order)
   * until it is. Returns false, with an `error` event, when the gate is full or not started.
   */
  appendAudio(pcm: Buffer): boolean {
    if (!this.#started) {
      this.emit('error', realtimeErrors.stopped('appendAudio'));
      return false;
    }
    if (pcm.length === 0) return true;
    this.#touch();
    if (!this.#outbox.audio(pcm)) return false;
    this.#turnBytes += pcm.length;
    this.#ensureConnecting();
    return true;
  }

  /** Ends the turn: commits the input buffer, or clears it when it holds under 100 ms. */
  commit(): CommitResult {
    const audioMs = bytesToMs(this.#turnBytes);
    this.#turnBytes = 0;
    if (audioMs < MIN_COMMIT_MS) {
      this.#command('clear');
      return { committed: false, shortTap: true, audioMs };
    }
    this.#command('commit');
    return { committed: true, shortTap: false, audioMs };
  }

  /** Without options: the turn's response.create, after its audio (held until verified). With: out-of-band.ts, verified only. */
  createResponse(options?: OutOfBandResponse): boolean {
    if (!options) {
      this.#command('response');
      return true;
    }
    if (this.#link.status !== 'ready') return false;
    this.#touch();
    this.#link.sock.wire.responseRequested();
    return this.#sendLive(responseCreateEvent(options));
  }

  /** A response is requested or running on the server (a cut one until its response.done): another must wait. */
  get responding(): boolean {
    const link = this.#link;
    return link.status === 'ready' && (link.sock.activeResponse !== undefined || link.sock.responsesRequested > 0);
  }

  /** Drops the current turn's input audio (sent or held). */
  clearInput(): void {
    this.#turnBytes = 0;
    this.#command('clear');
  }

  /** Cancels the response in progress; false when there is no live connection to cancel on. */
  cancelResponse(): boolean {
    return this.#sendLive({ type: 'response.cancel' });
  }

  /** Adds an item (a call's output, a typed question) on a verified link; false otherwise: the caller keeps it for the next one. */
  sendItem(item: ConversationItem): boolean {
    if (!this.#started || this.#link.status !== 'ready') return false;
    this.#touch();
    return this.#sendLive({ type: 'conversation.item.create', item });
  }

  /** Tells the server how much of an assistant item was actually played. */
  truncate(itemId: string, audioEndMs: number): boolean {
    return this.#sendLive(truncateEvent(itemId, audioEndMs));
  }

  /** Connects now if it is not (on-demand: an announcement is coming); verified later, as ever. */
  connect(): void {
    this.#touch();
    this.#ensureConnecting();
  }

  #sendLive(event: ClientEvent): boolean {
    const link = this.#link;
    if (link.status !== 'ready' && link.status !== 'verifying') return false;
    this.#send(link.sock, event);
    return true;
  }

  /**
   * Applies a changed profile. Live (verified session.update) when connected; a voice change after
   * the first audio reply cannot be made live, so it is applied by reconnecting when idle.
   */
  applyProfile(session: GaSessionConfig): Promise<ApplyResult> {
    const previous = this.#profile;
    this.#profile = session;
    // A cached client secret carries the old configuration.
    this.#secret = undefined;
    const link = this.#link;
    if (link.status === 'connecting' || link.status === 'verifying') {
      // A bootstrap under the old profile is in flight: restart it under the new one.
      if (link.status === 'verifying') link.v.settle?.(onNextConnection('superseded by a newer profile'));
      this.#lose(link.sock, undefined, 'now', 'profile changed during bootstrap');
      return Promise.resolve(onNextConnection('profile applied on the new connection'));
    }
    if (link.status === 'minting') {
      // The secret being minted carries the old configuration: drop that request, mint under the new one.
      this.#link = { status: 'none' };
      this.#connect('profile changed while minting a client secret');
      return Promise.resolve(onNextConnection('profile applied on the new connection'));
    }
    if (link.status !== 'ready') {
      return Promise.resolve(onNextConnection('profile applied at the next connection'));
    }
    const sock = link.sock;
    const voiceChanged = JSON.stringify(previous.audio?.output?.voice) !== JSON.stringify(session.audio?.output?.voice);
    const deferVoice = voiceChanged && sock.audioReplied;
    const body = deferVoice ? withoutVoice(session) : session;
    return new Promise<ApplyResult>((resolve) => {
      const settle = (result: ApplyResult): void => {
        if (result.ok && result.mode === 'live' && deferVoice) {
          this.#pendingReconnect = 'apply the new voice';
          resolve(voiceDeferred());
          this.#maybeReconnectWhenIdle();
        } else resolve(result);
      };
      this.#beginVerification(sock, 'apply', body, deferVoice ? ['audio.output.voice'] : [], settle, previous);
      this.#sendUpdate(sock, this.#verification());
    });
  }

  // ---- connection lifecycle ----------------------------------------------------------------

  #ensureConnecting(): void {
    if (this.#link.status === 'none' && this.#started && !this.#losing) this.#connect('audio waiting');
  }

  #connect(reason: string): void {
    if (!this.#started) return;
    this.#attempts += 1;
    // Through a mint server every connection mints: a revoked device token stops it at its next session.
    if (this.#o.bootstrap === 'client-secret' && (this.#o.mintVia !== undefined || !secretFresh(this.#secret, this.#t.secretMarginMs))) {
      const token = Symbol('mint');
      this.#link = { status: 'minting', token };
      this.#setState('connecting', `minting a client secret (${reason})`);
      void mintForSession(this.#o, this.#profile, this.#t.connectMs).then((result) => {
        if (this.#link.status !== 'minting' || this.#link.token !== token) return;
        if (result instanceof PttError) {
          this.#link = { status: 'none' };
          this.#log.warn(result.message, { code: result.code, ...result.context, ...(result.hint ? { hint: result.hint } : {}) });
          this.emit('error', result);
          this.#scheduleReconnect(realtimeRecovery(result)?.retry === 'slow' ? 'slow' : 'backoff', result.message);
          return;
        }
        this.#secret = result;
        this.#openSocket(reason);
      });
      return;
    }
    this.#openSocket(reason);
  }

  #openSocket(reason: string): void {
    const o = this.#o;
    const opened = RealtimeTransport.open(
      transportOptions(o, this.#t, this.#secret, this.#log, () => this.#nextEventId()),
      {
        open: () => this.#isCurrent(sock) && this.#onOpen(sock),
        text: (text) => this.#isCurrent(sock) && handleFrame(this.#inbound, sock, text),
        end: (end) => this.#isCurrent(sock) && this.#onEnd(sock, end),
      },
    );
    if (!(opened instanceof RealtimeTransport)) {
      this.emit('error', realtimeErrors.connectFailed(opened.message, o.url));
      this.#scheduleReconnect('backoff', 'socket creation failed');
      return;
    }
    const sock = newSock(opened, this.#maxQueuedMs);
    this.#link = { status: 'connecting', sock };
    this.#setState('connecting', reason);
    this.#log.info('connecting', { url: o.url, bootstrap: o.bootstrap, attempt: this.#attempts });
  }

  #onEnd(sock: Sock, end: TransportEnd): void {
    // A refused ephemeral key may just be stale: mint a fresh one next time.
    if (end.kind === 'bad-key') this.#secret = undefined;
    const t = this.#t;
    const outcome = endOutcome(end, {
      url: this.#o.url,
      pingMs: t.pingMs,
      connectMs: t.connectMs,
      wasReady: this.#link.status === 'ready',
    });
    this.#lose(sock, outcome.error, outcome.retry, outcome.detail);
  }

  #onOpen(sock: Sock): void {
    this.#log.info('socket open', { bootstrap: this.#o.bootstrap });
    this.#beginVerification(sock, 'bootstrap', this.#profile, [], undefined, undefined);
    // Sent the moment the socket opens, before anything else, so no default-config window exists.
    if (this.#o.bootstrap === 'session-update') this.#sendUpdate(sock, this.#verification());
  }

  #beginVerification(
    sock: Sock,
    purpose: Verification['purpose'],
    wanted: GaSessionConfig,
    ignore: string[],
    settle: Verification['settle'],
    previous: GaSessionConfig | undefined,
  ): void {
    const waitingFor = awaitedEvent(this.#o.bootstrap, purpose);
    const timer = setTimeout(
      () => this.#failVerification(sock, realtimeErrors.verifyTimeout(this.#t.verifyMs, waitingFor)),
      this.#t.verifyMs,
    );
    const v: Verification = { purpose, wanted, ignore, updateEventId: undefined, resent: false, updates: 0, timer, settle, previous };
    // A changed profile is verified on the same socket: audio and commands wait until it is.
    this.#outbox.pause();
    this.#link = { status: 'verifying', sock, v };
    this.#setState('verifying', purpose === 'apply' ? 'applying a changed profile' : `verifying the profile (${this.#o.bootstrap})`);
  }

  #verification(): Verification | undefined {
    return this.#link.status === 'verifying' ? this.#link.v : undefined;
  }

  #sendUpdate(sock: Sock, v: Verification | undefined): void {
    if (!v) return;
    const eventId = this.#nextEventId();
    v.updateEventId = eventId;
    v.updates += 1;
    sock.updatesSent += 1;
    this.#send(sock, { type: 'session.update', session: v.wanted, event_id: eventId });
  }

  #evaluate(sock: Sock, v: Verification, session: Record<string, unknown>): void {
    const verdict = judge(v, session);
    if (verdict.verdict === 'verified') return this.#verified(sock, v);
    this.#log.warn('session differs from the profile', { fields: verdict.fields, resent: v.resent });
    if (verdict.verdict === 'failed') return this.#failVerification(sock, verdict.error);
    v.resent = true;
    this.#sendUpdate(sock, v);
  }

  #failVerification(sock: Sock, error: PttError): void {
    if (!this.#isCurrent(sock) || this.#link.status !== 'verifying') return;
    const v = this.#link.v;
    clearTimeout(v.timer);
    if (v.purpose === 'apply') {
      // Keep the profile that worked: reconnect under it rather than leave a half-applied session.
      if (v.previous) this.#profile = v.previous;
      v.settle?.({ ok: false, error });
      v.settle = undefined;
      this.#lose(sock, error, 'now');
      return;
    }
    this.#lose(sock, error, 'backoff');
  }

  #verified(sock: Sock, v: Verification): void {
    clearTimeout(v.timer);
    this.#link = { status: 'ready', sock };
    const ms = Math.round(performance.now() - sock.openedAt);
    this.#backoff.reset();
    const attempts = this.#attempts;
    this.#attempts = 0;
    this.#setState('ready', v.purpose === 'apply' ? 'changed profile verified' : 'profile verified');
    if (v.purpose === 'bootstrap') {
      // A new server session knows nothing yet: the recent conversation goes first, before any audio.
      const restored = restoreEvents(this.#restore?.() ?? []);
      for (const event of restored) this.#send(sock, event);
      if (restored.length) this.#log.info('conversation restored', { items: restored.length });
      this.#log.info('profile verified', { sessionId: sock.sessionId, updatesSent: sock.updatesSent, ms });
      this.emit('verified', { sessionId: sock.sessionId, bootstrap: this.#o.bootstrap, attempts, updatesSent: sock.updatesSent, ms });
      armRotation(sock, this.#t.rotateBeforeMs, () => {
        if (!this.#isCurrent(sock)) return;
        this.#pendingReconnect = 'rotate before the session expires';
        this.#maybeReconnectWhenIdle();
      });
      // A fresh session already carries the current profile and a new expiry.
      this.#pendingReconnect = undefined;
    }
    v.settle?.({ ok: true, mode: 'live', deferred: [], message: 'applied live and verified' });
    this.#outbox.attach(sock.wire);
    this.#maybeReconnectWhenIdle();
    this.#touch();
  }

  #command(name: TurnCommand): void {
    if (!this.#started) {
      this.emit('error', realtimeErrors.stopped(name));
      return;
    }
    this.#touch();
    this.#outbox.command(name);
    if (this.#link.status !== 'ready') this.#ensureConnecting();
  }

  /** Items sent into every new session right after it is verified (see restore.ts). */
  setRestore(source: RestoreSource | undefined): void {
    this.#restore = source;
  }

  #send(sock: Sock, event: ClientEvent): void {
    sock.transport.send(event);
  }

  #nextEventId(): string {
    this.#eventSeq += 1;
    return `ptt_${this.#eventSeq}`;
  }

  /**
   * The one place a socket ends: stops its timers, closes it, puts the uncommitted turn back in
   * the gate, reports why, and decides when to connect again.
   */
  #lose(sock: Sock, error: PttError | undefined, retry: Retry, detail?: string): void {
    if (!this.#isCurrent(sock)) return;
    const link = this.#link;
    if (link.status === 'verifying') {
      clearTimeout(link.v.timer);
      link.v.settle?.(onNextConnection('the connection was replaced; the profile is applied on the new one'));
    }
    this.#link = { status: 'none' };
    this.#losing = true;
    clearTimers(sock);
    this.#idle.clear();
    sock.transport.terminate();
    // The server never acknowledged this turn: send it again, with its commands, on the next socket.
    this.#outbox.detach(sock.ledger.takeAll());
    if (sock.activeResponse) {
      // Nobody will send response.done for it now; the conductor must not wait forever.
      this.emit('responseDone', { responseId: sock.activeResponse, status: 'disconnected', usage: null });
      sock.activeResponse = undefined;
    }
    if (error) {
      this.#log.warn(error.message, { code: error.code, retry, ...error.context });
      this.emit('error', error);
    }
    this.#losing = false;
    // A listener that restarted the session has a connection already: never orphan its socket.
    if (!this.#started || this.#link.status !== 'none') return;
    if (this.#o.connection === 'on-demand' && this.#outbox.waiting === 0 && this.#turnBytes === 0) {
      this.#setState('idle', detail ?? error?.message ?? 'closed');
      return;
    }
    this.#scheduleReconnect(retry, detail ?? error?.message ?? 'reconnecting');
  }

  #scheduleReconnect(retry: Retry, detail: string): void {
    if (!this.#started) return;
    if (retry === 'now') {
      this.#connect(detail);
      return;
    }
    const delay = retry === 'slow' ? this.#t.slowRetryMs : this.#backoff.next();
    const timer = setTimeout(() => {
      if (this.#link.status === 'waiting' && this.#link.timer === timer) {
        this.#link = { status: 'none' };
        this.#connect(`retry after ${delay} ms`);
      }
    }, delay);
    this.#link = { status: 'waiting', timer };
    this.#setState('waiting', `${detail} (next attempt in ${delay} ms)`);
  }

  #busy(sock: Sock): boolean {
    // A response.create on the wire counts too: closing before response.created would lose the answer.
    return sock.activeResponse !== undefined || sock.responsesRequested > 0 || this.#turnBytes > 0 || this.#outbox.waiting > 0;
  }

  /** Runs a pending rotation or deferred re-apply once nothing is in flight. */
  #maybeReconnectWhenIdle(): void {
    const link = this.#link;
    if (!this.#pendingReconnect || link.status !== 'ready' || this.#busy(link.sock)) return;
    const reason = this.#pendingReconnect;
    this.#pendingReconnect = undefined;
    this.#log.info('reconnecting while idle', { reason });
    this.#dropQuietly(link.sock);
    if (this.#o.connection === 'on-demand') this.#setState('idle', reason);
    else this.#connect(reason);
  }

  #touch(): void {
    if (this.#o.connection === 'on-demand') this.#idle.touch();
  }

  #idleClose(): void {
    const link = this.#link;
    if (link.status !== 'ready') return;
    if (this.#busy(link.sock)) {
      this.#touch();
      return;
    }
    this.#dropQuietly(link.sock);
    this.#setState('idle', `closed after ${this.#t.idleCloseMs} ms idle`);
  }

  /** Lets an idle socket go (nothing in flight): no replay, no error. */
  #dropQuietly(sock: Sock): void {
    this.#link = { status: 'none' };
    this.#outbox.detach();
    void this.#closeGracefully(sock);
  }

  #closeGracefully(sock: Sock): Promise<void> {
    clearTimers(sock);
    return sock.transport.close();
  }

  #isCurrent(sock: Sock): boolean {
    const link = this.#link;
    return (link.status === 'connecting' || link.status === 'verifying' || link.status === 'ready') && link.sock === sock;
  }

  #setState(state: SessionState, detail: string): void {
    const changed = state !== this.#state;
    this.#state = state;
    if (changed) this.#log.debug('state', { state, detail });
    this.emit('state', state, detail);
  }

  // ---- inbound events ----------------------------------------------------------------------

  /** What inbound events hand back to the session. */
  #inboundHost(): InboundHost {
    return {
      emit: (event, ...args) => this.emit(event, ...args),
      log: this.#log,
      onSessionEvent: (sock, kind, session) => {
        const v = this.#verification();
        if (v && answers(v, kind, this.#o.bootstrap)) this.#evaluate(sock, v, session);
      },
      rejectsUpdate: (sock, err) => {
        const v = this.#verification();
        if (!v || err.eventId === undefined || err.eventId !== v.updateEventId) return false;
        this.#failVerification(sock, realtimeErrors.rejected(err.message, err.param, err.eventId, err.code));
        return true;
      },
      maybeIdle: () => this.#maybeReconnectWhenIdle(),
      onResponseDone: () => {
        this.#touch();
        this.#maybeReconnectWhenIdle();
      },
    };
  }
}
