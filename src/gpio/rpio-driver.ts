import { createRequire } from 'node:module';
import { PttError } from '../core/errors.js';

/** The part of rpio 2.4 this module uses (the package ships no types). */
export interface Rpio {
  init(options: { gpiomem?: boolean; mapping?: 'gpio' | 'physical'; mock?: string | false; close_on_exit?: boolean }): void;
  open(pin: number, mode: number, init?: number): void;
  close(pin: number, reset?: number): void;
  read(pin: number): number;
  write(pin: number, value: number): void;
  poll(pin: number, cb: ((pin: number) => void) | null, direction?: number): void;
  exit(): void;
  on(event: 'warn', listener: (msg: string) => void): void;
  removeListener(event: 'warn', listener: (msg: string) => void): void;
  readonly INPUT: number;
  readonly OUTPUT: number;
  readonly LOW: number;
  readonly HIGH: number;
  readonly PULL_OFF: number;
  readonly PULL_DOWN: number;
  readonly PULL_UP: number;
  readonly PIN_RESET: number;
}

export function loadRpio(): Rpio {
  return createRequire(import.meta.url)('rpio') as Rpio;
}

/** rpio mock board name (tests, bench) or false for real hardware. */
export type RpioMock = string | false;

let users = 0;

/**
 * rpio is a process-wide singleton shared by the button and the LED: init it once with
 * BCM numbering and `close_on_exit: false` (every init() with the default adds another
 * exit listener), and close it when the last user lets go.
 */
export function acquireRpio(mock: RpioMock): Rpio {
  const rpio = loadRpio();
  if (users === 0) {
    const warnings: string[] = [];
    const onWarn = (msg: string) => void warnings.push(msg);
    rpio.on('warn', onWarn);
    try {
      rpio.init({ gpiomem: true, mapping: 'gpio', mock, close_on_exit: false });
    } catch (err) {
      throw new PttError('GPIO_ACCESS', `rpio could not open /dev/gpiomem: ${(err as Error).message}`, {
        cause: err,
        hint: 'run as a user in group gpio (sudo usermod -aG gpio <user>, then log in again), or set gpio.backend: gpiomon',
      });
    } finally {
      rpio.removeListener('warn', onWarn);
    }
    // On an unknown board rpio silently falls back to a simulated Pi: refuse that.
    if (!mock && warnings.some((w) => /mock mode/.test(w))) {
      throw new PttError('GPIO_NOT_A_PI', 'rpio does not recognise this board as a Raspberry Pi 1-4', {
        context: { warnings },
        hint: 'on a Pi 5 or another board set gpio.backend: gpiomon; without GPIO set gpio.backend: virtual',
      });
    }
  }
  users++;
  return rpio;
}

export function releaseRpio(rpio: Rpio): void {
  if (users === 0) return;
  users--;
  if (users === 0) rpio.exit();
}
