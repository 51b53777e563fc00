import { TypedEmitter } from '../core/typed-emitter.js';
import { monotonicMs } from '../core/clock.js';
import type { ButtonEvents, ButtonMode } from './types.js';

export interface ButtonLogicOptions {
  debounceMs: number;
  mode: ButtonMode;
  longPressMs: number;
  doublePressMs: number;
  /** The clock `at` values are on (monotonic ms); injectable for fake timers. */
  now?: () => number;
}

type LogicEvents = Omit<ButtonEvents, 'error'>;

/**
 * Turns contact changes into button events. Pure: no I/O, only timers.
 *
 * Debounce: a physical change is accepted once the raw level has stayed put for
 * `debounceMs` after the last edge (so a glitch shorter than the window is ignored and a
 * bouncing burst yields exactly one change); the event carries the time of the burst's
 * first edge, so `heldMs` is the real press length. Events arrive `debounceMs` late,
 * which the microphone pre-roll covers; a misfired turn is worse than 25 ms.
 *
 * Two inputs are wired-OR, like two switches on one pin: the debounced physical contact
 * and the virtual contact (control socket), which cannot bounce and skips the debounce.
 *
 * Modes, on that combined contact:
 * - hold: contact closes -> `press`; opens -> `release` (heldMs = contact time).
 * - toggle: 1st closure -> `press`; the next closure -> `release` (heldMs = time since
 *   the `press`); openings emit nothing.
 * In both modes `longPress` fires once while the contact stays closed for `longPressMs`,
 * and `doublePress` follows the `press`/`release` of a closure that comes within
 * `doublePressMs` of the end of a short (not long) closure. Single presses are never
 * delayed to wait for a possible second one: push-to-talk must start at once.
 */
export class ButtonLogic extends TypedEmitter<LogicEvents> {
  readonly #now: () => number;
  // debounce state (physical input)
  #stablePhysical = false;
  #rawPhysical = false;
  #burstStart: number | undefined;
  #settleTimer: NodeJS.Timeout | undefined;
  // combined contact
  #virtualPressed = false;
  #contact = false;
  // gestures
  #downAt = 0;
  #active = false;
  #activeSince = 0;
  #lastUpAt: number | undefined;
  #lastWasShort = false;
  #lastWasDouble = false;
  #longTimer: NodeJS.Timeout | undefined;
  #heldAtStart = false;

  readonly #options: ButtonLogicOptions;

  constructor(options: ButtonLogicOptions) {
    super();
    this.#options = options;
    this.#now = options.now ?? monotonicMs;
  }

  /** The logical state: held (hold mode) or switched on (toggle mode). */
  get pressed(): boolean {
    return this.#options.mode === 'hold' ? this.#contact : this.#active;
  }

  /** The physical contact level when a backend starts: a baseline, never an event. */
  setPhysicalBaseline(pressed: boolean): void {
    this.#clearSettle();
    this.#stablePhysical = this.#rawPhysical = pressed;
    // A button held while the daemon starts is not a press: wait for it to be let go.
    this.#contact = this.#stablePhysical || this.#virtualPressed;
    this.#heldAtStart = this.#contact;
  }

  /** A raw (bouncy) physical contact level. */
  physical(pressed: boolean, at: number): void {
    this.#rawPhysical = pressed;
    if (this.#burstStart === undefined) {
      if (pressed === this.#stablePhysical) return;
      this.#burstStart = at;
    }
    if (this.#options.debounceMs <= 0) return this.#settle();
    if (this.#settleTimer) clearTimeout(this.#settleTimer);
    this.#settleTimer = setTimeout(() => this.#settle(), this.#options.debounceMs);
  }

  /** A clean contact level from the virtual button. */
  virtual(pressed: boolean, at: number): void {
    this.#virtualPressed = pressed;
    this.#update(at);
  }

  /** Clears timers; call when the button stops. */
  dispose(): void {
    this.#clearSettle();
    if (this.#longTimer) clearTimeout(this.#longTimer);
    this.#longTimer = undefined;
  }

  #clearSettle(): void {
    if (this.#settleTimer) clearTimeout(this.#settleTimer);
    this.#settleTimer = undefined;
    this.#burstStart = undefined;
  }

  #settle(): void {
    const start = this.#burstStart ?? this.#now();
    this.#settleTimer = undefined;
    this.#burstStart = undefined;
    if (this.#rawPhysical === this.#stablePhysical) return; // a glitch that came back
    this.#stablePhysical = this.#rawPhysical;
    this.#update(start);
  }

  #update(at: number): void {
    const closed = this.#stablePhysical || this.#virtualPressed;
    if (closed === this.#contact) return;
    this.#contact = closed;
    if (closed) this.#onClose(at);
    else this.#onOpen(at);
  }

  #onClose(at: number): void {
    const { doublePressMs, longPressMs, mode } = this.#options;
    const isDouble =
      doublePressMs > 0 &&
      this.#lastUpAt !== undefined &&
      this.#lastWasShort &&
      !this.#lastWasDouble &&
      at - this.#lastUpAt <= doublePressMs;
    this.#downAt = at;
    this.#lastWasDouble = isDouble;
    if (mode === 'hold' || !this.#active) {
      this.#active = true;
      this.#activeSince = at;
      this.emit('press', { at });
    } else {
      this.#active = false;
      this.emit('release', { at, heldMs: at - this.#activeSince });
    }
    if (isDouble) this.emit('doublePress', { at });
    if (longPressMs > 0) {
      const delay = Math.max(0, at + longPressMs - this.#now());
      this.#longTimer = setTimeout(() => {
        this.#longTimer = undefined;
        if (this.#contact && this.#downAt === at) this.emit('longPress', { at: at + longPressMs });
      }, delay);
    }
  }

  #onOpen(at: number): void {
    if (this.#heldAtStart) {
      this.#heldAtStart = false; // the end of a hold that began before we were watching
      return;
    }
    if (this.#longTimer) clearTimeout(this.#longTimer);
    this.#longTimer = undefined;
    const held = at - this.#downAt;
    this.#lastWasShort = this.#options.longPressMs <= 0 || held < this.#options.longPressMs;
    // After a double press the chain restarts: a third quick press is not another double.
    this.#lastUpAt = this.#lastWasDouble ? undefined : at;
    if (this.#options.mode === 'hold') {
      this.#active = false;
      this.emit('release', { at, heldMs: held });
    }
  }
}
