import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { checkGpioAccess, createButton, DEFAULT_GPIO_OPTIONS, selectBackend, type GpioOptions } from '../../src/gpio/index.js';
import { FakeGpiod } from '../support/fake-gpiod.js';

const root = mkdtempSync(join(tmpdir(), 'ptt-board-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fake /proc/device-tree/model (NUL-terminated, like the real one) and a fake /dev. */
function host(model: string | undefined, devices: string[] = [], mode = 0o660) {
  const dir = join(root, String(++n));
  const dev = join(dir, 'dev');
  mkdirSync(dev, { recursive: true });
  const modelPath = join(dir, 'model');
  if (model !== undefined) writeFileSync(modelPath, `${model}\0`);
  for (const d of devices) {
    writeFileSync(join(dev, d), '');
    chmodSync(join(dev, d), mode);
  }
  return { modelPath, devDir: dev };
}

const PI = { uid: 1000, gids: [1000], user: 'pi' }; // not in the device's group (root's 0)
const options = (o: Partial<GpioOptions> = {}): GpioOptions => ({ ...DEFAULT_GPIO_OPTIONS, ...o });

/** A directory holding an executable `gpiomon` (only its presence matters to the selection). */
function toolsDir(): string {
  const dir = join(root, `tools-${++n}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'gpiomon'), '#!/bin/sh\n');
  chmodSync(join(dir, 'gpiomon'), 0o755);
  return dir;
}
const NO_TOOLS = join(root, 'empty-path');

describe('auto backend selection', () => {
  it.each([
    'Raspberry Pi 5 Model B Rev 1.0',
    'Raspberry Pi 500 Rev 1.0',
    'Raspberry Pi Compute Module 5 Rev 1.0',
    'Raspberry Pi 4 Model B Rev 1.4',
    'Raspberry Pi 400 Rev 1.0',
    'Raspberry Pi Zero 2 W Rev 1.0',
    'Raspberry Pi 3 Model B Plus Rev 1.3',
  ])('%s with /dev/gpiochip* and gpiomon -> gpiomon (kernel edge events)', (model) => {
    const h = { ...host(model, ['gpiochip0']), path: toolsDir() };
    const choice = selectBackend({ backend: 'auto' }, h);
    expect(choice).toMatchObject({ ok: true, backend: 'gpiomon', reason: expect.stringContaining('kernel edge events') });
    expect(choice.ok && choice.reason).toContain(join(h.devDir, 'gpiochip0'));
  });

  it.each([
    ['no gpiomon on PATH', ['gpiochip0', 'gpiomem'], () => NO_TOOLS, 'no gpiomon on PATH (sudo apt install gpiod)'],
    ['no /dev/gpiochip*', ['gpiomem'], toolsDir, 'gpiochip*'],
  ])('a Pi 1-4 with %s falls back to rpio sampling and says why', (_what, devices, path, missing) => {
    const choice = selectBackend({ backend: 'auto' }, { ...host('Raspberry Pi Zero 2 W Rev 1.0', devices), path: path() });
    expect(choice).toMatchObject({ ok: true, backend: 'rpio', reason: expect.stringContaining('rpio sampling as the fallback') });
    expect(choice.ok && choice.reason).toContain(missing);
  });

  it('a Pi 5 without the tools still gets gpiomon (rpio cannot drive it), and the reason names what is missing', () => {
    const choice = selectBackend({ backend: 'auto' }, { ...host('Raspberry Pi 5 Model B Rev 1.0', ['gpiochip0']), path: NO_TOOLS });
    expect(choice).toMatchObject({ ok: true, backend: 'gpiomon', reason: expect.stringContaining('no gpiomon on PATH') });
  });

  it('an explicit backend is kept', () => {
    const h = { ...host('Raspberry Pi 4 Model B Rev 1.4', ['gpiochip0']), path: toolsDir() };
    expect(selectBackend({ backend: 'rpio' }, h)).toMatchObject({ ok: true, backend: 'rpio', reason: 'configured' });
  });

  it('a board that is not a Pi gets a clear error suggesting the virtual backend', () => {
    const choice = selectBackend({ backend: 'auto' }, host('Radxa ROCK 5B'));
    expect(choice.ok).toBe(false);
    if (choice.ok) return;
    expect(choice.error.code).toBe('GPIO_NOT_A_PI');
    expect(choice.error.message).toContain('Radxa ROCK 5B');
    expect(choice.error.hint).toContain('gpio.backend: virtual');
  });

  it('no device-tree model (a PC, a container) is an error too, naming the file', () => {
    const h = host(undefined);
    const choice = selectBackend({ backend: 'auto' }, h);
    expect(choice).toMatchObject({ ok: false, error: { code: 'GPIO_NO_BOARD', message: expect.stringContaining(h.modelPath) } });
  });

  it('createButton logs which backend it chose and why', async () => {
    const logger = memoryLogger();
    const h = host('Raspberry Pi 4 Model B Rev 1.4');
    createButton(options(), { logger, host: h, rpioMock: 'raspi-4', path: NO_TOOLS });
    expect(logger.records()).toContainEqual(
      expect.objectContaining({
        msg: 'button backend chosen',
        backend: 'rpio',
        why: `Raspberry Pi 4 Model B Rev 1.4: rpio sampling as the fallback (no ${join(h.devDir, 'gpiochip*')}, no gpiomon on PATH (sudo apt install gpiod))`,
      }),
    );
    expect(() => createButton(options(), { logger, host: host('Radxa ROCK 5B') })).toThrow(
      expect.objectContaining({ code: 'GPIO_NOT_A_PI' }),
    );
  });
});

describe('GPIO access', () => {
  it('a user outside the gpio group gets the usermod fix (rpio, /dev/gpiomem)', () => {
    const h = { ...host('Raspberry Pi 4 Model B Rev 1.4', ['gpiomem']), identity: PI };
    let error: unknown;
    try {
      createButton(options(), { logger: memoryLogger(), host: h });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'GPIO_ACCESS',
      message: `user pi may not use ${join(h.devDir, 'gpiomem')} (not in its group)`,
      hint: expect.stringContaining('sudo usermod -aG gpio pi'),
    });
  });

  it('group membership is enough (gpiomon, /dev/gpiochip*)', async () => {
    const fake = await FakeGpiod.create('2.1.3');
    const h = { ...host('Raspberry Pi 5 Model B Rev 1.0', ['gpiochip0', 'gpiochip4']), identity: { ...PI, gids: [1000, 0] } };
    expect(await checkGpioAccess(options(), { host: h, path: fake.path })).toMatchObject({ backend: 'gpiomon', problems: [] });
    // doctor also finds a gpio.chip that is not there, and names the chips that are.
    const wrongChip = await checkGpioAccess(options({ chip: 'gpiochip4' }), { host: h, path: fake.path });
    expect(wrongChip.problems).toEqual([
      expect.objectContaining({ code: 'GPIO_CHIP_NOT_FOUND', message: expect.stringContaining('this machine has: gpiochip0') }),
    ]);
    await fake.close();
  });

  it('no gpiomem or no gpiochip device is named as such', () => {
    const rpioHost = host('Raspberry Pi 3 Model B Rev 1.2');
    expect(() => createButton(options(), { logger: memoryLogger(), host: rpioHost })).toThrow(
      expect.objectContaining({ code: 'GPIO_NO_DEVICE', message: expect.stringContaining('gpiomem') }),
    );
    const pi5 = host('Raspberry Pi 5 Model B Rev 1.0');
    expect(() => createButton(options(), { logger: memoryLogger(), host: pi5 })).toThrow(
      expect.objectContaining({ code: 'GPIO_NO_DEVICE', message: expect.stringContaining('gpiochip') }),
    );
  });

  it('checkGpioAccess lists every problem with its fix, for doctor', async () => {
    const h = { ...host('Raspberry Pi 5 Model B Rev 1.0', ['gpiochip0']), identity: PI };
    const { backend, why, problems } = await checkGpioAccess(options({ ledPin: 17 }), { host: h, path: NO_TOOLS });
    expect({ backend, why }).toEqual({ backend: 'gpiomon', why: expect.stringContaining('Pi 5 family') });
    expect(problems.map((p) => p.code)).toEqual(['GPIO_PIN_CLASH', 'GPIO_ACCESS', 'GPIOMON_MISSING']);
    expect(problems.every((p) => p.hint)).toBe(true);
    expect(await checkGpioAccess(options({ backend: 'virtual' }), { host: h })).toEqual({
      backend: 'virtual',
      why: 'configured',
      problems: [],
    });
  });
});
