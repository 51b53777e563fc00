import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import type { PttError } from '../../src/core/errors.js';
import { monotonicMs } from '../../src/core/clock.js';
import { GpiomonBackend, type GpiomonBackendOptions } from '../../src/gpio/gpiomon-backend.js';
import { parseGpiomonLine, parseLibgpiodVersion } from '../../src/gpio/libgpiod-format.js';
import type { LevelSample } from '../../src/gpio/types.js';
import { FakeGpiod } from '../support/fake-gpiod.js';

describe('gpiomon output parsing', () => {
  it('reads libgpiod 1.6 edge lines (the real printf format)', () => {
    expect(parseGpiomonLine('event:  RISING EDGE offset: 17 timestamp: [     123.000456789]')).toEqual({
      level: 1,
      offset: 17,
      kernelMs: 123000.456789,
    });
    expect(parseGpiomonLine('event: FALLING EDGE offset: 4 timestamp: [1700000000.100000000]')).toEqual({
      level: 0,
      offset: 4,
      kernelMs: 1700000000100,
    });
  });

  it('reads libgpiod 2.x edge lines with a chip/offset id, a quoted name or both', () => {
    expect(parseGpiomonLine('8402.123000000\trising\tgpiochip0 17')).toEqual({ level: 1, offset: 17, kernelMs: 8402123 });
    expect(parseGpiomonLine('8402.123000000\tfalling\t"GPIO17"')).toEqual({ level: 0, kernelMs: 8402123 });
    expect(parseGpiomonLine('8402.123000000\tfalling\tgpiochip4 17 "GPIO17"')).toMatchObject({ level: 0, offset: 17 });
  });

  it('ignores banners and noise', () => {
    expect(parseGpiomonLine("Monitoring line 'GPIO17'...")).toBeUndefined();
    expect(parseGpiomonLine('')).toBeUndefined();
  });

  it('reads the version from gpiomon --version of both majors', () => {
    expect(parseLibgpiodVersion('gpiomon (libgpiod) v1.6.3\nCopyright (C) 2017-2018 Bartosz Golaszewski\n')).toMatchObject({
      major: 1,
      minor: 6,
    });
    expect(parseLibgpiodVersion('gpiomon (libgpiod) v2.1.3\n')).toMatchObject({ major: 2, minor: 1, text: 'v2.1.3' });
    expect(parseLibgpiodVersion('something else')).toBeUndefined();
  });
});

describe('GpiomonBackend with a fake gpiomon on PATH', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(version: string, extra: Partial<GpiomonBackendOptions> = {}, lines?: Record<string, string>) {
    const fake = await FakeGpiod.create(version, lines);
    cleanups.push(() => fake.close());
    const logger = memoryLogger();
    const backend = new GpiomonBackend({
      pin: 17,
      chip: null,
      pull: 'up',
      activeLow: true,
      logger,
      path: fake.path,
      respawnMinMs: 10,
      ...extra,
    });
    const levels: LevelSample[] = [];
    const errors: PttError[] = [];
    backend.on('level', (s) => levels.push(s));
    backend.on('error', (e) => errors.push(e));
    cleanups.push(() => backend.stop());
    return { fake, backend, levels, errors, logger };
  }

  const until = async (cond: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('libgpiod 1.x: finds the chip with gpiofind, runs gpiomon line-buffered with the bias, reads kernel-stamped edges', async () => {
    const { fake, backend, levels } = await setup('1.6.3', {}, { GPIO17: 'gpiochip4 17' });
    await backend.start();
    const mon = await fake.spawn(0);
    expect(mon.tool).toBe('gpiomon');
    expect(mon.argv).toEqual(['--line-buffered', '--bias=pull-up', 'gpiochip4', '17']);
    expect(levels).toEqual([expect.objectContaining({ level: 1, initial: true })]);
    const t = monotonicMs();
    fake.edge(mon, 'falling', t);
    fake.edge(mon, 'rising', t + 40);
    await until(() => levels.length === 3);
    expect(levels[1]!.level).toBe(0);
    expect(levels[1]!.at).toBeCloseTo(t, 3);
    expect(levels[2]).toEqual({ level: 1, at: expect.closeTo(t + 40, 3) });
  });

  it('libgpiod 2.x: finds the chip with gpioinfo and uses the 2.x options', async () => {
    const { fake, backend, levels } = await setup('2.1.3', { pull: 'down', activeLow: false });
    await backend.start();
    const mon = await fake.spawn(0);
    expect(mon.argv).toEqual(['--bias=pull-down', '--edges=both', '--chip=gpiochip0', '17']);
    const t = monotonicMs();
    fake.edge(mon, 'rising', t);
    await until(() => levels.length === 2);
    expect(levels[1]).toEqual({ level: 1, at: expect.closeTo(t, 3) });
  });

  it('uses the configured chip without a lookup', async () => {
    const { fake, backend } = await setup('1.6.3', { chip: 'gpiochip0', pin: 5 }, {});
    await backend.start();
    expect((await fake.spawn(0)).argv).toEqual(['--line-buffered', '--bias=pull-up', 'gpiochip0', '5']);
  });

  it('gives the child only PATH and a locale: no API key reaches it', async () => {
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-test-secret-value-123456';
    cleanups.push(() => void (process.env.OPENAI_API_KEY = saved));
    const { fake, backend } = await setup('1.6.3');
    await backend.start();
    const { env } = await fake.spawn(0);
    expect(JSON.stringify(env)).not.toContain('sk-test-secret');
    expect(env.OPENAI_API_KEY).toBeUndefined();
    expect(env.PATH).toBe(fake.path);
  });

  it('respawns gpiomon when it dies, releases a press in flight, and reports repeated deaths', async () => {
    const { fake, backend, levels, errors, logger } = await setup('2.1.3', { failuresBeforeError: 2 });
    await backend.start();
    const first = await fake.spawn(0);
    fake.edge(first, 'falling', monotonicMs()); // pressed
    await until(() => levels.length === 2);
    fake.die(first, 1, 'unable to request lines on chip /dev/gpiochip0: Device or resource busy');
    const second = await fake.spawn(1);
    expect(second.argv).toEqual(first.argv);
    expect(levels[2]).toMatchObject({ level: 1 }); // released while gpiomon was gone
    expect(logger.lines.join('\n')).toContain('Device or resource busy');
    fake.die(second, 1, 'still busy');
    await fake.spawn(2);
    expect(errors.map((e) => e.code)).toEqual(['GPIOMON_DIED']);
    expect(errors[0]!.message).toContain('still busy');
    const t = monotonicMs();
    fake.edge(fake.spawns[2]!, 'falling', t);
    await until(() => levels.some((l) => l.level === 0 && Math.abs(l.at - t) < 0.01));
  });

  it('stop() ends the child and no respawn follows', async () => {
    const { fake, backend } = await setup('1.6.3');
    await backend.start();
    const mon = await fake.spawn(0);
    await backend.stop();
    expect(() => process.kill(mon.pid, 0)).toThrow();
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.spawns).toHaveLength(1);
    expect(backend.spawnCount).toBe(1);
  });

  it('says how to install gpiomon when it is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-gpiod-'));
    cleanups.push(() => rmSync(empty, { recursive: true }));
    const backend = new GpiomonBackend({ pin: 17, chip: null, pull: 'up', activeLow: true, logger: memoryLogger(), path: empty });
    await expect(backend.start()).rejects.toMatchObject({ code: 'GPIOMON_MISSING', hint: expect.stringContaining('apt install gpiod') });
  });

  it.each(['1.6.3', '2.1'])(
    'libgpiod %s: a configured chip that does not exist, or a pin past its lines, is refused with the chips this machine has',
    async (version) => {
      const chips = [
        { name: 'gpiochip0', label: 'pinctrl-rp1', lines: 54 },
        { name: 'gpiochip10', label: 'gpio-brcmstb@107d508500', lines: 32 },
      ];
      const fake = await FakeGpiod.create(version, undefined, chips);
      cleanups.push(() => fake.close());
      const make = (chip: string, pin: number) =>
        new GpiomonBackend({ pin, chip, pull: 'up', activeLow: true, logger: memoryLogger(), path: fake.path });
      await expect(make('gpiochip4', 17).start()).rejects.toMatchObject({
        code: 'GPIO_CHIP_NOT_FOUND',
        message:
          'gpio.chip "gpiochip4" does not exist; this machine has: gpiochip0 [pinctrl-rp1] (54 lines), gpiochip10 [gpio-brcmstb@107d508500] (32 lines)',
        hint: expect.stringContaining('or to null'),
      });
      await expect(make('gpiochip10', 40).start()).rejects.toMatchObject({
        code: 'GPIO_LINE_NOT_FOUND',
        message: 'gpiochip10 has lines 0-31; gpio.pin 40 is not one of them',
      });
      expect(fake.spawns, 'no gpiomon was started for a bad line').toHaveLength(0);
      // A number or a path names the same chip.
      const ok = make('/dev/gpiochip0', 17);
      cleanups.push(() => ok.stop());
      await ok.start();
      expect((await fake.spawn(0)).argv.join(' ')).toContain('/dev/gpiochip0');
    },
  );

  it('says to set gpio.chip when no line is named GPIO<pin>', async () => {
    const { backend } = await setup('1.6.3', { pin: 99 });
    await expect(backend.start()).rejects.toMatchObject({ code: 'GPIO_LINE_NOT_FOUND', hint: expect.stringContaining('gpio.chip') });
  });
});
