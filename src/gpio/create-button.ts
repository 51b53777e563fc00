import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { checkDeviceAccess, hostOf, selectBackend, type GpioHost } from './board.js';
import { Button } from './button.js';
import { GpiomonBackend } from './gpiomon-backend.js';
import { detectLibgpiod, findLine } from './libgpiod-tools.js';
import { RpioBackend } from './rpio-backend.js';
import type { RpioMock } from './rpio-driver.js';
import { VirtualBackend } from './virtual-backend.js';
import type { EdgeBackend, GpioOptions } from './types.js';

export interface CreateButtonDeps {
  logger: Logger;
  /** Board facts (model file, /dev, identity); real ones by default. */
  host?: GpioHost;
  /** rpio mock board for tests and benchmarks; device checks are skipped with it. */
  rpioMock?: RpioMock;
  /** PATH used to find gpiomon and friends (tests put fakes first). */
  path?: string;
  /** Clock for ButtonLogic (fake timers in tests). */
  now?: () => number;
}

/**
 * Builds the button. The virtual button (control socket) is always part of it; the
 * physical backend is chosen by `options.backend` (`auto`: from the device-tree model)
 * and feeds the same ButtonLogic, so remote triggers work next to a real button.
 * Throws a PttError naming the fix when the board or its GPIO access does not fit.
 */
export function createButton(options: GpioOptions, deps: CreateButtonDeps): Button {
  const logger = deps.logger.child('gpio');
  const choice = selectBackend(options, hostOf(deps));
  if (!choice.ok) throw choice.error;
  logger.info('button backend chosen', { backend: choice.backend, why: choice.reason, pin: options.pin });
  let physical: EdgeBackend | undefined;
  if (choice.backend !== 'virtual') {
    if (!(choice.backend === 'rpio' && deps.rpioMock)) {
      const problems = checkDeviceAccess(choice.backend, deps.host);
      if (problems[0]) throw problems[0];
    }
    physical =
      choice.backend === 'rpio'
        ? new RpioBackend({ pin: options.pin, pull: options.pull, sampleMs: options.sampleMs, mock: deps.rpioMock ?? false })
        : new GpiomonBackend({
            pin: options.pin,
            chip: options.chip,
            pull: options.pull,
            activeLow: options.activeLow,
            logger,
            path: deps.path,
          });
  }
  return new Button(
    {
      debounceMs: options.debounceMs,
      mode: options.mode,
      longPressMs: options.longPressMs,
      doublePressMs: options.doublePressMs,
      activeLow: options.activeLow,
      backendName: choice.backend,
      ...(deps.now ? { now: deps.now } : {}),
    },
    physical,
    new VirtualBackend(),
    logger,
  );
}

export interface GpioAccessReport {
  /** The backend the button would use and why (undefined when `auto` cannot choose). */
  backend?: string;
  why?: string;
  /** Everything that would stop it from working, each with its fix; empty when all is well. */
  problems: PttError[];
}

/** What `realtime-ptt doctor` says about the GPIO: the backend in use, why, and its problems. */
export async function checkGpioAccess(options: GpioOptions, deps: { host?: GpioHost; path?: string } = {}): Promise<GpioAccessReport> {
  const problems: PttError[] = [];
  if (options.ledPin !== null && options.ledPin === options.pin) {
    problems.push(
      new PttError('GPIO_PIN_CLASH', `gpio.ledPin and gpio.pin are both ${options.pin}`, {
        hint: 'wire the LED to another pin and set gpio.ledPin to it',
      }),
    );
  }
  const choice = selectBackend(options, hostOf(deps));
  if (!choice.ok) return { problems: [...problems, choice.error] };
  const report = { backend: choice.backend, why: choice.reason, problems };
  if (choice.backend === 'virtual') return report;
  problems.push(...checkDeviceAccess(choice.backend, deps.host));
  if (choice.backend === 'gpiomon') {
    try {
      // The line must exist too: a wrong gpio.chip or pin is named here, with the chips there are.
      await findLine(options.pin, options.chip, await detectLibgpiod(deps.path), deps.path);
    } catch (err) {
      problems.push(err as PttError);
    }
  }
  return report;
}
