/**
 * The session's error values, one constructor per failure a person may need to act on, and what
 * happens next after each (`realtimeRecovery`): the one place that decides whether the session
 * retries and whether a person must act. Messages say what happened, never "reconnecting": the
 * recovery says that, so doctor (which does not retry) can show the same message.
 */
import { PttError } from '../core/errors.js';
import { describeMismatches, type FieldMismatch } from './verify.js';

export type RealtimeErrorCode =
  | 'REALTIME_BAD_KEY'
  | 'REALTIME_HANDSHAKE_FAILED'
  | 'REALTIME_CONNECT_FAILED'
  | 'REALTIME_CONNECT_TIMEOUT'
  | 'REALTIME_CONNECTION_LOST'
  | 'REALTIME_BETA_REFUSED'
  | 'REALTIME_DEAD_PEER'
  | 'REALTIME_VERIFY_TIMEOUT'
  | 'REALTIME_PROFILE_MISMATCH'
  | 'REALTIME_PROFILE_REJECTED'
  | 'REALTIME_CLIENT_SECRET_FAILED'
  | 'REALTIME_SERVER_ERROR'
  | 'REALTIME_GATE_OVERFLOW'
  | 'REALTIME_UPLINK_SLOW'
  | 'REALTIME_STOPPED'
  // A fleet device minting through the owner's mint server (client-secret.ts).
  | 'DEVICE_TOKEN_REFUSED'
  | 'MINT_RATE_LIMITED';

/** What follows an error. */
export interface Recovery {
  /**
   * What the session does about it by itself: connect again with backoff, slowly (a refusal that
   * retrying quickly cannot fix), or nothing (the connection stays, or there is none to retry).
   */
  retry: 'backoff' | 'slow' | 'none';
  /** Retrying alone will not fix it: a person must change the key, the config or the network path. */
  needsAPerson: boolean;
}

const RECOVERY: Readonly<Record<RealtimeErrorCode, Recovery>> = {
  REALTIME_BAD_KEY: { retry: 'slow', needsAPerson: true },
  REALTIME_BETA_REFUSED: { retry: 'slow', needsAPerson: true },
  REALTIME_PROFILE_MISMATCH: { retry: 'backoff', needsAPerson: true },
  REALTIME_PROFILE_REJECTED: { retry: 'backoff', needsAPerson: true },
  REALTIME_HANDSHAKE_FAILED: { retry: 'backoff', needsAPerson: false },
  REALTIME_CONNECT_FAILED: { retry: 'backoff', needsAPerson: false },
  REALTIME_CONNECT_TIMEOUT: { retry: 'backoff', needsAPerson: false },
  REALTIME_CONNECTION_LOST: { retry: 'backoff', needsAPerson: false },
  REALTIME_DEAD_PEER: { retry: 'backoff', needsAPerson: false },
  REALTIME_VERIFY_TIMEOUT: { retry: 'backoff', needsAPerson: false },
  REALTIME_CLIENT_SECRET_FAILED: { retry: 'backoff', needsAPerson: false },
  REALTIME_SERVER_ERROR: { retry: 'none', needsAPerson: false },
  REALTIME_GATE_OVERFLOW: { retry: 'none', needsAPerson: false },
  REALTIME_UPLINK_SLOW: { retry: 'none', needsAPerson: false },
  REALTIME_STOPPED: { retry: 'none', needsAPerson: false },
  // Revoked or wrong: only the owner can fix it (a new token); asking again often would not help.
  DEVICE_TOKEN_REFUSED: { retry: 'slow', needsAPerson: true },
  MINT_RATE_LIMITED: { retry: 'slow', needsAPerson: false },
};

export function isRealtimeErrorCode(code: string): code is RealtimeErrorCode {
  return Object.hasOwn(RECOVERY, code);
}

/** What follows `error`; undefined for an error that is not the realtime session's. */
export function realtimeRecovery(error: PttError): Recovery | undefined {
  return isRealtimeErrorCode(error.code) ? RECOVERY[error.code] : undefined;
}

/** A PttError whose code is one of the session's. */
export function realtimeError(
  code: RealtimeErrorCode,
  message: string,
  options: { context?: Record<string, unknown>; hint?: string } = {},
): PttError {
  return new PttError(code, message, options);
}

export const KEY_HINT =
  'check the API key (systemd credential openai-api-key, realtime.apiKeyFile or OPENAI_API_KEY) and realtime.provider';

export const realtimeErrors = {
  badKey(status: number, url: string): PttError {
    return realtimeError('REALTIME_BAD_KEY', `the server refused the API key (HTTP ${status} at the WebSocket handshake)`, {
      context: { status, url },
      hint: KEY_HINT,
    });
  },
  handshake(status: number, url: string): PttError {
    return realtimeError('REALTIME_HANDSHAKE_FAILED', `the WebSocket handshake failed with HTTP ${status}`, {
      context: { status, url },
    });
  },
  connectFailed(reason: string, url: string): PttError {
    return realtimeError('REALTIME_CONNECT_FAILED', `could not connect to ${url}: ${reason}`, {
      context: { url },
      hint: 'check the network and realtime.url',
    });
  },
  connectTimeout(ms: number, url: string): PttError {
    return realtimeError('REALTIME_CONNECT_TIMEOUT', `no WebSocket connection to ${url} within ${ms} ms`, {
      context: { url, timeoutMs: ms },
      hint: 'check the network; raise realtime.timeouts.connectMs on a slow link',
    });
  },
  closed(code: number, reason: string): PttError {
    return realtimeError('REALTIME_CONNECTION_LOST', `the Realtime connection closed (code ${code}${reason ? `: ${reason}` : ''})`, {
      context: { closeCode: code, reason },
    });
  },
  betaRefused(reason: string): PttError {
    return realtimeError(
      'REALTIME_BETA_REFUSED',
      `the server closed the connection with code 4000: it refused a beta-shaped request${reason ? ` (${reason})` : ''}`,
      {
        context: { closeCode: 4000, reason },
        hint: 'this client speaks GA only; check realtime.url has no beta path and that no proxy adds an OpenAI-Beta header',
      },
    );
  },
  deadPeer(ms: number): PttError {
    return realtimeError('REALTIME_DEAD_PEER', `no pong from the server within ${ms} ms; the connection is dead`, {
      context: { pingMs: ms },
    });
  },
  verifyTimeout(ms: number, waitingFor: string): PttError {
    return realtimeError(
      'REALTIME_VERIFY_TIMEOUT',
      `timed out after ${ms} ms waiting for ${waitingFor}; the profile is not confirmed, so no audio was sent`,
      {
        context: { timeoutMs: ms, waitingFor },
        hint: 'the server did not answer in time; raise realtime.timeouts.sessionUpdateMs on a slow link',
      },
    );
  },
  mismatch(mismatches: FieldMismatch[], updatesSent: number): PttError {
    return realtimeError(
      'REALTIME_PROFILE_MISMATCH',
      `the server did not apply the profile after ${updatesSent} session.update(s): ${describeMismatches(mismatches)}`,
      {
        context: { fields: mismatches.map((m) => m.field), mismatches, updatesSent },
        hint: 'the server may not support one of these settings for this model; change them in the session section of the config',
      },
    );
  },
  rejected(message: string, param: string | undefined, eventId: string, serverCode: string | undefined): PttError {
    return realtimeError(
      'REALTIME_PROFILE_REJECTED',
      `the server rejected the profile's session.update: ${message}${param ? ` (field ${param})` : ''}`,
      {
        context: { clientEvent: 'session.update', eventId, serverCode, param },
        hint: 'fix that field in the session section of the config (`realtime-ptt check-config`)',
      },
    );
  },
  server(
    message: string,
    type: string,
    serverCode: string | undefined,
    clientEvent: string | undefined,
    eventId: string | undefined,
    param: string | undefined,
  ): PttError {
    return realtimeError('REALTIME_SERVER_ERROR', `the server reported ${type}${clientEvent ? ` for ${clientEvent}` : ''}: ${message}`, {
      context: { clientEvent, eventId, serverCode, serverType: type, param },
    });
  },
  gateOverflow(maxQueuedMs: number, refusedMs: number): PttError {
    return realtimeError(
      'REALTIME_GATE_OVERFLOW',
      `audio refused: ${Math.round(refusedMs)} ms would pass the ${maxQueuedMs} ms held while the session is not ready`,
      {
        context: { maxQueuedMs, refusedMs },
        hint: 'the session is not verified yet: see the errors before this one (the network, realtime.url, the API key)',
      },
    );
  },
  uplinkSlow(figures: { bufferedBytes: number; queuedMs: number; maxQueuedMs: number; refusedMs: number }): PttError {
    return realtimeError(
      'REALTIME_UPLINK_SLOW',
      `audio refused: the uplink is slower than the microphone (${Math.round(figures.bufferedBytes / 1024)} KiB waiting on the socket, ${Math.round(figures.queuedMs)} ms held, at most ${figures.maxQueuedMs} ms)`,
      {
        context: figures,
        hint: 'the network to the server cannot carry the audio in real time (about 0.7 Mbit/s); check the Wi-Fi signal or the link',
      },
    );
  },
  stopped(what: string): PttError {
    return realtimeError('REALTIME_STOPPED', `${what} refused: the Realtime session is not started`, { context: { operation: what } });
  },
};
