import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger, createLogger } from '../../src/core/logger.js';
import { forgetSecrets, registerSecret, redact } from '../../src/core/secrets.js';
import { PttError, describeError } from '../../src/core/errors.js';
import { AplayPlayer } from '../../src/audio/index.js';
import { createAlsaSandbox } from '../support/alsa.js';

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

  it('caps long values at any depth: a 5 MB bad value makes a short line that says how much was cut', () => {
    const log = memoryLogger();
    const huge = 'x'.repeat(5_000_000);
    log.error(`bad value ${huge}`, {
      problems: [{ key: 'session.instructions', value: huge }],
      list: Array.from({ length: 10_000 }, (_, i) => i),
      err: new PttError('CONFIG_INVALID', huge, { context: { raw: huge } }),
    });
    expect(log.lines[0]!.length).toBeLessThan(10_000);
    const rec = log.records()[0]!;
    expect(rec.msg).toMatch(/^bad value x+\.\.\. \(4999510 more characters\)$/);
    expect((rec.problems as { value: string }[])[0]!.value).toMatch(/\.\.\. \(4999500 more characters\)$/);
    expect((rec.list as unknown[]).at(-1)).toBe('... (9950 more items)');
    expect(rec.err).toMatchObject({ code: 'CONFIG_INVALID', raw: expect.stringMatching(/more characters\)$/) });
  });

  it('an error context never overwrites the error code: a killed aplay logs AUDIO_PLAYBACK_DIED with its exit code beside it', async () => {
    const alsa = await createAlsaSandbox();
    const player = new AplayPlayer({
      device: alsa.playbackDevice,
      env: { ...process.env, ...alsa.env },
      leadMs: 60,
      periodMs: 20,
      respawnMinMs: 50,
      respawnMaxMs: 100,
    });
    const log = memoryLogger();
    try {
      await player.start();
      const failed = new Promise<PttError>((resolve) => player.once('error', resolve));
      process.kill(player.pid!, 'SIGKILL');
      // What the conductor does with a speaker error.
      log.error('speaker error', { error: await failed });
    } finally {
      await player.stop();
      await alsa.cleanup();
    }
    expect(log.records()[0]!.error).toMatchObject({ code: 'AUDIO_PLAYBACK_DIED', 'context.code': null, signal: 'SIGKILL' });
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
