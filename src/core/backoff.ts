/**
 * Exponential retry delays with "equal jitter": half the step is fixed, half random, so a fleet
 * of devices that lost the same server (or a bus of mics that lost power) does not come back in
 * lockstep. Used by the session's reconnects and the capture's reopens.
 */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

export class Backoff {
  #attempt = 0;
  constructor(private readonly options: BackoffOptions) {}

  /** Failed attempts since the last success. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt; each call doubles the step up to maxMs. */
  next(): number {
    const { minMs, maxMs } = this.options;
    const step = Math.min(maxMs, minMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt += 1;
    const random = this.options.random ?? Math.random;
    return Math.round(step / 2 + (random() * step) / 2);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
