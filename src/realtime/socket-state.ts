/**
 * What the session keeps about one socket (dropped with it), and what a socket's ending means:
 * the error a person sees and when to connect again.
 */
import type { PttError } from '../core/errors.js';
import { realtimeErrors, realtimeRecovery } from './errors.js';
import type { Wire } from './outbox.js';
import type { Logger } from '../core/logger.js';
import type { ClientSecret } from './client-secret.js';
import type { RealtimeSessionOptions, RealtimeTimeouts } from './session-types.js';
import type { RealtimeTransport, TransportEnd, TransportOptions } from './transport.js';
import type { Verification } from './verification.js';
import { TurnLedger } from './turn-ledger.js';

/** Everything tied to one socket; dropped with it. */
export interface Sock {
  transport: RealtimeTransport;
  /** The socket as the outbox writes to it. */
  wire: Wire;
  openedAt: number;
  sessionId: string | undefined;
  expiresAtMs: number | undefined;
  createdSession: Record<string, unknown> | undefined;
  /** Voice is fixed once the model has answered with audio on this session. */
  audioReplied: boolean;
  activeResponse: string | undefined;
  /** response.create frames sent and not yet answered by response.created (or an error). */
  responsesRequested: number;
  /** What the server has not acknowledged; replayed, in order, on a new socket if this one dies. */
  ledger: TurnLedger;
  /** Assistant audio received per item, for each chunk's offset. */
  itemBytes: Map<string, number>;
  updatesSent: number;
  /** The rotation timer; the transport keeps its own. */
  timers: NodeJS.Timeout[];
}

/** A socket's state as it opens; the ledger is bounded like the gate a replay goes into. */
export function newSock(transport: RealtimeTransport, maxQueuedMs: number): Sock {
  const ledger = new TurnLedger(maxQueuedMs);
  const sock: Sock = {
    transport,
    wire: {
      ledger,
      get bufferedAmount() {
        return transport.bufferedAmount;
      },
      send: (event) => void transport.send(event),
      responseRequested: () => void (sock.responsesRequested += 1),
    },
    openedAt: performance.now(),
    sessionId: undefined,
    expiresAtMs: undefined,
    createdSession: undefined,
    audioReplied: false,
    activeResponse: undefined,
    responsesRequested: 0,
    ledger,
    itemBytes: new Map(),
    updatesSent: 0,
    timers: [],
  };
  return sock;
}

export type Retry = 'now' | 'backoff' | 'slow';

export interface EndOutcome {
  error: PttError | undefined;
  retry: Retry;
  /** Why, when there is no error to say it. */
  detail?: string;
}

/** Maps how a socket ended to the error a person sees and when to try again. */
export function endOutcome(end: TransportEnd, at: { url: string; pingMs: number; connectMs: number; wasReady: boolean }): EndOutcome {
  const failed = (error: PttError): EndOutcome => ({ error, retry: realtimeRecovery(error)?.retry === 'slow' ? 'slow' : 'backoff' });
  switch (end.kind) {
    case 'bad-key':
      return failed(realtimeErrors.badKey(end.status, at.url));
    case 'handshake':
      return failed(realtimeErrors.handshake(end.status, at.url));
    case 'server-ended':
      // The 60-minute cap ends a working session: come back at once. A socket closed before it was
      // ever verified takes the backoff, so a server closing every session cannot make a hot loop.
      return {
        error: undefined,
        retry: at.wasReady ? 'now' : 'backoff',
        detail: `server closed the session (1001${end.reason ? `: ${end.reason}` : ''})`,
      };
    case 'beta-refused':
      return failed(realtimeErrors.betaRefused(end.reason));
    case 'connect-failed':
      return failed(realtimeErrors.connectFailed(end.message, at.url));
    case 'closed':
      return failed(realtimeErrors.closed(end.code, end.reason));
    case 'dead-peer':
      return failed(realtimeErrors.deadPeer(at.pingMs));
    case 'connect-timeout':
      return failed(realtimeErrors.connectTimeout(at.connectMs, at.url));
  }
}

export function clearTimers(sock: Sock): void {
  for (const t of sock.timers) clearTimeout(t);
  sock.timers = [];
}

/** Calls `due` `beforeMs` before the socket's session expires (nothing without an expiry). */
export function armRotation(sock: Sock, beforeMs: number, due: () => void): void {
  if (sock.expiresAtMs === undefined) return;
  // Capped so a far expiry does not overflow setTimeout's 32-bit delay.
  const delay = Math.min(2 ** 31 - 1, Math.max(0, sock.expiresAtMs - Date.now() - beforeMs));
  sock.timers.push(setTimeout(due, delay));
}

/** The session's connection: the socket tied to its status, so a handler can tell whether its socket is still the current one. */
export type Link =
  | { status: 'none' }
  | { status: 'waiting'; timer: NodeJS.Timeout }
  | { status: 'minting'; token: symbol }
  | { status: 'connecting'; sock: Sock }
  | { status: 'verifying'; sock: Sock; v: Verification }
  | { status: 'ready'; sock: Sock };

/** How a socket is opened: the endpoint, the key (the long-lived one or a minted client secret) and the timeouts in force. */
export function transportOptions(
  o: RealtimeSessionOptions,
  t: RealtimeTimeouts,
  secret: ClientSecret | undefined,
  logger: Logger,
  nextEventId: () => string,
): TransportOptions {
  return {
    url: o.url,
    model: o.model,
    auth:
      o.bootstrap === 'client-secret'
        ? { kind: 'client-secret', secret: secret!.value }
        : { kind: 'api-key', provider: o.provider, apiKey: o.apiKey },
    connectMs: t.connectMs,
    pingMs: t.pingMs,
    closeMs: t.closeMs,
    logger,
    ...(o.webSocketFactory ? { webSocketFactory: o.webSocketFactory } : {}),
    nextEventId,
  };
}
