/**
 * The one command set a device takes from the control socket, the CLI and MQTT: parsing and
 * validation live here so the three front ends cannot drift apart. A bad command is a PttError
 * that names the command, the value and what is allowed; it never reaches the handler.
 */
import { PROFILE_NAME } from '../config/profiles.js';
import { PttError } from '../core/errors.js';

/** Longest `say`/`ask` text accepted, in characters (an announcement, not a document). */
export const MAX_TEXT_CHARS = 1000;

export type DeviceCommand =
  | { name: 'say' | 'ask'; text: string }
  | { name: 'stop' | 'talk' | 'forget' }
  | { name: 'volume'; level: number }
  | { name: 'mute'; on: boolean }
  | { name: 'profile'; profile: string };

export type CommandName = DeviceCommand['name'];

/** What each command takes, for help texts and error messages. */
export const COMMAND_USAGE: Readonly<Record<CommandName, string>> = {
  say: `say TEXT (the assistant speaks TEXT; 1-${MAX_TEXT_CHARS} characters)`,
  ask: `ask TEXT (a question as text, the answer is spoken; 1-${MAX_TEXT_CHARS} characters)`,
  stop: 'stop (cut the current answer)',
  volume: 'volume LEVEL (a number from 0 to 1)',
  mute: 'mute on|off (the microphone)',
  talk: 'talk (start a hands-free turn)',
  profile: 'profile NAME (switch to a named profile; main is the session section)',
  forget: 'forget (the next session starts without the recent conversation)',
};

export const COMMAND_NAMES = Object.keys(COMMAND_USAGE) as CommandName[];

/** What the daemon implements; the front ends only ever call it with validated values. */
export interface DeviceCommands {
  say(text: string): Promise<void> | void;
  ask(text: string): Promise<void> | void;
  stop(): Promise<void> | void;
  setVolume(level: number): Promise<void> | void;
  setMute(on: boolean): Promise<void> | void;
  talk(): Promise<void> | void;
  /** Refuses an unknown profile by throwing its PttError (the front end reports it). */
  switchProfile(name: string): Promise<void> | void;
  forget(): Promise<void> | void;
}

const isCommandName = (name: string): name is CommandName => Object.hasOwn(COMMAND_USAGE, name);

function bad(code: string, command: string, value: string | undefined, why: string, allowed: string): PttError {
  return new PttError(code, `command ${command}: ${why}`, {
    context: { command, value: value === undefined ? null : clip(value), allowed },
    hint: `send ${allowed}`,
  });
}

/** Values go into messages and logs: keep them short. */
function clip(value: string): string {
  return value.length > 60 ? `${value.slice(0, 60)}... (${value.length} characters)` : value;
}

function hasControlCharacter(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return true;
  }
  return false;
}

function text(name: 'say' | 'ask', arg: string | undefined): DeviceCommand | PttError {
  const t = arg?.trim() ?? '';
  if (t === '') return bad('COMMAND_MISSING_VALUE', name, arg, 'needs a text', COMMAND_USAGE[name]);
  if (t.length > MAX_TEXT_CHARS) {
    return bad('COMMAND_TOO_LONG', name, t, `text is ${t.length} characters, over the limit of ${MAX_TEXT_CHARS}`, COMMAND_USAGE[name]);
  }
  // NUL and other C0 controls (but tab/newline) have no business in speech and break logs.
  if (hasControlCharacter(t)) {
    return bad('COMMAND_BAD_VALUE', name, t, 'text contains control characters', COMMAND_USAGE[name]);
  }
  return { name, text: t };
}

/**
 * One command with its argument apart (MQTT's per-command topics, the control socket's
 * fields). `lenient` ignores an argument to stop/talk: a Home Assistant button sends a payload.
 */
export function parseCommand(name: string, arg: string | undefined, options: { lenient?: boolean } = {}): DeviceCommand | PttError {
  const n = name.trim().toLowerCase();
  if (!isCommandName(n)) {
    return new PttError('COMMAND_UNKNOWN', `unknown command '${clip(name)}'`, {
      context: { command: clip(name), value: arg === undefined ? null : clip(arg), allowed: COMMAND_NAMES.join(', ') },
      hint: `use one of: ${COMMAND_NAMES.map((c) => COMMAND_USAGE[c]).join('; ')}`,
    });
  }
  switch (n) {
    case 'say':
    case 'ask':
      return text(n, arg);
    case 'profile': {
      const v = arg?.trim() ?? '';
      if (v === '') return bad('COMMAND_MISSING_VALUE', n, arg, 'needs a profile name', COMMAND_USAGE.profile);
      if (!PROFILE_NAME.test(v)) return bad('COMMAND_BAD_VALUE', n, v, `'${clip(v)}' is not a profile name`, COMMAND_USAGE.profile);
      return { name: n, profile: v };
    }
    case 'stop':
    case 'talk':
    case 'forget':
      if (!options.lenient && arg !== undefined && arg.trim() !== '') {
        return bad('COMMAND_BAD_VALUE', n, arg, 'takes no value', COMMAND_USAGE[n]);
      }
      return { name: n };
    case 'volume': {
      const v = arg?.trim() ?? '';
      if (v === '') return bad('COMMAND_MISSING_VALUE', n, arg, 'needs a level', COMMAND_USAGE.volume);
      // Number('') is 0 and Number('0x1') is 1: accept plain decimals only.
      if (!/^[+]?(\d+(\.\d*)?|\.\d+)$/.test(v)) return bad('COMMAND_BAD_VALUE', n, v, `'${clip(v)}' is not a number`, COMMAND_USAGE.volume);
      const level = Number(v);
      if (level > 1) return bad('COMMAND_BAD_VALUE', n, v, `${v} is above 1`, COMMAND_USAGE.volume);
      return { name: n, level };
    }
    case 'mute': {
      const v = arg?.trim().toLowerCase() ?? '';
      if (v === 'on' || v === 'true' || v === '1') return { name: n, on: true };
      if (v === 'off' || v === 'false' || v === '0') return { name: n, on: false };
      return bad(
        v === '' ? 'COMMAND_MISSING_VALUE' : 'COMMAND_BAD_VALUE',
        n,
        arg,
        v === '' ? 'needs on or off' : `'${clip(arg ?? '')}' is not on or off`,
        COMMAND_USAGE.mute,
      );
    }
  }
}

/** A command line: `say the washing machine is done`, `volume 0.4`, `stop`. */
export function parseCommandLine(line: string): DeviceCommand | PttError {
  const t = line.trim();
  if (t === '') {
    return new PttError('COMMAND_MISSING', 'empty command', {
      context: { command: null, value: null, allowed: COMMAND_NAMES.join(', ') },
      hint: `use one of: ${COMMAND_NAMES.map((c) => COMMAND_USAGE[c]).join('; ')}`,
    });
  }
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(t)!;
  return parseCommand(m[1]!, m[2]);
}

/** Calls the handler method for a validated command. */
export async function dispatchCommand(command: DeviceCommand, handler: DeviceCommands): Promise<void> {
  switch (command.name) {
    case 'say':
      return handler.say(command.text);
    case 'ask':
      return handler.ask(command.text);
    case 'stop':
      return handler.stop();
    case 'volume':
      return handler.setVolume(command.level);
    case 'mute':
      return handler.setMute(command.on);
    case 'talk':
      return handler.talk();
    case 'profile':
      return handler.switchProfile(command.profile);
    case 'forget':
      return handler.forget();
  }
}

/** The command as a line again (logs, the CLI sending it over the control socket). */
export function formatCommand(command: DeviceCommand): string {
  switch (command.name) {
    case 'say':
    case 'ask':
      return `${command.name} ${command.text}`;
    case 'volume':
      return `volume ${command.level}`;
    case 'mute':
      return `mute ${command.on ? 'on' : 'off'}`;
    case 'profile':
      return `profile ${command.profile}`;
    default:
      return command.name;
  }
}
