/**
 * The wire under a Realtime session: one raw `ws` socket. Builds the URL and auth headers,
 * enforces the connect deadline, detects a dead peer by ping/pong, sends client events as JSON
 * and reports how the socket ended as one `TransportEnd` value. What the session makes of an
 * ending (errors, when to retry) is the session's business.
 *
 * Once the owner closes or terminates it, or it has reported its end, a transport stays silent:
 * events from a replaced socket never reach the session.
 */
import WebSocket from 'ws';
import type { Logger } from '../core/logger.js';
import { authHeaders, type Provider } from './client-secret.js';
import type { ClientEvent } from './protocol.js';

export type WebSocketFactory = (url: string, headers: Record<string, string>) => WebSocket;

/** How the socket ended; reported once. */
export type TransportEnd =
  /** The handshake was refused with 401/403. */
  | { kind: 'bad-key'; status: number }
  /** The handshake failed with another HTTP status. */
  | { kind: 'handshake'; status: number }
  /** Close code 1001: the server ended the session (e.g. its 60-minute cap). */
  | { kind: 'server-ended'; reason: string }
  /** Close code 4000: the server refused a beta-shaped request. */
  | { kind: 'beta-refused'; reason: string }
  /** The socket could not be created, or closed before it opened. */
  | { kind: 'connect-failed'; message: string }
  /** Any other close of an open socket. */
  | { kind: 'closed'; code: number; reason: string }
  /** A ping went unanswered until the next one. */
  | { kind: 'dead-peer' }
  /** Not open within the connect deadline. */
  | { kind: 'connect-timeout' };

export interface TransportOptions {
  /** WebSocket endpoint, e.g. `wss://api.openai.com/v1/realtime`. */
  url: string;
  model: string;
  /** The long-lived key (the URL names the model) or an ephemeral `ek_` key (which already does). */
  auth: { kind: 'api-key'; provider: Provider; apiKey: string } | { kind: 'client-secret'; secret: string };
  connectMs: number;
  /** Ping interval; a ping unanswered by the next one means a dead peer. 0 turns it off. */
  pingMs: number;
  /** Graceful close deadline before the socket is destroyed. */
  closeMs: number;
  logger: Logger;
  webSocketFactory?: WebSocketFactory;
  /** Event ids come from the owner so they stay unique across sockets. */
  nextEventId: () => string;
}

/** Called directly from the socket's listeners, so a throw surfaces as it did before the split. */
export interface TransportHandlers {
  open(): void;
  /** A text frame, as received. */
  text(text: string): void;
  end(end: TransportEnd): void;
}

/** Type per sent event id kept for error correlation; the oldest are forgotten first. */
const SENT_IDS_KEPT = 512;

export class RealtimeTransport {
  readonly #o: TransportOptions;
  readonly #on: TransportHandlers;
  readonly #ws: WebSocket;
  readonly #sentTypes = new Map<string, string>();
  #timers: NodeJS.Timeout[] = [];
  #opened = false;
  /** Closed or terminated by the owner, or its end reported: nothing more is reported. */
  #silent = false;
  #awaitingPong = false;
  #handshakeError: string | undefined;

  /** Opens a socket, or says why it could not be created. */
  static open(
    options: TransportOptions,
    handlers: TransportHandlers,
  ): RealtimeTransport | Extract<TransportEnd, { kind: 'connect-failed' }> {
    const factory = options.webSocketFactory ?? ((u, h) => new WebSocket(u, { headers: h, perMessageDeflate: false }));
    const headers =
      options.auth.kind === 'client-secret'
        ? { Authorization: `Bearer ${options.auth.secret}` }
        : authHeaders(options.auth.provider, options.auth.apiKey);
    let ws: WebSocket;
    try {
      ws = factory(wsUrl(options), headers);
    } catch (err) {
      return { kind: 'connect-failed', message: err instanceof Error ? err.message : String(err) };
    }
    return new RealtimeTransport(options, handlers, ws);
  }

  private constructor(options: TransportOptions, handlers: TransportHandlers, ws: WebSocket) {
    this.#o = options;
    this.#on = handlers;
    this.#ws = ws;
    this.#timers.push(setTimeout(() => this.#end({ kind: 'connect-timeout' }), options.connectMs));
    ws.on('open', () => {
      if (this.#silent) return;
      this.#opened = true;
      this.#clearTimers();
      if (options.pingMs > 0) this.#timers.push(setInterval(() => this.#ping(), options.pingMs));
      this.#on.open();
    });
    ws.on('message', (data, isBinary) => {
      if (this.#silent) return;
      if (isBinary) {
        this.#o.logger.warn('binary frame ignored', { bytes: rawLength(data) });
        return;
      }
      this.#on.text(rawText(data));
    });
    ws.on('pong', () => {
      this.#awaitingPong = false;
    });
    ws.on('error', (err) => {
      // Kept for the close that follows: it carries the handshake's HTTP status.
      this.#handshakeError = err.message;
    });
    ws.on('close', (code, reasonBuf) => this.#end(this.#classify(code, reasonBuf.toString())));
  }

  /** Sends a client event as JSON under its own event id (assigned if missing); returns that id. */
  send(event: ClientEvent): string {
    const eventId = event.event_id ?? this.#o.nextEventId();
    this.#sentTypes.set(eventId, event.type);
    if (this.#sentTypes.size > SENT_IDS_KEPT) this.#sentTypes.delete(this.#sentTypes.keys().next().value!);
    this.#ws.send(JSON.stringify({ ...event, event_id: eventId }));
    return eventId;
  }

  /** Bytes given to send() and not yet handed to the kernel: what a slow uplink piles up. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** The type of a client event sent on this socket, for an error that names its id. */
  sentType(eventId: string): string | undefined {
    return this.#sentTypes.get(eventId);
  }

  /** Closes with 1000; a close handshake the peer never finishes is ended by a timer. */
  close(): Promise<void> {
    this.#quiet();
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => ws.terminate(), this.#o.closeMs);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'client closing');
    });
  }

  /** Destroys the socket at once. */
  terminate(): void {
    this.#quiet();
    this.#ws.terminate();
  }

  #classify(code: number, reason: string): TransportEnd {
    const handshakeError = this.#handshakeError;
    const status = handshakeError ? /Unexpected server response: (\d{3})/.exec(handshakeError)?.[1] : undefined;
    if (status === '401' || status === '403') return { kind: 'bad-key', status: Number(status) };
    if (status) return { kind: 'handshake', status: Number(status) };
    if (code === 1001) return { kind: 'server-ended', reason };
    if (code === 4000) return { kind: 'beta-refused', reason };
    if (!this.#opened) return { kind: 'connect-failed', message: handshakeError ?? `closed with code ${code}` };
    return { kind: 'closed', code, reason };
  }

  #ping(): void {
    if (this.#silent) return;
    if (this.#awaitingPong) {
      this.#end({ kind: 'dead-peer' });
      return;
    }
    this.#awaitingPong = true;
    this.#ws.ping();
  }

  #end(end: TransportEnd): void {
    if (this.#silent) return;
    this.#quiet();
    this.#on.end(end);
  }

  #quiet(): void {
    this.#silent = true;
    this.#clearTimers();
  }

  #clearTimers(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
  }
}

/** The session-update bootstrap must name the model; an ephemeral key already does. */
function wsUrl(o: TransportOptions): string {
  const u = new URL(o.url);
  if (o.auth.kind === 'client-secret') u.searchParams.delete('model');
  else if (!u.searchParams.has('model')) u.searchParams.set('model', o.model);
  return u.toString();
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function rawLength(data: WebSocket.RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data.byteLength;
}
