import { TypedEmitter } from '../core/typed-emitter.js';
import { PttError } from '../core/errors.js';
import type { Component } from '../core/component.js';
import { monotonicMs } from '../core/clock.js';

export type VirtualBackendEvents = { contact: [{ pressed: boolean; at: number }] };

export const MAX_TAP_MS = 60_000;
export const DEFAULT_TAP_MS = 200;

/**
 * The software button behind the control socket (tests, the demo, remote triggers). Its
 * contact is clean (no bounce) and is wired-OR with the physical button in ButtonLogic,
 * so it behaves exactly like a second switch on the same pin, in either mode.
 */
export class VirtualBackend extends TypedEmitter<VirtualBackendEvents> implements Component {
  readonly name = 'gpio.virtual';
  #pressedNow = false;
  #tapTimer: { timer: NodeJS.Timeout; done: () => void } | undefined;

  get pressed(): boolean {
    return this.#pressedNow;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.#finishTap();
    this.#set(false);
  }

  press(): void {
    this.#finishTap();
    this.#set(true);
  }

  release(): void {
    this.#finishTap();
    this.#set(false);
  }

  /** Press, hold for `ms`, release; resolves after the release. */
  tap(ms: number = DEFAULT_TAP_MS): Promise<void> {
    if (!Number.isInteger(ms) || ms < 1 || ms > MAX_TAP_MS) {
      return Promise.reject(
        new PttError('CONTROL_BAD_TAP', `tap length must be a whole number of milliseconds from 1 to ${MAX_TAP_MS}, got ${ms}`),
      );
    }
    this.press();
    return new Promise((resolve) => {
      const done = () => {
        this.#tapTimer = undefined;
        this.#set(false);
        resolve();
      };
      this.#tapTimer = { timer: setTimeout(done, ms), done };
    });
  }

  /** A press/release while a tap runs ends the tap now (its promise resolves). */
  #finishTap(): void {
    const tap = this.#tapTimer;
    if (!tap) return;
    clearTimeout(tap.timer);
    tap.done();
  }

  #set(pressed: boolean): void {
    if (pressed === this.#pressedNow) return;
    this.#pressedNow = pressed;
    this.emit('contact', { pressed, at: monotonicMs() });
  }
}
