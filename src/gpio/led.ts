import { spawn, type ChildProcess } from 'node:child_process';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import { checkDeviceAccess, hostOf, selectBackend } from './board.js';
import { toolChildEnv } from '../core/child-env.js';
import type { CreateButtonDeps } from './create-button.js';
import { LED_PATTERNS, LED_SIGNALS, type LedSignal, type LedState, type LedStep } from './led-patterns.js';
import { gpiosetArgs, gpiosetToggleArgs, type LibgpiodVersion } from './libgpiod-format.js';
import { detectLibgpiod, findLine } from './libgpiod-tools.js';
import { acquireRpio, releaseRpio, type Rpio, type RpioMock } from './rpio-driver.js';
import type { GpioOptions } from './types.js';

/** Drives one output line. */
export interface LedDriver {
  start(): Promise<void>;
  write(level: 0 | 1): void;
  /** Plays a whole looping pattern by itself (no timer per step); false when it cannot. */
  loop?(steps: readonly LedStep[]): boolean;
  stop(): Promise<void>;
}

export class RpioLedDriver implements LedDriver {
  #rpio: Rpio | undefined;
  readonly #pin: number;
  readonly #mock: RpioMock;
  constructor(pin: number, mock: RpioMock = false) {
    this.#pin = pin;
    this.#mock = mock;
  }
  async start(): Promise<void> {
    if (this.#rpio) return;
    const rpio = acquireRpio(this.#mock);
    this.#rpio = rpio;
    rpio.open(this.#pin, rpio.OUTPUT, rpio.LOW);
  }
  write(level: 0 | 1): void {
    this.#rpio?.write(this.#pin, level);
  }
  async stop(): Promise<void> {
    const rpio = this.#rpio;
    this.#rpio = undefined;
    if (!rpio) return;
    rpio.write(this.#pin, rpio.LOW);
    rpio.close(this.#pin, rpio.PIN_RESET);
    releaseRpio(rpio);
  }
}

/**
 * gpioset holds a line only while it runs, so a change replaces the child. libgpiod 2.x
 * gpioset can toggle by itself (`--toggle=60ms,2940ms` repeats): one child per LED state.
 * 1.x cannot, so there it is one child per level change.
 */
export class GpiosetLedDriver implements LedDriver {
  #child: ChildProcess | undefined;
  #line: { chip: string; offset: number } | undefined;
  #version: LibgpiodVersion | undefined;
  #level: 0 | 1 | undefined;
  readonly #options: { pin: number; chip: string | null; logger: Logger; path?: string };
  constructor(options: { pin: number; chip: string | null; logger: Logger; path?: string }) {
    this.#options = options;
  }
  async start(): Promise<void> {
    this.#version = await detectLibgpiod(this.#options.path);
    this.#line = await findLine(this.#options.pin, this.#options.chip, this.#version, this.#options.path);
  }
  write(level: 0 | 1): void {
    if (!this.#line || !this.#version || level === this.#level) return;
    this.#level = level;
    this.#run(gpiosetArgs(this.#version, this.#line, level));
  }
  loop(steps: readonly LedStep[]): boolean {
    if (!this.#line || !this.#version) return false;
    const toggles = gpiosetToggleArgs(this.#version, this.#line, steps);
    if (!toggles) return false;
    this.#level = undefined; // the child changes the level by itself
    this.#run(toggles);
    return true;
  }
  #run(args: string[]): void {
    this.#child?.kill('SIGTERM');
    const child = spawn('gpioset', args, { env: toolChildEnv(this.#options.path), stdio: 'ignore' });
    child.on('error', (err) => this.#options.logger.warn('gpioset failed; the LED is not updated', { error: err }));
    this.#child = child;
  }
  async stop(): Promise<void> {
    this.#line = undefined;
    const child = this.#child;
    this.#child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    }
  }
}

/** The status LED: plays LED_PATTERNS[state] on a driver; without a driver it does nothing. */
export class Led implements Component {
  readonly name = 'gpio.led';
  #timer: NodeJS.Timeout | undefined;
  #current: LedState | undefined;
  /** A signal shown over the state pattern (the state is still followed underneath). */
  #signal: LedSignal | undefined;
  #running = false;
  #out: 0 | 1 = 0;
  readonly #driver: LedDriver | undefined;
  constructor(driver: LedDriver | undefined) {
    this.#driver = driver;
  }

  get state(): LedState | undefined {
    return this.#current;
  }

  /** The level last written (0 off, 1 on). */
  get level(): 0 | 1 {
    return this.#out;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    await this.#driver?.start();
    this.#running = true;
    this.#show();
  }

  setState(state: LedState): void {
    if (state === this.#current) return;
    this.#current = state;
    if (!this.#signal) this.#show();
  }

  /** Shows a signal over the state pattern; undefined goes back to the state's pattern. */
  signal(name: LedSignal | undefined): void {
    if (name === this.#signal) return;
    this.#signal = name;
    this.#show();
  }

  #show(): void {
    if (!this.#running) return;
    if (this.#signal) this.#play(LED_SIGNALS[this.#signal], 0);
    else if (this.#current) this.#play(LED_PATTERNS[this.#current], 0);
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#driver?.stop();
    this.#out = 0;
  }

  #play(steps: readonly LedStep[], index: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#driver) {
      // No LED: nothing to blink, so no timer waking the daemon for it.
      this.#out = steps[0]![0];
      return;
    }
    if (index === 0 && steps.length > 1 && this.#driver.loop?.(steps)) {
      this.#out = steps[0]![0];
      return;
    }
    const [level, ms] = steps[index % steps.length]!;
    this.#out = level;
    this.#driver.write(level);
    if (Number.isFinite(ms) && steps.length > 1) {
      this.#timer = setTimeout(() => this.#play(steps, index + 1), ms);
      this.#timer.unref(); // the LED alone never keeps the process alive
    }
  }
}

/**
 * The status LED for the configured backend: rpio writes on Pi 1-4, gpioset on the Pi 5,
 * nothing when gpio.ledPin is null or the backend is virtual.
 */
export function createLed(options: GpioOptions, deps: CreateButtonDeps): Led {
  const logger = deps.logger.child('led');
  if (options.ledPin === null) return new Led(undefined);
  const choice = selectBackend(options, hostOf(deps));
  if (!choice.ok) throw choice.error;
  if (choice.backend === 'virtual') {
    logger.info('gpio.ledPin is ignored with the virtual backend');
    return new Led(undefined);
  }
  if (choice.backend === 'rpio') {
    if (!deps.rpioMock) {
      const problems = checkDeviceAccess('rpio', deps.host);
      if (problems[0]) throw problems[0];
    }
    return new Led(new RpioLedDriver(options.ledPin, deps.rpioMock ?? false));
  }
  return new Led(new GpiosetLedDriver({ pin: options.ledPin, chip: options.chip, logger, path: deps.path }));
}
