/**
 * libgpiod's command lines and output formats, 1.x (Debian 12: 1.6.3) and 2.x, as pure
 * functions. The two majors differ in ways that matter: in 1.x `-b` means line-buffered
 * (without it stdout to a pipe is block-buffered and edges arrive late, in bursts) while
 * in 2.x `-b` is the bias; 1.x wants `<chip> <offset>`, 2.x `--chip <chip> <offset>`.
 */
import type { Pull } from './types.js';

export interface LibgpiodVersion {
  major: number;
  minor: number;
  text: string;
}

/** Parses `gpiomon --version` ("gpiomon (libgpiod) v1.6.3"). */
export function parseLibgpiodVersion(output: string): LibgpiodVersion | undefined {
  const m = /\(libgpiod\)\s+v?(\d+)\.(\d+)(?:\.\d+)?\S*/.exec(output);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), text: m[0].replace(/^\(libgpiod\)\s+/, '') };
}

const BIAS: Record<Pull, string> = { up: 'pull-up', down: 'pull-down', off: 'disable' };

export function gpiomonArgs(version: LibgpiodVersion, line: { chip: string; offset: number }, pull: Pull): string[] {
  if (version.major >= 2) {
    return [`--bias=${BIAS[pull]}`, '--edges=both', `--chip=${line.chip}`, String(line.offset)];
  }
  return ['--line-buffered', `--bias=${BIAS[pull]}`, line.chip, String(line.offset)];
}

/** gpioset holding one output line until it is signalled (the LED). */
export function gpiosetArgs(version: LibgpiodVersion, line: { chip: string; offset: number }, value: 0 | 1): string[] {
  if (version.major >= 2) return [`--chip=${line.chip}`, `${line.offset}=${value}`];
  return ['--mode=signal', line.chip, `${line.offset}=${value}`];
}

/**
 * 2.x gpioset that plays a looping pattern itself: start at the first level, toggle after each
 * period, repeat. Only for patterns that alternate levels with finite steps; undefined otherwise
 * (1.x has no --toggle).
 */
export function gpiosetToggleArgs(
  version: LibgpiodVersion,
  line: { chip: string; offset: number },
  steps: ReadonlyArray<readonly [0 | 1, number]>,
): string[] | undefined {
  if (version.major < 2 || steps.length < 2 || steps.length % 2 !== 0) return undefined;
  const alternating = steps.every(
    ([level, ms], i) => Number.isFinite(ms) && ms > 0 && level === (i % 2 === 0 ? steps[0]![0] : 1 - steps[0]![0]),
  );
  if (!alternating) return undefined;
  return [`--chip=${line.chip}`, `--toggle=${steps.map(([, ms]) => `${Math.round(ms)}ms`).join(',')}`, `${line.offset}=${steps[0]![0]}`];
}

/** How to find the chip of a named line: 1.x has gpiofind, 2.x folded it into gpioinfo. */
export function lineLookupCommand(version: LibgpiodVersion, lineName: string): [string, string[]] {
  return version.major >= 2 ? ['gpioinfo', [lineName]] : ['gpiofind', [lineName]];
}

/** Both `gpiofind` (1.x) and `gpioinfo <name>` (2.x) start their line with "<chip> <offset>". */
export function parseLineLookup(output: string): { chip: string; offset: number } | undefined {
  const m = /^(\S+)\s+(\d+)\b/m.exec(output.trim());
  return m ? { chip: m[1]!, offset: Number(m[2]) } : undefined;
}

export interface GpioChip {
  name: string;
  label: string;
  lines: number;
}

/** `gpiodetect` (1.x and 2.x alike): one "gpiochip0 [pinctrl-bcm2835] (54 lines)" per chip. */
export function parseGpiodetect(output: string): GpioChip[] {
  return [...output.matchAll(/^(\S+) \[([^\]]*)\] \((\d+) lines?\)$/gm)].map((m) => ({ name: m[1]!, label: m[2]!, lines: Number(m[3]) }));
}

/** gpio.chip may be written as a name, a number or a path: all mean gpiochipN. */
export function chipName(chip: string): string {
  if (/^\d+$/.test(chip)) return `gpiochip${chip}`;
  return chip.replace(/^\/dev\//, '');
}

export interface GpiomonEdge {
  level: 0 | 1;
  /** Kernel event timestamp in ms (CLOCK_MONOTONIC unless the kernel is older than 5.7). */
  kernelMs: number;
  offset?: number;
}

// 1.x: printf("event: %s offset: %u timestamp: [%8ld.%09ld]\n") with " RISING EDGE"/"FALLING EDGE"
const V1_LINE = /^event:\s+(RISING|FALLING) EDGE offset: (\d+) timestamp: \[\s*(\d+)\.(\d{1,9})\]\s*$/;
// 2.x: "<sec>.<nsec 9 digits>\t<rising|falling>\t<line id>", the id being "chip offset", a quoted name or both
const V2_LINE = /^\s*(\d+)\.(\d{1,9})\s+(rising|falling)(?:\s+(.*))?$/;

/** Parses one line of gpiomon's default output (either major); undefined for anything else. */
export function parseGpiomonLine(line: string): GpiomonEdge | undefined {
  const v1 = V1_LINE.exec(line);
  if (v1) return { level: v1[1] === 'RISING' ? 1 : 0, offset: Number(v1[2]), kernelMs: toMs(v1[3]!, v1[4]!) };
  const v2 = V2_LINE.exec(line);
  if (v2) {
    const offset = /^\S+\s+(\d+)\b/.exec(v2[4] ?? '');
    return { level: v2[3] === 'rising' ? 1 : 0, kernelMs: toMs(v2[1]!, v2[2]!), ...(offset ? { offset: Number(offset[1]) } : {}) };
  }
  return undefined;
}

function toMs(sec: string, nsec: string): number {
  return Number(sec) * 1000 + Number(nsec.padEnd(9, '0')) / 1e6;
}
