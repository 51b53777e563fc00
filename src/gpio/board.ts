import { accessSync, constants, readFileSync, readdirSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { PttError } from '../core/errors.js';
import type { GpioOptions } from './types.js';

/** Where board facts come from; every path and the identity are injectable for tests. */
export interface GpioHost {
  modelPath?: string;
  devDir?: string;
  /** The search path for the libgpiod tools (default PATH). */
  path?: string;
  identity?: { uid: number; gids: number[]; user: string };
}

export type PhysicalBackend = 'rpio' | 'gpiomon';
export type BoardKind = 'pi5' | 'pi' | 'other';

export function readBoardModel(host: GpioHost = {}): string | undefined {
  try {
    return readFileSync(host.modelPath ?? '/proc/device-tree/model', 'utf8')
      .replace(/\0+$/, '')
      .trim();
  } catch {
    return undefined;
  }
}

/** Pi 5 family (5, 500, CM5: the RP1 chip rpio cannot drive) vs Pi 1-4/Zero/CM1-4. */
export function boardKind(model: string): BoardKind {
  if (/^Raspberry Pi (5|500|Compute Module 5)\b/.test(model)) return 'pi5';
  if (/^Raspberry Pi\b/.test(model)) return 'pi';
  return 'other';
}

export type BackendChoice = { ok: true; backend: PhysicalBackend | 'virtual'; reason: string } | { ok: false; error: PttError };

/**
 * Resolves `auto`: on any Raspberry Pi with a GPIO character device and libgpiod's gpiomon,
 * the kernel's edge events; on a Pi 1-4 without them, rpio sampling. Explicit choices pass through.
 */
export function selectBackend(options: Pick<GpioOptions, 'backend'>, host: GpioHost = {}): BackendChoice {
  if (options.backend !== 'auto') return { ok: true, backend: options.backend, reason: 'configured' };
  const modelPath = host.modelPath ?? '/proc/device-tree/model';
  const model = readBoardModel(host);
  const virtualHint =
    'set gpio.backend: virtual to use the button on the control socket only (realtime-ptt press/release), or gpiomon for a board with a GPIO character device';
  if (model === undefined) {
    return {
      ok: false,
      error: new PttError('GPIO_NO_BOARD', `cannot tell which board this is: ${modelPath} is missing (not a Raspberry Pi?)`, {
        context: { modelPath },
        hint: virtualHint,
      }),
    };
  }
  const kind = boardKind(model);
  if (kind === 'other') {
    return {
      ok: false,
      error: new PttError('GPIO_NOT_A_PI', `this board (${model}) is not a Raspberry Pi, so gpio.backend: auto cannot choose`, {
        context: { model },
        hint: virtualHint,
      }),
    };
  }
  // Kernel edge events cost nothing while idle; rpio reads the pin on a timer (its sampleMs).
  const chips = gpioChips(host);
  const gpiomon = findTool('gpiomon', host.path);
  if (chips.length > 0 && gpiomon) {
    return { ok: true, backend: 'gpiomon', reason: `${model}: kernel edge events (${join(devDir(host), chips[0]!)} and ${gpiomon} exist)` };
  }
  const missing = [
    chips.length === 0 ? `no ${join(devDir(host), 'gpiochip*')}` : '',
    gpiomon ? '' : 'no gpiomon on PATH (sudo apt install gpiod)',
  ]
    .filter(Boolean)
    .join(', ');
  // The Pi 5 family has nothing else: let the gpiomon checks name what is missing.
  if (kind === 'pi5') return { ok: true, backend: 'gpiomon', reason: `${model}: Pi 5 family, rpio cannot drive its GPIO (${missing})` };
  return { ok: true, backend: 'rpio', reason: `${model}: rpio sampling as the fallback (${missing})` };
}

/** Board facts with the tools' search path, for selectBackend. */
export function hostOf(deps: { host?: GpioHost; path?: string }): GpioHost {
  return deps.path === undefined ? (deps.host ?? {}) : { path: deps.path, ...deps.host };
}

function devDir(host: GpioHost): string {
  return host.devDir ?? '/dev';
}

/** The GPIO character devices, gpiochip0 first. */
function gpioChips(host: GpioHost): string[] {
  try {
    return readdirSync(devDir(host))
      .filter((n) => /^gpiochip\d+$/.test(n))
      .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)));
  } catch {
    return [];
  }
}

/** The executable `name` on the search path, or undefined. */
export function findTool(name: string, path: string | undefined = process.env.PATH): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function identity(host: GpioHost): { uid: number; gids: number[]; user: string } {
  if (host.identity) return host.identity;
  return { uid: process.getuid?.() ?? 0, gids: process.getgroups?.() ?? [], user: userInfo().username };
}

/** Read+write permission from the file mode, as the kernel decides it for this identity. */
function canReadWrite(path: string, who: { uid: number; gids: number[] }): boolean {
  const st = statSync(path);
  if (who.uid === 0) return true;
  const bits = st.uid === who.uid ? (st.mode >> 6) & 7 : who.gids.includes(st.gid) ? (st.mode >> 3) & 7 : st.mode & 7;
  return (bits & 6) === 6;
}

/** Problems with the device nodes the backend needs (empty when all is well). */
export function checkDeviceAccess(backend: PhysicalBackend, host: GpioHost = {}): PttError[] {
  const dir = devDir(host);
  const who = identity(host);
  const groupFix = `add the service user to group gpio: sudo usermod -aG gpio ${who.user} (then log in again or restart the service)`;
  const nodes = backend === 'rpio' ? ['gpiomem'] : gpioChips(host);
  if (backend === 'rpio' && !safeExists(join(dir, 'gpiomem'))) {
    return [
      new PttError('GPIO_NO_DEVICE', `${join(dir, 'gpiomem')} does not exist, so rpio cannot reach the GPIO`, {
        context: { backend },
        hint: 'on a Pi 1-4 with Raspberry Pi OS it is always there; on a Pi 5 or another board set gpio.backend: gpiomon, without GPIO set gpio.backend: virtual',
      }),
    ];
  }
  if (backend === 'gpiomon' && nodes.length === 0) {
    return [
      new PttError('GPIO_NO_DEVICE', `no GPIO character device (${join(dir, 'gpiochip*')}) on this machine`, {
        context: { backend },
        hint: 'this board exposes no GPIO to Linux; set gpio.backend: virtual to use the control socket only',
      }),
    ];
  }
  const denied = nodes.map((n) => join(dir, n)).filter((p) => !canReadWrite(p, who));
  if (denied.length === 0) return [];
  return [
    new PttError('GPIO_ACCESS', `user ${who.user} may not use ${denied.join(', ')} (not in its group)`, {
      context: { backend, devices: denied, user: who.user },
      hint: groupFix,
    }),
  ];
}

function safeExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
