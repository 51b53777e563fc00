import type { PttError } from '../core/errors.js';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';

export type GpioBackendName = 'auto' | 'rpio' | 'gpiomon' | 'virtual';
export type ButtonMode = 'hold' | 'toggle';
export type Pull = 'up' | 'down' | 'off';

/**
 * The `gpio` section of the config, declared here so this module does not depend on
 * src/config (the convict schema carries the same keys, defaults and docs).
 */
export interface GpioOptions {
  backend: GpioBackendName;
  /** BCM (GPIOxx) number of the button. */
  pin: number;
  activeLow: boolean;
  pull: Pull;
  debounceMs: number;
  mode: ButtonMode;
  /** 0 disables the longPress event. */
  longPressMs: number;
  /** 0 disables the doublePress event. */
  doublePressMs: number;
  /** rpio backend: how often the pin level is read. */
  sampleMs: number;
  ledPin: number | null;
  /** gpiochip name, number or path for gpiomon/gpioset; null = find it from the line name. */
  chip: string | null;
}

export const DEFAULT_GPIO_OPTIONS: GpioOptions = {
  backend: 'auto',
  pin: 17,
  activeLow: true,
  pull: 'up',
  debounceMs: 20, // the config schema's default (gpio.debounceMs)
  mode: 'hold',
  longPressMs: 1500,
  doublePressMs: 400,
  sampleMs: 5,
  ledPin: null,
  chip: null,
};

/** A raw pin level (0 low, 1 high) and when it was observed, in monotonic milliseconds. */
export interface LevelSample {
  level: 0 | 1;
  at: number;
  /** The level read when the backend started (a baseline, not an edge). */
  initial?: boolean;
}

export type EdgeBackendEvents = {
  level: [LevelSample];
  /** A problem the backend could not recover from by itself (it keeps trying if it can). */
  error: [PttError];
};

/**
 * A raw edge source at the hardware edge: it reports pin levels with timestamps and knows
 * nothing about debounce, polarity or modes (that is ButtonLogic's job).
 */
export interface EdgeBackend extends Component {
  on<K extends keyof EdgeBackendEvents & string>(event: K, listener: (...args: EdgeBackendEvents[K]) => void): unknown;
  off<K extends keyof EdgeBackendEvents & string>(event: K, listener: (...args: EdgeBackendEvents[K]) => void): unknown;
}

export type ButtonEvents = {
  press: [{ at: number }];
  release: [{ at: number; heldMs: number }];
  longPress: [{ at: number }];
  doublePress: [{ at: number }];
  error: [PttError];
};

export interface GpioDeps {
  logger: Logger;
}
