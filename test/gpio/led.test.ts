import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { createLed, DEFAULT_GPIO_OPTIONS, LED_PATTERNS, type GpioOptions, type Led } from '../../src/gpio/index.js';
import { loadRpio } from '../../src/gpio/rpio-driver.js';
import { FakeGpiod } from '../support/fake-gpiod.js';

const rpio = loadRpio();
const options = (o: Partial<GpioOptions>): GpioOptions => ({ ...DEFAULT_GPIO_OPTIONS, ...o });

describe('status LED', () => {
  let led: Led | undefined;
  afterEach(async () => {
    await led?.stop();
    led = undefined;
    vi.useRealTimers();
  });

  it('has a pattern for every daemon state, each a loop of [level, ms] steps', () => {
    expect(Object.keys(LED_PATTERNS).sort()).toEqual(['connecting', 'error', 'idle', 'listening', 'speaking', 'thinking']);
    for (const steps of Object.values(LED_PATTERNS)) {
      expect(steps.length).toBeGreaterThan(0);
      for (const [level, ms] of steps) {
        expect([0, 1]).toContain(level);
        expect(ms).toBeGreaterThan(0);
      }
    }
  });

  it('plays the state patterns on the pin with rpio (mock mode, read back)', async () => {
    vi.useFakeTimers();
    led = createLed(options({ backend: 'rpio', ledPin: 27 }), { logger: memoryLogger(), rpioMock: 'raspi-3' });
    await led.start();
    led.setState('thinking'); // 120 on, 120 off
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      seen.push(rpio.read(27));
      vi.advanceTimersByTime(120);
    }
    expect(seen).toEqual([1, 0, 1, 0]);
    led.setState('listening'); // steady
    vi.advanceTimersByTime(10_000);
    expect(rpio.read(27)).toBe(1);
    await led.stop();
    rpio.init({ mock: 'raspi-3', mapping: 'gpio', close_on_exit: false });
    expect(rpio.read(27)).toBe(0); // off after stop
  });

  it('is a no-op without gpio.ledPin', async () => {
    led = createLed(options({ backend: 'rpio', ledPin: null }), {
      logger: memoryLogger(),
      host: { modelPath: '/nonexistent', devDir: '/nonexistent' },
    });
    await led.start();
    led.setState('error');
    expect(led.state).toBe('error');
  });

  it('with libgpiod 2.x, one gpioset child per LED state plays the whole pattern (--toggle), none per blink', async () => {
    const fake = await FakeGpiod.create('2.1.3', { GPIO27: 'gpiochip0 27' });
    const dev = mkdtempSync(join(tmpdir(), 'ptt-led-dev-'));
    writeFileSync(join(dev, 'gpiochip0'), '');
    try {
      led = createLed(options({ backend: 'gpiomon', ledPin: 27 }), { logger: memoryLogger(), path: fake.path, host: { devDir: dev } });
      await led.start();
      led.setState('thinking'); // 120 ms on, 120 ms off, looping
      expect((await fake.spawn(0)).argv).toEqual(['--chip=gpiochip0', '--toggle=120ms,120ms', '27=1']);
      await new Promise((r) => setTimeout(r, 600)); // five level changes: no new child
      expect(fake.spawns).toHaveLength(1);
      led.setState('listening'); // steady on
      expect((await fake.spawn(1)).argv).toEqual(['--chip=gpiochip0', '27=1']);
      led.setState('error');
      expect((await fake.spawn(2)).argv).toEqual(['--chip=gpiochip0', '--toggle=100ms,100ms,100ms,1200ms', '27=1']);
      await led.stop();
      led = undefined;
    } finally {
      await fake.close();
      rmSync(dev, { recursive: true, force: true });
    }
  });

  it('drives the line with gpioset on libgpiod 1.x (one child per level change)', async () => {
    const fake = await FakeGpiod.create('1.6.3', { GPIO27: 'gpiochip0 27' });
    const dev = mkdtempSync(join(tmpdir(), 'ptt-led-dev-'));
    mkdirSync(dev, { recursive: true });
    writeFileSync(join(dev, 'gpiochip0'), '');
    try {
      led = createLed(options({ backend: 'gpiomon', ledPin: 27 }), { logger: memoryLogger(), path: fake.path, host: { devDir: dev } });
      await led.start();
      led.setState('listening');
      const on = await fake.spawn(0);
      expect(on).toMatchObject({ tool: 'gpioset', argv: ['--mode=signal', 'gpiochip0', '27=1'] });
      led.setState('idle'); // 60 ms on (no change), then off
      const off = await fake.spawn(1);
      expect(off.argv).toEqual(['--mode=signal', 'gpiochip0', '27=0']);
      await led.stop();
      led = undefined;
    } finally {
      await fake.close();
      rmSync(dev, { recursive: true, force: true });
    }
  });
});
