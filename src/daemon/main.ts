/**
 * Runs the daemon as a process: builds it with the real parts, starts it, and maps signals onto
 * its lifecycle. SIGTERM/SIGINT stop it with a hard deadline (homebridge's habit: if cleanup
 * hangs, exit 128 + signal); SIGHUP reloads the config.
 */
import { constants } from 'node:os';
import type { Config } from '../config/index.js';
import { toPttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { Daemon, type Notifier, type PartsFactory } from './daemon.js';
import { createParts } from './parts.js';
import { createNotifier } from './sd-notify.js';

export interface RunDaemonOptions {
  configPath: string;
  config: Config;
  logger: Logger;
  env: Readonly<Record<string, string | undefined>>;
  /** Tests and benchmarks may bring their own parts; the real ones by default. */
  parts?: PartsFactory;
  notifier?: Notifier;
}

/** The whole stop (every part) must fit in this; systemd and people expect under 2 s. */
export const SHUTDOWN_DEADLINE_MS = 1_800;

/** EX_SOFTWARE from sysexits.h: a bug, not a config problem, so systemd's Restart= applies. */
export const EXIT_UNEXPECTED = 70;

/** After an unexpected error the state is not trusted: cleanup gets less time than a normal stop. */
export const UNEXPECTED_DEADLINE_MS = 1_000;

/** Resolves with the process exit code once the daemon has stopped. */
export async function runDaemon(o: RunDaemonOptions): Promise<number> {
  const log = o.logger.child('main');
  const notifier = o.notifier ?? createNotifier({ logger: o.logger, env: o.env });
  const daemon = new Daemon({
    configPath: o.configPath,
    config: o.config,
    logger: o.logger,
    parts: o.parts ?? createParts({ logger: o.logger, env: o.env }),
    notifier,
  });

  let finish!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (finish = resolve));
  let stopping = false;

  const shutdown = (why: string, code: number, signal?: NodeJS.Signals): void => {
    const hardCode = signal ? 128 + constants.signals[signal] : code || 1;
    if (stopping) {
      // A second Ctrl-C means "now".
      if (signal === 'SIGINT') process.exit(hardCode);
      return;
    }
    stopping = true;
    log.info('stopping', { why });
    const hard = setTimeout(() => {
      log.error(`cleanup did not finish within ${SHUTDOWN_DEADLINE_MS} ms; exiting now`, { exitCode: hardCode });
      process.exit(hardCode);
    }, SHUTDOWN_DEADLINE_MS);
    daemon.stop().then(
      () => {
        clearTimeout(hard);
        finish(code);
      },
      (err: unknown) => {
        clearTimeout(hard);
        log.error('stop failed', { error: err });
        finish(1);
      },
    );
  };

  const onTerm = () => shutdown('SIGTERM', 0, 'SIGTERM');
  const onInt = () => shutdown('SIGINT', 0, 'SIGINT');
  const onHup = () => {
    log.info('SIGHUP: reloading the config file');
    daemon.reload().catch((err: unknown) => unexpected('config reload failed', err));
  };
  /**
   * Anything thrown that nobody caught: say what in one line, try to stop the parts (the mic,
   * aplay children) and exit non-zero whatever happens, so systemd restarts the service. A
   * capture blocked in its read loop would otherwise keep a broken process alive.
   */
  let crashed = false;
  const unexpected = (what: string, err: unknown): void => {
    if (crashed) return;
    crashed = true;
    const error = toPttError(err, 'UNEXPECTED');
    log.error(`${what}; exiting so the service restarts`, { error, exitCode: EXIT_UNEXPECTED });
    setTimeout(() => process.exit(EXIT_UNEXPECTED), UNEXPECTED_DEADLINE_MS).unref();
    daemon.stop().then(
      () => process.exit(EXIT_UNEXPECTED),
      () => process.exit(EXIT_UNEXPECTED),
    );
  };
  const onUncaught = (err: unknown) => unexpected('unexpected error', err);
  const onRejection = (reason: unknown) => unexpected('unexpected error (unhandled rejection)', reason);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  daemon.on('fatal', (err) => {
    log.error('cannot continue', { error: err });
    shutdown(err.message, 1);
  });

  const detach = () => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
  };
  try {
    await daemon.start();
  } catch (err) {
    detach();
    throw err;
  }
  const code = await exited;
  detach();
  // A handle a library forgot to close must not keep a stopped daemon alive.
  setTimeout(() => process.exit(code), 200).unref();
  return code;
}
