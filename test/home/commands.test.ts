import { describe, expect, it } from 'vitest';
import { PttError } from '../../src/core/errors.js';
import {
  dispatchCommand,
  formatCommand,
  MAX_TEXT_CHARS,
  parseCommand,
  parseCommandLine,
  type DeviceCommand,
  type DeviceCommands,
} from '../../src/home/commands.js';

function recorder(): DeviceCommands & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    say: (t) => void calls.push(`say:${t}`),
    ask: (t) => void calls.push(`ask:${t}`),
    stop: () => void calls.push('stop'),
    setVolume: (l) => void calls.push(`volume:${l}`),
    setMute: (on) => void calls.push(`mute:${on}`),
    talk: () => void calls.push('talk'),
    switchProfile: (name) => void calls.push(`profile:${name}`),
    forget: () => void calls.push('forget'),
  };
}

function error(r: DeviceCommand | PttError): PttError {
  if (!(r instanceof PttError)) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r;
}

describe('parseCommandLine', () => {
  it('parses every command of the set and the handler gets exactly the validated value', async () => {
    const h = recorder();
    for (const line of [
      'say  the washing machine is done ',
      'ask what time is it?',
      'stop',
      'volume 0.4',
      'volume 1',
      'mute on',
      'MUTE Off',
      'talk',
      'profile kids',
      'forget',
    ]) {
      const c = parseCommandLine(line);
      if (c instanceof PttError) throw c;
      await dispatchCommand(c, h);
    }
    expect(h.calls).toEqual([
      'say:the washing machine is done',
      'ask:what time is it?',
      'stop',
      'volume:0.4',
      'volume:1',
      'mute:true',
      'mute:false',
      'talk',
      'profile:kids',
      'forget',
    ]);
  });

  it('round-trips through formatCommand', () => {
    for (const line of ['say hello there', 'volume 0.25', 'mute off', 'talk', 'profile kids', 'forget'])
      expect(formatCommand(parseCommandLine(line) as DeviceCommand)).toBe(line);
  });

  it('names an unknown command, the value and the commands that exist', () => {
    const e = error(parseCommandLine('shout hello'));
    expect(e.code).toBe('COMMAND_UNKNOWN');
    expect(e.message).toBe("unknown command 'shout'");
    expect(e.context).toMatchObject({ command: 'shout', value: 'hello', allowed: 'say, ask, stop, volume, mute, talk, profile, forget' });
  });

  it.each([
    ['volume loud', 'COMMAND_BAD_VALUE', "'loud' is not a number"],
    ['volume 1.5', 'COMMAND_BAD_VALUE', '1.5 is above 1'],
    ['volume -0.1', 'COMMAND_BAD_VALUE', "'-0.1' is not a number"],
    ['volume 0x1', 'COMMAND_BAD_VALUE', "'0x1' is not a number"],
    ['volume', 'COMMAND_MISSING_VALUE', 'needs a level'],
    ['mute maybe', 'COMMAND_BAD_VALUE', "'maybe' is not on or off"],
    ['say', 'COMMAND_MISSING_VALUE', 'needs a text'],
    ['stop now', 'COMMAND_BAD_VALUE', 'takes no value'],
    ['', 'COMMAND_MISSING', 'empty command'],
  ])('%j is refused (%s: %s)', (line, code, why) => {
    const e = error(parseCommandLine(line));
    expect(e.code).toBe(code);
    expect(e.message).toContain(why);
    expect(e.hint).toBeTruthy();
  });

  it('refuses text over the size limit, saying the length and the limit, with the value clipped', () => {
    const e = error(parseCommandLine(`say ${'a'.repeat(MAX_TEXT_CHARS + 1)}`));
    expect(e.code).toBe('COMMAND_TOO_LONG');
    expect(e.message).toBe(`command say: text is ${MAX_TEXT_CHARS + 1} characters, over the limit of ${MAX_TEXT_CHARS}`);
    expect(String(e.context.value).length).toBeLessThan(100);
    expect(parseCommandLine(`say ${'a'.repeat(MAX_TEXT_CHARS)}`)).toEqual({ name: 'say', text: 'a'.repeat(MAX_TEXT_CHARS) });
  });

  it('refuses control characters in text but keeps newlines', () => {
    expect(error(parseCommandLine('say a\u0000b')).code).toBe('COMMAND_BAD_VALUE');
    expect(parseCommandLine('say line one\nline two')).toEqual({ name: 'say', text: 'line one\nline two' });
  });
});

describe('profile and forget', () => {
  it('profile needs a name of the profile shape; forget takes no value', () => {
    expect(error(parseCommandLine('profile')).code).toBe('COMMAND_MISSING_VALUE');
    const e = error(parseCommandLine('profile Kids Room'));
    expect(e.code).toBe('COMMAND_BAD_VALUE');
    expect(e.message).toBe("command profile: 'Kids Room' is not a profile name");
    expect(error(parseCommandLine('forget everything')).code).toBe('COMMAND_BAD_VALUE');
  });
});

describe('parseCommand (argument apart)', () => {
  it('lenient mode ignores a button payload for stop and talk', () => {
    expect(parseCommand('stop', 'PRESS', { lenient: true })).toEqual({ name: 'stop' });
    expect(error(parseCommand('stop', 'PRESS')).code).toBe('COMMAND_BAD_VALUE');
  });
  it('does not treat inherited object keys as commands', () => {
    expect(error(parseCommand('constructor', undefined)).code).toBe('COMMAND_UNKNOWN');
  });
});
