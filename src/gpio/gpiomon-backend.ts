import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TypedEmitter } from '../core/typed-emitter.js';
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { monotonicMs } from '../core/clock.js';
import { Backoff } from '../core/backoff.js';
import { toolChildEnv } from '../core/child-env.js';
import { gpiomonArgs, parseGpiomonLine, type LibgpiodVersion } from './libgpiod-format.js';
import { detectLibgpiod, findLine, firstLine } from './libgpiod-tools.js';
import type { EdgeBackend, EdgeBackendEvents, Pull } from './types.js';

export interface GpiomonBackendOptions {
  pin: number;
  chip: string | null;
  pull: Pull;
  activeLow: boolean;
  logger: Logger;
  /** PATH for finding gpiomon (tests put a fake first); only PATH reaches the child. */
  path?: string;
  respawnMinMs?: number;
  respawnMaxMs?: number;
  /** A child that lived this long resets the backoff. */
  stableMs?: number;
  /** After this many quick deaths in a row an `error` is emitted (respawning goes on). */
  failuresBeforeError?: number;
}

/**
 * Pi 5 (and any board with a GPIO character device): libgpiod's `gpiomon` as a child,
 * edges parsed from its output with their kernel timestamps. If it dies it is respawned
 * with exponential backoff; while it was gone the button is assumed released, so a press
 * in flight can never stay stuck.
 */
export class GpiomonBackend extends TypedEmitter<EdgeBackendEvents> implements EdgeBackend {
  readonly name = 'gpio.gpiomon';
  #child: ChildProcess | undefined;
  #args: string[] = [];
  #version: LibgpiodVersion | undefined;
  #running = false;
  #respawnTimer: NodeJS.Timeout | undefined;
  /** Quick deaths in a row: its attempt count is the failure count. */
  readonly #respawnBackoff: Backoff;
  #spawnedAt = 0;
  #stderrTail = '';
  #clockWarned = false;

  readonly #options: GpiomonBackendOptions;

  constructor(options: GpiomonBackendOptions) {
    super();
    this.#options = options;
    this.#respawnBackoff = new Backoff({ minMs: options.respawnMinMs ?? 100, maxMs: options.respawnMaxMs ?? 5000 });
  }

  /** How many times gpiomon was started (tests, status). */
  spawnCount = 0;

  get #idleLevel(): 0 | 1 {
    return this.#options.activeLow ? 1 : 0;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    const { pin, chip, pull, path, logger } = this.#options;
    this.#version = await detectLibgpiod(path);
    const line = await findLine(pin, chip, this.#version, path);
    this.#args = gpiomonArgs(this.#version, line, pull);
    logger.info('watching the button with gpiomon', { libgpiod: this.#version.text, chip: line.chip, offset: line.offset });
    this.#running = true;
    // gpiomon reports edges only, not the level it starts at: assume the button is up.
    this.emit('level', { level: this.#idleLevel, at: monotonicMs(), initial: true });
    await this.#spawnChild();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#respawnTimer) clearTimeout(this.#respawnTimer);
    this.#respawnTimer = undefined;
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 1000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  #spawnChild(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('gpiomon', this.#args, { env: toolChildEnv(this.#options.path), stdio: ['ignore', 'pipe', 'pipe'] });
      this.#child = child;
      this.spawnCount++;
      this.#spawnedAt = monotonicMs();
      this.#stderrTail = '';
      child.once('spawn', () => resolve());
      child.once('error', (err: NodeJS.ErrnoException) => {
        const e = new PttError('GPIOMON_SPAWN', `cannot run gpiomon: ${err.message}`, {
          cause: err,
          hint: err.code === 'ENOENT' ? 'install libgpiod tools: sudo apt install gpiod' : undefined,
        });
        if (this.spawnCount === 1) reject(e);
        else this.emit('error', e);
      });
      createInterface({ input: child.stdout! }).on('line', (line) => this.#onLine(line));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        this.#stderrTail = (this.#stderrTail + chunk).slice(-2000);
      });
      child.once('exit', (code, signal) => this.#onExit(child, code, signal));
    });
  }

  #onLine(line: string): void {
    const edge = parseGpiomonLine(line);
    if (!edge) {
      if (line.trim()) this.#options.logger.debug('ignored gpiomon output', { line });
      return;
    }
    const now = monotonicMs();
    let at = edge.kernelMs;
    // Kernels before 5.7 stamp v1 events with the wall clock: fall back to arrival time.
    if (Math.abs(now - at) > 10_000) {
      if (!this.#clockWarned) this.#options.logger.debug('gpiomon timestamps are not on the monotonic clock; using arrival time');
      this.#clockWarned = true;
      at = now;
    }
    this.emit('level', { level: edge.level, at });
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    if (!this.#running) return;
    const lived = monotonicMs() - this.#spawnedAt;
    const { stableMs = 10_000, failuresBeforeError = 5, logger } = this.#options;
    if (lived >= stableMs) this.#respawnBackoff.reset(); // it ran fine: a new episode
    const delay = this.#respawnBackoff.next();
    const failures = this.#respawnBackoff.attempt;
    const why = firstLine(this.#stderrTail);
    // Warn while it may still recover; after the error event, keep the journal quiet.
    const log = failures <= failuresBeforeError ? logger.warn : logger.debug;
    log.call(logger, 'gpiomon exited; restarting it', { code, signal, stderr: why, restartInMs: delay });
    // Whatever happened while it was gone, do not leave a press hanging.
    this.emit('level', { level: this.#idleLevel, at: monotonicMs() });
    if (failures === failuresBeforeError) {
      this.emit(
        'error',
        new PttError('GPIOMON_DIED', `gpiomon keeps exiting (${failures} times in a row): ${why || `code ${code ?? signal}`}`, {
          context: { args: this.#args, code, signal },
          hint: 'check the line is free (gpioinfo) and that the service user is in group gpio',
        }),
      );
    }
    this.#respawnTimer = setTimeout(() => {
      this.#respawnTimer = undefined;
      if (this.#running) this.#spawnChild().catch((err: unknown) => this.emit('error', err as PttError));
    }, delay);
  }
}
