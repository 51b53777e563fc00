/** The session's error values, one constructor per failure a person may need to act on. */
import { PttError } from '../core/errors.js';
import { describeMismatches, type FieldMismatch } from './verify.js';

const KEY_HINT = 'check the API key (systemd credential openai-api-key, realtime.apiKeyFile or OPENAI_API_KEY) and realtime.provider';

export const realtimeErrors = {
  badKey(status: number, url: string): PttError {
    return new PttError('REALTIME_BAD_KEY', `the server refused the API key (HTTP ${status} at the WebSocket handshake); retrying slowly`, {
      context: { status, url },
      hint: KEY_HINT,
    });
  },
  handshake(status: number, url: string): PttError {
    return new PttError('REALTIME_HANDSHAKE_FAILED', `the WebSocket handshake failed with HTTP ${status}; reconnecting`, {
      context: { status, url },
    });
  },
  connectFailed(reason: string, url: string): PttError {
    return new PttError('REALTIME_CONNECT_FAILED', `could not connect to ${url}: ${reason}; reconnecting`, {
      context: { url },
      hint: 'check the network and realtime.url',
    });
  },
  connectTimeout(ms: number, url: string): PttError {
    return new PttError('REALTIME_CONNECT_TIMEOUT', `no WebSocket connection to ${url} within ${ms} ms; reconnecting`, {
      context: { url, timeoutMs: ms },
      hint: 'check the network; raise realtime.timeouts.connectMs on a slow link',
    });
  },
  closed(code: number, reason: string): PttError {
    return new PttError(
      'REALTIME_CONNECTION_LOST',
      `the Realtime connection closed (code ${code}${reason ? `: ${reason}` : ''}); reconnecting`,
      {
        context: { closeCode: code, reason },
      },
    );
  },
  betaRefused(reason: string): PttError {
    return new PttError(
      'REALTIME_BETA_REFUSED',
      `the server closed the connection with code 4000: it refused a beta-shaped request${reason ? ` (${reason})` : ''}`,
      {
        context: { closeCode: 4000, reason },
        hint: 'this client speaks GA only; check realtime.url has no beta path and that no proxy adds an OpenAI-Beta header',
      },
    );
  },
  deadPeer(ms: number): PttError {
    return new PttError('REALTIME_DEAD_PEER', `no pong from the server within ${ms} ms; the connection is dead, reconnecting`, {
      context: { pingMs: ms },
    });
  },
  verifyTimeout(ms: number, waitingFor: string): PttError {
    return new PttError(
      'REALTIME_VERIFY_TIMEOUT',
      `timed out after ${ms} ms waiting for ${waitingFor}; the profile is not confirmed, so no audio was sent`,
      {
        context: { timeoutMs: ms, waitingFor },
        hint: 'the server did not answer session.update; raise realtime.timeouts.verifyMs on a slow link',
      },
    );
  },
  mismatch(mismatches: FieldMismatch[], updatesSent: number): PttError {
    return new PttError(
      'REALTIME_PROFILE_MISMATCH',
      `the server did not apply the profile after ${updatesSent} session.update(s): ${describeMismatches(mismatches)}`,
      {
        context: { fields: mismatches.map((m) => m.field), mismatches, updatesSent },
        hint: 'the server may not support one of these settings for this model; change them in the session section of the config',
      },
    );
  },
  rejected(message: string, param: string | undefined, eventId: string, serverCode: string | undefined): PttError {
    return new PttError(
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
    return new PttError('REALTIME_SERVER_ERROR', `the server reported ${type}${clientEvent ? ` for ${clientEvent}` : ''}: ${message}`, {
      context: { clientEvent, eventId, serverCode, serverType: type, param },
    });
  },
  gateOverflow(maxQueuedMs: number, refusedMs: number): PttError {
    return new PttError(
      'REALTIME_GATE_OVERFLOW',
      `audio refused: ${Math.round(refusedMs)} ms would pass the ${maxQueuedMs} ms held while the session is not ready`,
      {
        context: { maxQueuedMs, refusedMs },
        hint: 'the session is not verified yet (see earlier errors); raise realtime.maxQueuedMs to hold more',
      },
    );
  },
  stopped(what: string): PttError {
    return new PttError('REALTIME_STOPPED', `${what} refused: the Realtime session is not started`, { context: { operation: what } });
  },
};
