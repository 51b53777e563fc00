/**
 * Runs the daemon as a process: builds it with the real parts, starts it, and maps signals onto
 * its lifecycle. SIGTERM/SIGINT stop it with a hard deadline (homebridge's habit: if cleanup
 * hangs, exit 128 + signal); SIGHUP reloads the config.
 */
import { constants } from 'node:os';
import type { Config } from '../config/index.js';
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
    void daemon.reload();
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  daemon.on('fatal', (err) => {
    log.error('cannot continue', { error: err });
    shutdown(err.message, 1);
  });

  try {
    await daemon.start();
  } catch (err) {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
    throw err;
  }
  const code = await exited;
  process.off('SIGTERM', onTerm);
  process.off('SIGINT', onInt);
  process.off('SIGHUP', onHup);
  // A handle a library forgot to close must not keep a stopped daemon alive.
  setTimeout(() => process.exit(code), 200).unref();
  return code;
}
