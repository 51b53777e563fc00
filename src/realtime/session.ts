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
import { mintClientSecret, type ClientSecret, type Provider } from './client-secret.js';
import { realtimeErrors } from './errors.js';
import { AudioGate, Chunker, type GateItem } from './gate.js';
import { bytesToMs, msToBytes } from '../core/pcm-format.js';
import {
  parseServerFrame,
  type ClientEvent,
  type GaSessionConfig,
  type RateLimit,
  type ResponseUsage,
  type ServerEvent,
} from './protocol.js';
import { RealtimeTransport, type TransportEnd, type WebSocketFactory } from './transport.js';
import { diffSession } from './verify.js';

export type SessionState = 'stopped' | 'idle' | 'connecting' | 'verifying' | 'ready' | 'waiting';
export type Bootstrap = 'session-update' | 'client-secret';

export interface RealtimeTimeouts {
  /** WebSocket handshake (and client-secret request) deadline. */
  connectMs: number;
  /** Open to verified: waiting for session.created / session.updated. */
  verifyMs: number;
  /** on-demand: close the socket after this long without audio, commands or a response. */
  idleCloseMs: number;
  /** Ping interval; a ping unanswered by the next one means a dead peer. 0 turns it off. */
  pingMs: number;
  /** Retry delay after the key was refused (401/403) or the beta shape refused (4000). */
  slowRetryMs: number;
  /** Reconnect this long before the session's expires_at, when idle. */
  rotateBeforeMs: number;
  /** Mint a new client secret when the cached one expires within this. */
  secretMarginMs: number;
  /** Graceful close deadline before the socket is destroyed. */
  closeMs: number;
}

export const DEFAULT_TIMEOUTS: RealtimeTimeouts = {
  connectMs: 10_000,
  verifyMs: 10_000,
  idleCloseMs: 60_000,
  pingMs: 15_000,
  slowRetryMs: 60_000,
  rotateBeforeMs: 120_000,
  secretMarginMs: 30_000,
  closeMs: 2_000,
};

export interface RealtimeSessionOptions {
  /** WebSocket endpoint, e.g. `wss://api.openai.com/v1/realtime`. */
  url: string;
  model: string;
  provider: Provider;
  apiKey: string;
  bootstrap: Bootstrap;
  connection: 'persistent' | 'on-demand';
  /** The GA session object the profile produces; taken as given. */
  session: GaSessionConfig;
  timeouts?: Partial<RealtimeTimeouts>;
  backoff?: { minMs: number; maxMs: number };
  /** How much audio the gate holds while the session is not verified. */
  maxQueuedMs?: number;
  /** Size of each `input_audio_buffer.append` frame. */
  appendChunkMs?: number;
  logger?: Logger;
  webSocketFactory?: WebSocketFactory;
  fetchImpl?: typeof fetch;
}

export interface VerifiedInfo {
  sessionId: string | undefined;
  bootstrap: Bootstrap;
  /** Connection attempts it took (1 = first try). */
  attempts: number;
  /** session.update frames sent on this connection (0 for a matching client secret). */
  updatesSent: number;
  /** Socket creation to verified. */
  ms: number;
}

export interface AudioChunk {
  itemId: string;
  responseId: string;
  contentIndex: number;
  pcm: Buffer;
  /** Position of this chunk within the item's audio. */
  offsetMs: number;
}

export interface Transcript {
  role: 'user' | 'assistant';
  itemId: string;
  text: string;
  /** false: a delta to append; true: the whole final text. */
  final: boolean;
}

export interface CommitResult {
  committed: boolean;
  /** Under 100 ms: the buffer was cleared instead (the server refuses such a commit). */
  shortTap: boolean;
  audioMs: number;
}

export type ApplyResult =
  | { ok: true; mode: 'live' | 'next-connection'; deferred: string[]; message: string }
  | { ok: true; mode: 'reconnect-when-idle'; deferred: string[]; message: string }
  | { ok: false; error: PttError };

export type RealtimeSessionEvents = {
  state: [state: SessionState, detail: string];
  verified: [info: VerifiedInfo];
  audio: [chunk: AudioChunk];
  transcript: [transcript: Transcript];
  responseStarted: [info: { responseId: string }];
  responseDone: [info: { responseId: string; status: string; usage: ResponseUsage | null }];
  inputCommitted: [info: { itemId: string; audioMs: number }];
  speechStarted: [info: { itemId: string; audioStartMs: number }];
  speechStopped: [info: { itemId: string; audioEndMs: number }];
  rateLimits: [limits: RateLimit[]];
  error: [error: PttError];
};

/** Everything tied to one socket; dropped with it. */
interface Sock {
  transport: RealtimeTransport;
  openedAt: number;
  sessionId: string | undefined;
  expiresAtMs: number | undefined;
  createdSession: Record<string, unknown> | undefined;
  /** Voice is fixed once the model has answered with audio on this session. */
  audioReplied: boolean;
  activeResponse: string | undefined;
  /** response.create frames sent and not yet answered by response.created (or an error). */
  responsesRequested: number;
  /**
   * What the server has not acknowledged: audio since the last acknowledged commit (or clear), the
   * commits not yet answered by input_audio_buffer.committed and the response.create after them.
   * Replayed, in order, on a new socket if this one dies.
   */
  turnSent: GateItem[];
  /** Audio on the server's buffer, for `inputCommitted.audioMs`. */
  wireUncommittedBytes: number;
  itemBytes: Map<string, number>;
  updatesSent: number;
  /** The rotation timer; the transport keeps its own. */
  timers: NodeJS.Timeout[];
}

interface Verification {
  purpose: 'bootstrap' | 'apply';
  wanted: GaSessionConfig;
  /** Fields left out of the check (voice deferred to a reconnect). */
  ignore: string[];
  updateEventId: string | undefined;
  resent: boolean;
  /** session.update frames sent for this verification (the message counts these, not the socket's). */
  updates: number;
  timer: NodeJS.Timeout;
  settle: ((result: ApplyResult) => void) | undefined;
  previous: GaSessionConfig | undefined;
}

type Link =
  | { status: 'none' }
  | { status: 'waiting'; timer: NodeJS.Timeout }
  | { status: 'minting'; token: symbol }
  | { status: 'connecting'; sock: Sock }
  | { status: 'verifying'; sock: Sock; v: Verification }
  | { status: 'ready'; sock: Sock };

type Retry = 'now' | 'backoff' | 'slow';

const MIN_COMMIT_MS = 100;
const noopLogger = (): Logger => createLogger({ level: 'error', format: 'json', sink: { write: () => {} } });

export class RealtimeSession extends TypedEmitter<RealtimeSessionEvents> implements Component {
  readonly name = 'realtime';
  readonly #o: RealtimeSessionOptions;
  #t: RealtimeTimeouts;
  readonly #log: Logger;
  #backoff: Backoff;
  readonly #gate: AudioGate;
  readonly #chunker: Chunker;
  readonly #maxQueuedMs: number;
  #profile: GaSessionConfig;
  #link: Link = { status: 'none' };
  #state: SessionState = 'stopped';
  #started = false;
  #attempts = 0;
  #eventSeq = 0;
  #turnBytes = 0;
  #secret: ClientSecret | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  /** A rotation or deferred re-apply waiting for the session to be idle. */
  #pendingReconnect: string | undefined;
  #overflowing = false;
  /** Inside #lose's events: audio or a command from a listener waits for #lose's own reconnect (with its backoff). */
  #losing = false;

  constructor(options: RealtimeSessionOptions) {
    super();
    this.#o = options;
    this.#t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.#log = (options.logger ?? noopLogger()).child('realtime');
    this.#backoff = new Backoff(options.backoff ?? { minMs: 500, maxMs: 30_000 });
    this.#maxQueuedMs = options.maxQueuedMs ?? 10_000;
    this.#gate = new AudioGate(this.#maxQueuedMs);
    this.#chunker = new Chunker(msToBytes(options.appendChunkMs ?? 100));
    this.#profile = options.session;
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
    return this.#gate.queuedMs;
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
    this.#clearIdle();
    const link = this.#link;
    this.#link = { status: 'none' };
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
    const link = this.#link;
    if (link.status === 'ready' && this.#gate.length === 0) {
      // Accepted audio ends an overflow episode, so the next one is reported again.
      this.#overflowing = false;
      this.#turnBytes += pcm.length;
      for (const chunk of this.#chunker.split(pcm)) this.#sendAppend(link.sock, chunk);
      return true;
    }
    if (!this.#gate.pushAudio(pcm)) {
      // One error per overflow episode: a stream of refusals would flood the journal.
      if (!this.#overflowing) this.emit('error', realtimeErrors.gateOverflow(this.#maxQueuedMs, bytesToMs(pcm.length)));
      this.#overflowing = true;
      return false;
    }
    this.#overflowing = false;
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

  createResponse(): void {
    this.#command('response');
  }

  /** Drops the current turn's input audio (sent or held). */
  clearInput(): void {
    this.#turnBytes = 0;
    this.#command('clear');
  }

  /** Cancels the response in progress; false when there is no live connection to cancel on. */
  cancelResponse(): boolean {
    const link = this.#link;
    if (link.status !== 'ready' && link.status !== 'verifying') return false;
    this.#send(link.sock, { type: 'response.cancel' });
    return true;
  }

  /** Tells the server how much of an assistant item was actually played. */
  truncate(itemId: string, audioEndMs: number): boolean {
    const link = this.#link;
    if (link.status !== 'ready' && link.status !== 'verifying') return false;
    this.#send(link.sock, {
      type: 'conversation.item.truncate',
      item_id: itemId,
      content_index: 0,
      audio_end_ms: Math.max(0, Math.round(audioEndMs)),
    });
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
      if (link.status === 'verifying')
        link.v.settle?.({ ok: true, mode: 'next-connection', deferred: [], message: 'superseded by a newer profile' });
      this.#lose(link.sock, undefined, 'now', 'profile changed during bootstrap');
      return Promise.resolve({ ok: true, mode: 'next-connection', deferred: [], message: 'profile applied on the new connection' });
    }
    if (link.status === 'minting') {
      // The secret being minted carries the old configuration: drop that request, mint under the new one.
      this.#link = { status: 'none' };
      this.#connect('profile changed while minting a client secret');
      return Promise.resolve({ ok: true, mode: 'next-connection', deferred: [], message: 'profile applied on the new connection' });
    }
    if (link.status !== 'ready') {
      return Promise.resolve({ ok: true, mode: 'next-connection', deferred: [], message: 'profile applied at the next connection' });
    }
    const sock = link.sock;
    const voiceChanged = JSON.stringify(previous.audio?.output?.voice) !== JSON.stringify(session.audio?.output?.voice);
    const deferVoice = voiceChanged && sock.audioReplied;
    const body = deferVoice ? withoutVoice(session) : session;
    return new Promise<ApplyResult>((resolve) => {
      const settle = (result: ApplyResult): void => {
        if (result.ok && result.mode === 'live' && deferVoice) {
          this.#pendingReconnect = 'apply the new voice';
          resolve({
            ok: true,
            mode: 'reconnect-when-idle',
            deferred: ['audio.output.voice'],
            message:
              'applied live except audio.output.voice, which the server fixes after the first audio reply: it is applied by reconnecting when idle',
          });
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
    if (this.#o.bootstrap === 'client-secret' && !this.#secretFresh()) {
      const token = Symbol('mint');
      this.#link = { status: 'minting', token };
      this.#setState('connecting', `minting a client secret (${reason})`);
      void mintClientSecret({
        wsUrl: this.#o.url,
        provider: this.#o.provider,
        apiKey: this.#o.apiKey,
        session: this.#profile,
        timeoutMs: this.#t.connectMs,
        ...(this.#o.fetchImpl ? { fetchImpl: this.#o.fetchImpl } : {}),
      }).then((result) => {
        if (this.#link.status !== 'minting' || this.#link.token !== token) return;
        if (result instanceof PttError) {
          this.#link = { status: 'none' };
          this.emit('error', result);
          this.#scheduleReconnect(result.code === 'REALTIME_BAD_KEY' ? 'slow' : 'backoff', result.message);
          return;
        }
        this.#secret = result;
        this.#openSocket(reason);
      });
      return;
    }
    this.#openSocket(reason);
  }

  #secretFresh(): boolean {
    return this.#secret !== undefined && this.#secret.expiresAtMs - Date.now() > this.#t.secretMarginMs;
  }

  #openSocket(reason: string): void {
    const o = this.#o;
    const opened = RealtimeTransport.open(
      {
        url: o.url,
        model: o.model,
        auth:
          o.bootstrap === 'client-secret'
            ? { kind: 'client-secret', secret: this.#secret!.value }
            : { kind: 'api-key', provider: o.provider, apiKey: o.apiKey },
        connectMs: this.#t.connectMs,
        pingMs: this.#t.pingMs,
        closeMs: this.#t.closeMs,
        logger: this.#log,
        ...(o.webSocketFactory ? { webSocketFactory: o.webSocketFactory } : {}),
        nextEventId: () => this.#nextEventId(),
      },
      {
        open: () => this.#isCurrent(sock) && this.#onOpen(sock),
        text: (text) => this.#isCurrent(sock) && this.#onFrame(sock, text),
        end: (end) => this.#isCurrent(sock) && this.#onEnd(sock, end),
      },
    );
    if (!(opened instanceof RealtimeTransport)) {
      this.emit('error', realtimeErrors.connectFailed(opened.message, o.url));
      this.#scheduleReconnect('backoff', 'socket creation failed');
      return;
    }
    const sock: Sock = {
      transport: opened,
      openedAt: performance.now(),
      sessionId: undefined,
      expiresAtMs: undefined,
      createdSession: undefined,
      audioReplied: false,
      activeResponse: undefined,
      responsesRequested: 0,
      turnSent: [],
      wireUncommittedBytes: 0,
      itemBytes: new Map(),
      updatesSent: 0,
      timers: [],
    };
    this.#link = { status: 'connecting', sock };
    this.#setState('connecting', reason);
    this.#log.info('connecting', { url: o.url, bootstrap: o.bootstrap, attempt: this.#attempts });
  }

  /** Maps how a socket ended to the error a person sees and when to try again. */
  #onEnd(sock: Sock, end: TransportEnd): void {
    const url = this.#o.url;
    switch (end.kind) {
      case 'bad-key':
        // A refused ephemeral key may just be stale: mint a fresh one next time.
        this.#secret = undefined;
        this.#lose(sock, realtimeErrors.badKey(end.status, url), 'slow');
        return;
      case 'handshake':
        this.#lose(sock, realtimeErrors.handshake(end.status, url), 'backoff');
        return;
      case 'server-ended':
        // The 60-minute cap ends a working session: come back at once. A socket closed before it was
        // ever verified takes the backoff, so a server closing every session cannot make a hot loop.
        this.#lose(
          sock,
          undefined,
          this.#link.status === 'ready' ? 'now' : 'backoff',
          `server closed the session (1001${end.reason ? `: ${end.reason}` : ''})`,
        );
        return;
      case 'beta-refused':
        this.#lose(sock, realtimeErrors.betaRefused(end.reason), 'slow');
        return;
      case 'connect-failed':
        this.#lose(sock, realtimeErrors.connectFailed(end.message, url), 'backoff');
        return;
      case 'closed':
        this.#lose(sock, realtimeErrors.closed(end.code, end.reason), 'backoff');
        return;
      case 'dead-peer':
        this.#lose(sock, realtimeErrors.deadPeer(this.#t.pingMs), 'backoff');
        return;
      case 'connect-timeout':
        this.#lose(sock, realtimeErrors.connectTimeout(this.#t.connectMs, url), 'backoff');
        return;
    }
  }

  #onOpen(sock: Sock): void {
    this.#log.info('socket open', { bootstrap: this.#o.bootstrap });
    if (this.#o.bootstrap === 'session-update') {
      // Sent the moment the socket opens, before anything else, so no default-config window exists.
      this.#beginVerification(sock, 'bootstrap', this.#profile, [], undefined, undefined);
      this.#sendUpdate(sock, this.#verification());
    } else {
      this.#beginVerification(sock, 'bootstrap', this.#profile, [], undefined, undefined);
    }
  }

  #beginVerification(
    sock: Sock,
    purpose: Verification['purpose'],
    wanted: GaSessionConfig,
    ignore: string[],
    settle: Verification['settle'],
    previous: GaSessionConfig | undefined,
  ): void {
    const waitingFor = this.#o.bootstrap === 'client-secret' && purpose === 'bootstrap' ? 'session.created' : 'session.updated';
    const timer = setTimeout(
      () => this.#failVerification(sock, realtimeErrors.verifyTimeout(this.#t.verifyMs, waitingFor)),
      this.#t.verifyMs,
    );
    const v: Verification = { purpose, wanted, ignore, updateEventId: undefined, resent: false, updates: 0, timer, settle, previous };
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

  /** Checks an effective session against the profile: verified, re-send once, or fail. */
  #evaluate(sock: Sock, v: Verification, session: Record<string, unknown>): void {
    const mismatches = diffSession(v.wanted, session, v.ignore);
    if (mismatches.length === 0) {
      this.#verified(sock, v);
      return;
    }
    this.#log.warn('session differs from the profile', { fields: mismatches.map((m) => m.field), resent: v.resent });
    if (!v.resent) {
      v.resent = true;
      this.#sendUpdate(sock, v);
      return;
    }
    this.#failVerification(sock, realtimeErrors.mismatch(mismatches, v.updates));
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
      this.#log.info('profile verified', { sessionId: sock.sessionId, updatesSent: sock.updatesSent, ms });
      this.emit('verified', { sessionId: sock.sessionId, bootstrap: this.#o.bootstrap, attempts, updatesSent: sock.updatesSent, ms });
      this.#scheduleRotation(sock);
      // A fresh session already carries the current profile and a new expiry.
      this.#pendingReconnect = undefined;
    }
    v.settle?.({ ok: true, mode: 'live', deferred: [], message: 'applied live and verified' });
    this.#flush(sock);
    this.#touch();
  }

  /** Releases the gate in order: queued audio coalesced into full chunks, commands in place. */
  #flush(sock: Sock): void {
    let pending: Buffer[] = [];
    const sendPending = (): void => {
      for (const chunk of this.#chunker.coalesce(pending)) this.#sendAppend(sock, chunk);
      pending = [];
    };
    for (const item of this.#gate.drain()) {
      if (item.kind === 'audio') pending.push(item.pcm);
      else {
        sendPending();
        this.#sendCommand(sock, item.name);
      }
    }
    sendPending();
    this.#maybeReconnectWhenIdle();
  }

  #command(name: Extract<GateItem, { kind: 'command' }>['name']): void {
    if (!this.#started) {
      this.emit('error', realtimeErrors.stopped(name));
      return;
    }
    this.#touch();
    const link = this.#link;
    if (link.status === 'ready' && this.#gate.length === 0) this.#sendCommand(link.sock, name);
    else {
      this.#gate.pushCommand(name);
      this.#ensureConnecting();
    }
  }

  #sendCommand(sock: Sock, name: 'commit' | 'clear' | 'response'): void {
    if (name === 'response') {
      sock.responsesRequested += 1;
      // The answer to a commit not yet acknowledged: asked for again if that commit is replayed.
      if (sock.turnSent.some((i) => i.kind === 'command')) sock.turnSent.push({ kind: 'command', name: 'response' });
      this.#send(sock, { type: 'response.create' });
      return;
    }
    this.#chunker.reset();
    if (name === 'commit') sock.turnSent.push({ kind: 'command', name: 'commit' });
    else {
      // The clear drops the audio after the last command; an unacknowledged commit stays.
      let last = sock.turnSent.length - 1;
      while (last >= 0 && sock.turnSent[last]!.kind === 'audio') last -= 1;
      sock.turnSent = sock.turnSent.slice(0, last + 1);
      sock.wireUncommittedBytes = 0;
    }
    this.#send(sock, { type: name === 'commit' ? 'input_audio_buffer.commit' : 'input_audio_buffer.clear' });
  }

  #sendAppend(sock: Sock, chunk: Buffer): void {
    sock.turnSent.push({ kind: 'audio', pcm: chunk });
    sock.wireUncommittedBytes += chunk.length;
    this.#send(sock, { type: 'input_audio_buffer.append', audio: chunk.toString('base64') });
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
      link.v.settle?.({
        ok: true,
        mode: 'next-connection',
        deferred: [],
        message: 'the connection was replaced; the profile is applied on the new one',
      });
    }
    this.#link = { status: 'none' };
    this.#losing = true;
    clearTimers(sock);
    this.#clearIdle();
    sock.transport.terminate();
    if (sock.turnSent.length > 0) {
      // The server never acknowledged this turn: send it again, with its commands, on the next socket.
      const refusedMs = this.#gate.requeueFront(sock.turnSent);
      if (refusedMs > 0) this.emit('error', realtimeErrors.gateOverflow(this.#maxQueuedMs, refusedMs));
      sock.turnSent = [];
    }
    this.#chunker.reset();
    if (sock.activeResponse) {
      // Nobody will send response.done for it now; the conductor must not wait forever.
      this.emit('responseDone', { responseId: sock.activeResponse, status: 'disconnected', usage: null });
      sock.activeResponse = undefined;
    }
    if (error) {
      this.#log.warn(error.message, { code: error.code, ...error.context });
      this.emit('error', error);
    }
    this.#losing = false;
    // A listener that restarted the session has a connection already: never orphan its socket.
    if (!this.#started || this.#link.status !== 'none') return;
    if (this.#o.connection === 'on-demand' && this.#gate.length === 0 && this.#turnBytes === 0) {
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

  #scheduleRotation(sock: Sock): void {
    if (sock.expiresAtMs === undefined) return;
    // Capped so a far expiry does not overflow setTimeout's 32-bit delay.
    const delay = Math.min(2 ** 31 - 1, Math.max(0, sock.expiresAtMs - Date.now() - this.#t.rotateBeforeMs));
    sock.timers.push(
      setTimeout(() => {
        if (!this.#isCurrent(sock)) return;
        this.#pendingReconnect = 'rotate before the session expires';
        this.#maybeReconnectWhenIdle();
      }, delay),
    );
  }

  #busy(sock: Sock): boolean {
    // A response.create on the wire counts too: closing before response.created would lose the answer.
    return sock.activeResponse !== undefined || sock.responsesRequested > 0 || this.#turnBytes > 0 || this.#gate.length > 0;
  }

  /** Runs a pending rotation or deferred re-apply once nothing is in flight. */
  #maybeReconnectWhenIdle(): void {
    const link = this.#link;
    if (!this.#pendingReconnect || link.status !== 'ready' || this.#busy(link.sock)) return;
    const reason = this.#pendingReconnect;
    this.#pendingReconnect = undefined;
    this.#log.info('reconnecting while idle', { reason });
    this.#link = { status: 'none' };
    clearTimers(link.sock);
    void this.#closeGracefully(link.sock);
    if (this.#o.connection === 'on-demand') this.#setState('idle', reason);
    else this.#connect(reason);
  }

  #touch(): void {
    if (this.#o.connection !== 'on-demand') return;
    this.#clearIdle();
    this.#idleTimer = setTimeout(() => this.#idleClose(), this.#t.idleCloseMs);
  }

  #clearIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #idleClose(): void {
    const link = this.#link;
    if (link.status !== 'ready') return;
    if (this.#busy(link.sock)) {
      this.#touch();
      return;
    }
    this.#link = { status: 'none' };
    clearTimers(link.sock);
    void this.#closeGracefully(link.sock);
    this.#setState('idle', `closed after ${this.#t.idleCloseMs} ms idle`);
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

  #onFrame(sock: Sock, text: string): void {
    const parsed = parseServerFrame(text);
    if (!parsed.ok) {
      this.#log.warn('ignored a malformed server event', { problem: parsed.problem, type: parsed.type, bytes: text.length });
      return;
    }
    this.#onEvent(sock, parsed.event);
  }

  #onEvent(sock: Sock, e: ServerEvent): void {
    const link = this.#link;
    const v = link.status === 'verifying' ? link.v : undefined;
    switch (e.type) {
      case 'session.created':
        sock.sessionId = e.sessionId;
        sock.createdSession = e.session;
        if (e.expiresAt !== undefined) sock.expiresAtMs = e.expiresAt * 1000;
        if (v && this.#o.bootstrap === 'client-secret' && v.purpose === 'bootstrap' && v.updateEventId === undefined)
          this.#evaluate(sock, v, e.session);
        return;
      case 'session.updated':
        if (e.expiresAt !== undefined) sock.expiresAtMs = e.expiresAt * 1000;
        // session.updated does not echo our event_id; only one update is ever in flight, so it answers that one.
        if (v && v.updateEventId !== undefined) this.#evaluate(sock, v, e.session);
        return;
      case 'error':
        this.#onServerError(sock, e.error, v);
        return;
      case 'response.created':
        sock.activeResponse = e.responseId;
        sock.responsesRequested = Math.max(0, sock.responsesRequested - 1);
        sock.itemBytes.clear();
        this.emit('responseStarted', { responseId: e.responseId });
        return;
      case 'response.done':
        if (sock.activeResponse === e.responseId) sock.activeResponse = undefined;
        this.emit('responseDone', { responseId: e.responseId, status: e.status, usage: e.usage });
        this.#touch();
        this.#maybeReconnectWhenIdle();
        return;
      case 'response.output_audio.delta': {
        sock.audioReplied = true;
        const pcm = Buffer.from(e.delta, 'base64');
        const before = sock.itemBytes.get(e.itemId) ?? 0;
        sock.itemBytes.set(e.itemId, before + pcm.length);
        this.emit('audio', { itemId: e.itemId, responseId: e.responseId, contentIndex: e.contentIndex, pcm, offsetMs: bytesToMs(before) });
        return;
      }
      case 'response.output_audio_transcript.delta':
        this.emit('transcript', { role: 'assistant', itemId: e.itemId, text: e.delta, final: false });
        return;
      case 'response.output_audio_transcript.done':
        this.emit('transcript', { role: 'assistant', itemId: e.itemId, text: e.transcript, final: true });
        return;
      case 'conversation.item.input_audio_transcription.delta':
        this.emit('transcript', { role: 'user', itemId: e.itemId, text: e.delta, final: false });
        return;
      case 'conversation.item.input_audio_transcription.completed':
        this.emit('transcript', { role: 'user', itemId: e.itemId, text: e.transcript, final: true });
        return;
      case 'input_audio_buffer.committed':
        this.emit('inputCommitted', { itemId: e.itemId, audioMs: bytesToMs(sock.wireUncommittedBytes) });
        sock.wireUncommittedBytes = 0;
        sock.turnSent = acknowledgeCommit(sock.turnSent);
        return;
      case 'input_audio_buffer.speech_started':
        this.emit('speechStarted', { itemId: e.itemId, audioStartMs: e.audioStartMs });
        return;
      case 'input_audio_buffer.speech_stopped':
        this.emit('speechStopped', { itemId: e.itemId, audioEndMs: e.audioEndMs });
        return;
      case 'rate_limits.updated':
        this.emit('rateLimits', e.rateLimits);
        return;
      case 'other':
        this.#log.debug('unhandled server event', { type: e.name });
        return;
    }
  }

  #onServerError(sock: Sock, err: Extract<ServerEvent, { type: 'error' }>['error'], v: Verification | undefined): void {
    if (v && err.eventId !== undefined && err.eventId === v.updateEventId) {
      this.#failVerification(sock, realtimeErrors.rejected(err.message, err.param, err.eventId, err.code));
      return;
    }
    const clientEvent = err.eventId ? sock.transport.sentType(err.eventId) : undefined;
    const error = realtimeErrors.server(err.message, err.type, err.code, clientEvent, err.eventId, err.param);
    this.#log.warn(error.message, { code: error.code, ...error.context });
    this.emit('error', error);
    if (clientEvent === 'response.create') {
      // A refused response.create will get no response.created: it no longer holds the session busy.
      sock.responsesRequested = Math.max(0, sock.responsesRequested - 1);
      this.#maybeReconnectWhenIdle();
    }
  }
}

function withoutVoice(session: GaSessionConfig): GaSessionConfig {
  const output = session.audio?.output;
  if (!output || output.voice === undefined) return session;
  const { voice: _voice, ...rest } = output;
  return { ...session, audio: { ...session.audio, output: rest } };
}

/**
 * What is still unacknowledged after input_audio_buffer.committed: everything after the first
 * commit, less the response.create that belonged to it. A commit by server VAD (none of ours
 * pending) took all the audio sent so far.
 */
function acknowledgeCommit(sent: GateItem[]): GateItem[] {
  const i = sent.findIndex((item) => item.kind === 'command' && item.name === 'commit');
  if (i < 0) return [];
  let rest = i + 1;
  for (let item = sent[rest]; item?.kind === 'command' && item.name === 'response'; item = sent[rest]) rest += 1;
  return sent.slice(rest);
}

function clearTimers(sock: Sock): void {
  for (const t of sock.timers) clearTimeout(t);
  sock.timers = [];
}
