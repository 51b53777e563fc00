import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger, createLogger } from '../../src/core/logger.js';
import { forgetSecrets, registerSecret, redact } from '../../src/core/secrets.js';
import { PttError, describeError } from '../../src/core/errors.js';

afterEach(() => forgetSecrets());

describe('logger', () => {
  it('writes one JSON object per line with level, component and fields', () => {
    const log = memoryLogger('info');
    log.child('session').info('verified', { attempts: 1 });
    log.debug('hidden below the level');
    expect(log.records()).toEqual([expect.objectContaining({ level: 'info', component: 'session', msg: 'verified', attempts: 1 })]);
  });

  it('never prints a registered secret, wherever it appears', () => {
    const key = 'sk-proj-abcdefghijklmnop1234567890';
    registerSecret(key);
    const log = memoryLogger();
    log.error('connect failed', { url: `wss://x/?key=${key}`, nested: { header: `Bearer ${key}` }, err: new Error(`bad ${key}`) });
    const text = log.lines.join('\n');
    expect(text).not.toContain(key);
    expect(text).toContain('[redacted]');
  });

  it('redacts key-shaped strings even when nobody registered them', () => {
    expect(redact('Authorization: Bearer ek_68af1c3e9f2a4b7c')).not.toContain('ek_68af1c3e9f2a4b7c');
    expect(redact('key sk-abcdefghijklmnopqrstu used')).toBe('key [redacted] used');
  });

  it('logs errors as code, message and context, without a stack', () => {
    const log = memoryLogger();
    log.warn('capture failed', {
      err: new PttError('AUDIO_OPEN', 'cannot open "mic"', { context: { device: 'mic' }, hint: 'use plughw:1,0' }),
    });
    const [rec] = log.records();
    expect(rec!.err).toEqual({ code: 'AUDIO_OPEN', message: 'cannot open "mic"', hint: 'use plughw:1,0', device: 'mic' });
    expect(log.lines[0]).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('pretty format is one readable line', () => {
    const lines: string[] = [];
    const log = createLogger({ format: 'pretty', sink: { write: (l) => void lines.push(l) } });
    log.child('gpio').info('pressed', { pin: 17 });
    expect(lines[0]).toMatch(/INFO {2}\[gpio\] pressed {2}pin=17\n$/);
  });
});

describe('describeError', () => {
  it('gives the message and the fix, never a stack', () => {
    const text = describeError(new PttError('NO_KEY', 'no API key found', { hint: 'set OPENAI_API_KEY' }));
    expect(text).toBe('no API key found\n  fix: set OPENAI_API_KEY');
  });
});
