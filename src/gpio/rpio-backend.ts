import { TypedEmitter } from '../core/typed-emitter.js';
import { toPttError } from '../core/errors.js';
import { monotonicMs } from '../core/clock.js';
import { acquireRpio, releaseRpio, type Rpio, type RpioMock } from './rpio-driver.js';
import type { EdgeBackend, EdgeBackendEvents, Pull } from './types.js';

export interface RpioBackendOptions {
  pin: number;
  pull: Pull;
  sampleMs: number;
  /** rpio mock board (tests/bench); false on a real Pi. */
  mock?: RpioMock;
}

/**
 * Pi 1-4: reads the pin level on a timer. rpio.poll is avoided on purpose: it runs a
 * 1 ms interval (measurably more CPU, see bench/gpio.ts), needs the gpio-no-irq overlay
 * on real hardware, and never fires in mock mode.
 */
export class RpioBackend extends TypedEmitter<EdgeBackendEvents> implements EdgeBackend {
  readonly name = 'gpio.rpio';
  #rpio: Rpio | undefined;
  #timer: NodeJS.Timeout | undefined;
  #last: 0 | 1 = 1;
  readonly #options: RpioBackendOptions;

  constructor(options: RpioBackendOptions) {
    super();
    this.#options = options;
  }

  async start(): Promise<void> {
    if (this.#rpio) return;
    const rpio = acquireRpio(this.#options.mock ?? false);
    this.#rpio = rpio;
    const pull = { up: rpio.PULL_UP, down: rpio.PULL_DOWN, off: rpio.PULL_OFF }[this.#options.pull];
    try {
      rpio.open(this.#options.pin, rpio.INPUT, pull);
    } catch (err) {
      await this.stop();
      throw toPttError(err, 'GPIO_PIN', { pin: this.#options.pin });
    }
    this.#last = this.#read();
    this.emit('level', { level: this.#last, at: monotonicMs(), initial: true });
    this.#timer = setInterval(() => this.#sample(), Math.max(1, this.#options.sampleMs));
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const rpio = this.#rpio;
    this.#rpio = undefined;
    if (!rpio) return;
    try {
      rpio.close(this.#options.pin, rpio.PIN_RESET);
    } catch {
      // the pin was never opened (start failed): nothing to give back
    }
    releaseRpio(rpio);
  }

  #read(): 0 | 1 {
    return this.#rpio?.read(this.#options.pin) ? 1 : 0;
  }

  #sample(): void {
    const level = this.#read();
    if (level === this.#last) return;
    this.#last = level;
    this.emit('level', { level, at: monotonicMs() });
  }
}
