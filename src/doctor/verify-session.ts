/**
 * `doctor --connect`: one real connection with the daemon's own session (built exactly as the
 * daemon builds it), the profile applied and verified, then closed. The first error ends it:
 * doctor reports, it does not retry.
 */
import { PttError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import type { Config } from '../config/index.js';
import { buildSession } from '../daemon/parts.js';
import type { ConnectionDeps } from './checks.js';
import type { VerifiedInfo } from '../realtime/index.js';

type Env = Readonly<Record<string, string | undefined>>;

export function sessionVerifier(env: Env): ConnectionDeps {
  return {
    async verifySession(config: Config) {
      // Persistent so start() connects now; the daemon's log lines would only repeat the result.
      const persistent: Config = { ...config, realtime: { ...config.realtime, connection: 'persistent' } };
      const logger = createLogger({ level: 'error', format: 'json', sink: { write() {} } });
      let session;
      try {
        session = buildSession(persistent, { logger, env });
      } catch (err) {
        return { ok: false, error: err instanceof PttError ? err : new PttError('DOCTOR_SESSION', String(err)) };
      }
      const { connectMs, sessionUpdateMs } = config.realtime.timeouts;
      const deadlineMs = connectMs + sessionUpdateMs + 1_000;
      const outcome = await new Promise<{ ok: true; ms: number; sessionId: string | undefined } | { ok: false; error: PttError }>(
        (resolve) => {
          const timer = setTimeout(
            () =>
              done({
                ok: false,
                error: new PttError('DOCTOR_CONNECT_TIMEOUT', `no verified session within ${deadlineMs} ms`, {
                  context: { url: config.realtime.url },
                  hint: 'check the network and realtime.url; raise realtime.timeouts if the link is slow',
                }),
              }),
            deadlineMs,
          );
          const onVerified = (info: VerifiedInfo): void => done({ ok: true, ms: Math.round(info.ms), sessionId: info.sessionId });
          // The first error ends it: doctor reports, it does not retry (the messages do not claim it will).
          const onError = (error: PttError): void => done({ ok: false, error });
          const done = (r: Parameters<typeof resolve>[0]): void => {
            clearTimeout(timer);
            session.off('verified', onVerified);
            session.off('error', onError);
            resolve(r);
          };
          session.on('verified', onVerified);
          session.on('error', onError);
          session.start().catch((err: unknown) => onError(err instanceof PttError ? err : new PttError('DOCTOR_SESSION', String(err))));
        },
      );
      await session.stop();
      return outcome;
    },
  };
}
