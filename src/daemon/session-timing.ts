import type { Config } from '../config/index.js';
import type { RealtimeTimeouts } from '../realtime/index.js';

/** How long the session may take to close gracefully before its socket is destroyed (part of the 1.8 s stop). */
const SESSION_CLOSE_MS = 500;

export type SessionTiming = { timeouts: Partial<RealtimeTimeouts>; backoff: { minMs: number; maxMs: number } };

/** The session's timeouts and reconnect range from the config: at start, and live on a reload. */
export function sessionTiming({ realtime }: Config): SessionTiming {
  return {
    timeouts: {
      connectMs: realtime.timeouts.connectMs,
      verifyMs: realtime.timeouts.sessionUpdateMs,
      idleCloseMs: realtime.timeouts.idleCloseMs,
      closeMs: SESSION_CLOSE_MS,
    },
    backoff: { minMs: realtime.reconnect.minMs, maxMs: realtime.reconnect.maxMs },
  };
}
