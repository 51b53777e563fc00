import { describeError } from '../core/errors.js';
import { PROFILE_NAME } from '../config/profiles.js';
import { COMMAND_NAMES, parseCommandLine, type DeviceCommand } from '../home/commands.js';
import { DEFAULT_TAP_MS, MAX_TAP_MS } from './virtual-backend.js';

/**
 * The control socket's line protocol: one command a line (`press`, `release`,
 * `tap [ms]`, `status`, `profile [NAME]`, `forget`, and the device commands of home/commands.ts:
 * `say TEXT`, `ask TEXT`, `stop`, `volume 0..1`, `mute on|off`, `talk`), one answer line each
 * (`ok`, the status text, `error: ...`).
 */
export type ControlCommand =
  | { kind: 'press' }
  | { kind: 'release' }
  | { kind: 'status' }
  | { kind: 'tap'; ms: number }
  | { kind: 'profile'; name?: string }
  | { kind: 'forget' }
  | { kind: 'device'; command: DeviceCommand };

// `profile` and `forget` are answered here with more than `ok` (the active profile, how much was forgotten).
const OWN = new Set(['profile', 'forget']);
export const CONTROL_COMMANDS = `press, release, tap [ms], status, profile [NAME], forget, ${COMMAND_NAMES.filter((n) => !OWN.has(n)).join(', ')}`;
/** Longer lines are not commands (a say text is at most 1000 characters); answered with an error and closed. */
export const MAX_LINE_BYTES = 4096;

export function parseControlLine(line: string): { ok: true; command: ControlCommand } | { ok: false; error: string } {
  const words = line.trim().split(/\s+/);
  const verb = (words[0] ?? '').toLowerCase();
  const args = words.slice(1);
  const shown = line.trim().slice(0, 40);
  switch (verb) {
    case 'press':
    case 'release':
    case 'status':
      if (args.length) return { ok: false, error: `'${verb}' takes no argument (got '${args.join(' ')}')` };
      return { ok: true, command: { kind: verb } };
    case 'forget':
      if (args.length) return { ok: false, error: `'forget' takes no argument (got '${args.join(' ')}')` };
      return { ok: true, command: { kind: 'forget' } };
    case 'profile': {
      if (args.length > 1) return { ok: false, error: `'profile' takes at most one argument, the profile name (got '${args.join(' ')}')` };
      if (args.length === 0) return { ok: true, command: { kind: 'profile' } };
      if (!PROFILE_NAME.test(args[0]!))
        return { ok: false, error: `'${args[0]!.slice(0, 40)}' is not a profile name (lowercase letters, digits, _ and -)` };
      return { ok: true, command: { kind: 'profile', name: args[0]! } };
    }
    case 'tap': {
      if (args.length > 1) return { ok: false, error: `'tap' takes at most one argument, the hold time in ms (got '${args.join(' ')}')` };
      if (args.length === 0) return { ok: true, command: { kind: 'tap', ms: DEFAULT_TAP_MS } };
      const ms = /^\d+$/.test(args[0]!) ? Number(args[0]) : NaN;
      if (!(ms >= 1 && ms <= MAX_TAP_MS))
        return { ok: false, error: `tap time must be a whole number of ms from 1 to ${MAX_TAP_MS} (got '${args[0]}')` };
      return { ok: true, command: { kind: 'tap', ms } };
    }
    default: {
      if (!(COMMAND_NAMES as string[]).includes(verb))
        return { ok: false, error: `unknown command '${shown}'; commands are: ${CONTROL_COMMANDS}` };
      const command = parseCommandLine(line);
      return command instanceof Error ? { ok: false, error: describeError(command) } : { ok: true, command: { kind: 'device', command } };
    }
  }
}

/** Keeps an answer to exactly one line. */
export function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}
