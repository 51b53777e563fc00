/**
 * Restarting an audio child (arecord, aplay) that died: the outage is reported once, each
 * attempt is logged with its delay, delays grow (core/backoff.ts) until a start succeeds or the
 * owner stops.
 */
import { Backoff } from '../core/backoff.js';
import { type PttError, toPttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export interface RespawnerOptions {
  /** The child's name in the log ("aplay is down; restarting"). */
  what: string;
  minMs: number;
  maxMs: number;
  logger: Logger | undefined;
  /** Starts the child; a rejection is another failed attempt. */
  spawn: () => Promise<void>;
  /** The owner is stopping or stopped: no more attempts. */
  stopped: () => boolean;
  /** The first failure of an outage. */
  report: (err: PttError) => void;
  /** Running again after `attempt` failed starts. */
  restarted: (attempt: number) => void;
  /** The code a non-PttError start failure is reported with. */
  code: string;
}

export class Respawner {
  readonly #o: RespawnerOptions;
  readonly #backoff: Backoff;
  #timer: NodeJS.Timeout | undefined;
  #outage = false;

  constructor(options: RespawnerOptions) {
    this.#o = options;
    this.#backoff = new Backoff({ minMs: options.minMs, maxMs: options.maxMs });
  }

  /** The child died (or failed to start again): the next start is scheduled. */
  died(err: PttError): void {
    const o = this.#o;
    if (o.stopped()) return;
    if (!this.#outage) o.report(err);
    this.#outage = true;
    const delay = this.#backoff.next();
    o.logger?.warn(`${o.what} is down; restarting`, { code: err.code, reason: err.message, inMs: delay, attempt: this.#backoff.attempt });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (o.stopped()) return;
      o.spawn().then(
        () => {
          this.#outage = false;
          const attempt = this.#backoff.attempt;
          this.#backoff.reset();
          o.restarted(attempt);
        },
        (e: unknown) => this.died(toPttError(e, o.code)),
      );
    }, delay);
  }

  /** No restart is pending after this. */
  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
