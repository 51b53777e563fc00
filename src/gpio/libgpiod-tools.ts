import { execFile } from 'node:child_process';
import { PttError } from '../core/errors.js';
import { toolChildEnv } from '../core/child-env.js';
import {
  chipName,
  lineLookupCommand,
  parseGpiodetect,
  parseLibgpiodVersion,
  parseLineLookup,
  type LibgpiodVersion,
} from './libgpiod-format.js';

export interface ToolRun {
  stdout: string;
  stderr: string;
  code: number | null;
  missing: boolean;
}

/** Runs a libgpiod tool with the minimal child environment; never throws. */
export function runTool(cmd: string, args: string[], path?: string, timeoutMs = 3000): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: toolChildEnv(path), timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      resolve({
        stdout,
        stderr,
        code: e ? (typeof e.code === 'number' ? e.code : -1) : 0,
        missing: e?.code === 'ENOENT',
      });
    });
  });
}

const INSTALL_HINT = 'install libgpiod tools: sudo apt install gpiod';

export async function detectLibgpiod(path?: string): Promise<LibgpiodVersion> {
  const run = await runTool('gpiomon', ['--version'], path);
  if (run.missing) throw new PttError('GPIOMON_MISSING', 'gpiomon (libgpiod tools) is not installed', { hint: INSTALL_HINT });
  const version = parseLibgpiodVersion(run.stdout);
  if (!version) {
    throw new PttError(
      'GPIOMON_VERSION',
      `cannot tell the libgpiod version from 'gpiomon --version': ${firstLine(run.stdout + run.stderr)}`,
      {
        hint: 'libgpiod 1.5 or newer is needed (Debian package gpiod)',
      },
    );
  }
  return version;
}

/**
 * The chip and offset for BCM pin `pin`: the configured chip with the pin as offset, or
 * the chip that has a line named GPIO<pin> (its name on every Pi, including the Pi 5,
 * where the header is gpiochip4 on older kernels and gpiochip0 on newer ones).
 */
export async function findLine(
  pin: number,
  chip: string | null,
  version: LibgpiodVersion,
  path?: string,
): Promise<{ chip: string; offset: number }> {
  if (chip) {
    await checkChip(chip, pin, path);
    return { chip, offset: pin };
  }
  const name = `GPIO${pin}`;
  const [cmd, args] = lineLookupCommand(version, name);
  const run = await runTool(cmd, args, path);
  const found = run.code === 0 ? parseLineLookup(run.stdout) : undefined;
  if (!found) {
    throw new PttError(
      'GPIO_LINE_NOT_FOUND',
      `no GPIO line named ${name} (${cmd} ${args.join(' ')} found nothing${run.stderr ? `: ${firstLine(run.stderr)}` : ''})`,
      {
        context: { pin, tool: cmd },
        hint: 'set gpio.chip to the chip of your button line (see gpioinfo), e.g. chip: gpiochip0',
      },
    );
  }
  return found;
}

/**
 * A configured chip must exist and have the pin as a line; otherwise the error lists the chips
 * this machine has. When gpiodetect cannot tell (not allowed, no chips visible), gpiomon itself
 * reports the problem later.
 */
async function checkChip(chip: string, pin: number, path?: string): Promise<void> {
  const run = await runTool('gpiodetect', [], path);
  const chips = run.code === 0 ? parseGpiodetect(run.stdout) : [];
  if (chips.length === 0) return;
  const list = chips.map((c) => `${c.name} [${c.label}] (${c.lines} lines)`).join(', ');
  const found = chips.find((c) => c.name === chipName(chip));
  if (!found) {
    throw new PttError('GPIO_CHIP_NOT_FOUND', `gpio.chip "${chip}" does not exist; this machine has: ${list}`, {
      context: { chip, chips: chips.map((c) => c.name) },
      hint: `set gpio.chip to one of them, or to null to use the chip that has the line GPIO${pin}`,
    });
  }
  if (pin >= found.lines) {
    throw new PttError('GPIO_LINE_NOT_FOUND', `${found.name} has lines 0-${found.lines - 1}; gpio.pin ${pin} is not one of them`, {
      context: { chip: found.name, pin, lines: found.lines },
      hint: `check gpio.pin (BCM numbering) and gpio.chip (this machine has: ${list})`,
    });
  }
}

export function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
