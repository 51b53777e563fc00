/**
 * A microphone that stops delivering: reported once per stall (MIC_STALLED, logged), its
 * recovery logged when audio comes again. Every capture backend feeds it and asks it on its own
 * schedule (a batch tick, a watchdog timer).
 */
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export class StallWatch {
  #lastAt = 0;
  #stalled = false;

  constructor(private readonly o: { device: string; stallMs: number; logger: Logger | undefined; report: (err: PttError) => void }) {}

  get stalled(): boolean {
    return this.#stalled;
  }

  /** The device (re)opened: the watch starts from now, unless a stall is still being reported. */
  opened(): void {
    if (!this.#stalled) this.#lastAt = performance.now();
  }

  /** Audio came; the end of a stall is logged. */
  delivered(): void {
    const now = performance.now();
    if (this.#stalled) {
      this.#stalled = false;
      this.o.logger?.info('microphone delivers again', { device: this.o.device, stalledMs: Math.round(now - this.#lastAt) });
    }
    this.#lastAt = now;
  }

  /** Reports a stall that began; returns how long until the next look is worth it. */
  check(): number {
    const since = performance.now() - this.#lastAt;
    if (this.#stalled) return this.o.stallMs;
    if (since < this.o.stallMs) return this.o.stallMs - since;
    this.#stalled = true;
    const { device } = this.o;
    const msSinceLastFrame = Math.round(since);
    this.o.logger?.warn('microphone stalled', { device, msSinceLastFrame });
    this.o.report(
      new PttError('MIC_STALLED', `capture device "${device}" has delivered no audio for ${msSinceLastFrame} ms`, {
        context: { device, msSinceLastFrame },
        hint: 'check the microphone and its cable or USB port; capture continues by itself when the device delivers again',
      }),
    );
    return this.o.stallMs;
  }
}
