/** A token bucket per key (device, address): `burst` at once, refilled at `perMinute`. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** 0 when allowed (and counted), else the milliseconds until the next one is allowed. */
  take(key: string): number {
    const b = this.#refill(key);
    const wait = this.#waitFor(b.tokens);
    if (wait === 0) b.tokens -= 1;
    this.#store(key, b);
    return wait;
  }

  #waitFor(tokens: number): number {
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) * 60_000) / this.perMinute);
  }

  #refill(key: string): { tokens: number; at: number } {
    const t = this.now();
    const b = this.#buckets.get(key) ?? { tokens: this.burst, at: t };
    return { tokens: Math.min(this.burst, b.tokens + ((t - b.at) * this.perMinute) / 60_000), at: t };
  }

  #store(key: string, b: { tokens: number; at: number }): void {
    // A full bucket is the same as none: dropping it bounds memory under a flood of keys.
    if (b.tokens >= this.burst) this.#buckets.delete(key);
    else this.#buckets.set(key, b);
  }
}
