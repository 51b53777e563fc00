import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { renameSync, writeFileSync } from 'node:fs';
import { memoryLogger } from '../../src/core/logger.js';
import { PttError } from '../../src/core/errors.js';
import { ConfigWatcher, type Config, type ConfigChanges, type ConfigProblem } from '../../src/config/index.js';
import { ALIAS_BOMB, tempDir } from './helpers.js';

const tmp = tempDir();

afterAll(() => tmp.cleanup());

let n = 0;
const running: ConfigWatcher[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(running.splice(0).map((w) => w.stop()));
});

async function started(initial: string, options: { debounceMs?: number } = {}) {
  const path = tmp.file(`config-${n++}.yaml`);
  writeFileSync(path, initial);
  const logger = memoryLogger();
  const watcher = new ConfigWatcher({ path, env: {}, debounceMs: options.debounceMs ?? 30, logger });
  await watcher.start();
  running.push(watcher);
  const changes: Array<[Config, ConfigChanges]> = [];
  const invalid: ConfigProblem[][] = [];
  watcher.on('change', (c, d) => changes.push([c, d]));
  watcher.on('invalid', (p) => invalid.push(p));
  return { path, watcher, logger, changes, invalid };
}

/** Waits on real I/O without using setTimeout (which some tests fake). */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

describe('ConfigWatcher', () => {
  it('a valid edit in place yields the new config and what changed', async () => {
    const { path, watcher } = await started('session: {speed: 1}\n');
    const next = watcher.next('change', 5000);
    writeFileSync(path, 'session: {speed: 1.3}\n');
    const [config, changes] = await next;
    expect(config.session.speed).toBe(1.3);
    expect(changes).toEqual({ keys: ['session.speed'], sections: ['session'], actions: ['session'] });
    expect(watcher.current.session.speed).toBe(1.3);
  });

  it('an invalid edit is reported and the old config stays in force; fixing it applies the fix', async () => {
    const { path, watcher, changes, logger } = await started('gpio: {pin: 17}\n');
    const bad = watcher.next('invalid', 5000);
    writeFileSync(path, 'gpio: {pin: 99, mode: hold}\nsession: {temperature: 0.5}\n');
    const [problems] = await bad;
    expect(problems.map((p) => p.key).sort()).toEqual(['gpio.pin', 'session.temperature']);
    expect(problems.find((p) => p.key === 'gpio.pin')).toMatchObject({ value: 99, allowed: 'an integer from 0 to 27' });
    expect(watcher.current.gpio.pin).toBe(17);
    expect(changes).toHaveLength(0);
    // Reported once, by whoever listens (the daemon logs it): the watcher itself logs no problem.
    expect(logger.records().filter((r) => r.level === 'warn' || r.level === 'error')).toEqual([]);

    const fixed = watcher.next('change', 5000);
    writeFileSync(path, 'gpio: {pin: 22}\n');
    const [config, diff] = await fixed;
    expect(config.gpio.pin).toBe(22);
    expect(diff.actions).toEqual(['restart-gpio']);
  });

  it('survives rename-style saves (editors write a temp file and rename it over), twice in a row', async () => {
    const { path, watcher } = await started('log: {level: info}\n');
    for (const level of ['debug', 'warn'] as const) {
      const next = watcher.next('change', 5000);
      const temp = `${path}.swp`;
      writeFileSync(temp, `log: {level: ${level}}\n`);
      renameSync(temp, path);
      const [config] = await next;
      expect(config.log.level).toBe(level);
    }
  });

  it('reload() (SIGHUP) re-reads at once; a comment-only edit is no change', async () => {
    // A long debounce keeps file events out of the way: only reload() reads the file here.
    const { path, watcher, changes } = await started('session: {voice: marin}\n', { debounceMs: 60_000 });
    writeFileSync(path, '# the garden profile\nsession: {voice: marin}   # unchanged\n');
    await watcher.reload();
    expect(changes).toHaveLength(0);
    writeFileSync(path, 'session: {voice: cedar}\n');
    await watcher.reload();
    expect(changes).toHaveLength(1);
    expect(changes[0]![1]).toEqual({ keys: ['session.voice'], sections: ['session'], actions: ['session'] });
  });

  it('a real SIGHUP wired to reload() applies the edit (what ExecReload does)', async () => {
    const { path, watcher } = await started('audio: {output: {volume: 1}}\n', { debounceMs: 60_000 });
    const onHup = () => void watcher.reload();
    process.on('SIGHUP', onHup);
    try {
      writeFileSync(path, 'audio: {output: {volume: 0.5}}\n');
      const next = watcher.next('change', 5000);
      process.kill(process.pid, 'SIGHUP');
      const [config, changes] = await next;
      expect(config.audio.output.volume).toBe(0.5);
      expect(changes.actions).toEqual(['live']);
    } finally {
      process.off('SIGHUP', onHup);
    }
  });

  it('while running, an empty or comment-only file is refused and the config kept (only at start is empty all defaults)', async () => {
    const { path, watcher, invalid, changes } = await started('gpio: {pin: 5}\n', { debounceMs: 60_000 });
    writeFileSync(path, '');
    await watcher.reload();
    expect(invalid[0]![0]!.message).toMatch(/no settings \(it is empty\).*config in force is kept/);
    writeFileSync(path, '# everything commented out\n#gpio: {pin: 6}\n');
    await watcher.reload();
    expect(invalid[1]![0]!.message).toMatch(/only comments/);
    expect(watcher.current.gpio.pin).toBe(5);
    expect(changes).toHaveLength(0);
    // At start the same empty file means defaults.
    expect((await started('')).watcher.current.gpio.pin).toBe(17);
  });

  it('a YAML alias bomb is a reported problem, not a thrown error', async () => {
    const { path, watcher, invalid } = await started('gpio: {pin: 5}\n', { debounceMs: 60_000 });
    writeFileSync(path, ALIAS_BOMB);
    await watcher.reload();
    expect(invalid[0]).toEqual([
      { key: '(file)', value: undefined, message: expect.stringMatching(/cannot be read as a config: Excessive alias count/) },
    ]);
    expect(watcher.current.gpio.pin).toBe(5);
  });

  it('the same invalid content seen by two bursts of file events is reported once; SIGHUP (reload) always answers', async () => {
    const { path, watcher, invalid } = await started('gpio: {pin: 5}\n', { debounceMs: 30 });
    writeFileSync(path, 'gpio: {pin: 99}\n');
    await until(() => invalid.length === 1);
    // Same bytes written again (an editor's second write, a touch): no second report.
    writeFileSync(path, 'gpio: {pin: 99}\n');
    await new Promise((r) => setTimeout(r, 300));
    expect(invalid).toHaveLength(1);
    await watcher.reload();
    expect(invalid).toHaveLength(2);
  });

  it('reload() of a deleted file reports it and keeps the config', async () => {
    const { path, watcher, invalid } = await started('gpio: {pin: 5}\n', { debounceMs: 60_000 });
    renameSync(path, `${path}.gone`);
    await watcher.reload();
    expect(invalid[0]![0]!.message).toMatch(/does not exist/);
    expect(watcher.current.gpio.pin).toBe(5);
  });

  it('debounces a burst: one read, 200 ms after the last write', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { path, logger, changes } = await started('session: {speed: 1}\n', { debounceMs: 200 });
    const events = () => logger.lines.filter((l) => l.includes('config file event')).length;

    writeFileSync(path, 'session: {speed: 1.1}\n');
    await until(() => events() >= 1);
    vi.advanceTimersByTime(150);
    const seen = events();
    writeFileSync(path, 'session: {speed: 1.2}\n');
    await until(() => events() > seen);
    // 250 ms after the first write but only 100 ms after the last: nothing may be read yet.
    vi.advanceTimersByTime(100);
    const settle = Date.now() + 150;
    await until(() => Date.now() > settle);
    expect(changes).toHaveLength(0);

    vi.advanceTimersByTime(100);
    await until(() => changes.length > 0);
    expect(changes).toHaveLength(1);
    expect(changes[0]![0].session.speed).toBe(1.2);
  });

  it('start() refuses an invalid file with every problem', async () => {
    const path = tmp.file('broken.yaml');
    writeFileSync(path, 'gpio: {pin: 99}\nlog: {level: loud}\n');
    const watcher = new ConfigWatcher({ path, env: {} });
    const err = await watcher.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PttError);
    expect((err as PttError).code).toBe('CONFIG_INVALID');
    expect((err as PttError).message).toMatch(/gpio\.pin[\s\S]*log\.level/);
    await watcher.stop();
  });

  it('stop() is idempotent and ends watching', async () => {
    const { path, watcher, logger } = await started('', { debounceMs: 10 });
    await watcher.stop();
    await watcher.stop();
    writeFileSync(path, 'gpio: {pin: 3}\n');
    await watcher.reload(); // an explicit reload still works on a stopped watcher
    expect(watcher.current.gpio.pin).toBe(3);
    const settle = Date.now() + 100;
    await until(() => Date.now() > settle);
    expect(logger.lines.filter((l) => l.includes('config file event'))).toHaveLength(0);
  });
});
