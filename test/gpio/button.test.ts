import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { createButton, DEFAULT_GPIO_OPTIONS, monotonicMs, type Button, type GpioOptions } from '../../src/gpio/index.js';
import { loadRpio } from '../../src/gpio/rpio-driver.js';
import { FakeGpiod } from '../support/fake-gpiod.js';

const rpio = loadRpio();
type Rec = [string, Record<string, number>];

function record(button: Button): Rec[] {
  const events: Rec[] = [];
  for (const name of ['press', 'release', 'longPress', 'doublePress'] as const) button.on(name, (e) => events.push([name, { ...e }]));
  return events;
}

const options = (o: Partial<GpioOptions>): GpioOptions => ({ ...DEFAULT_GPIO_OPTIONS, ...o });

describe('Button on rpio (mock mode, levels driven with rpio.write)', () => {
  let button: Button | undefined;
  afterEach(async () => {
    await button?.stop();
    vi.useRealTimers();
  });

  it('samples the pin: a bouncing press and release of an active-low button give one press and one release', async () => {
    vi.useFakeTimers();
    // Pulls are not simulated in mock mode: set the idle (pulled-up) level by hand.
    rpio.init({ mock: 'raspi-3', mapping: 'gpio', close_on_exit: false });
    rpio.write(17, 1);
    button = createButton(options({ backend: 'rpio', pin: 17, sampleMs: 2, debounceMs: 20 }), {
      logger: memoryLogger(),
      rpioMock: 'raspi-3',
    });
    const events = record(button);
    await button.start();
    for (const level of [0, 1, 0, 1, 0]) {
      rpio.write(17, level); // each level lasts one sample: contact bounce
      vi.advanceTimersByTime(2);
    }
    vi.advanceTimersByTime(100);
    expect(events.map((e) => e[0])).toEqual(['press']);
    expect(button.pressed).toBe(true);
    for (const level of [1, 0, 1, 0, 1]) {
      rpio.write(17, level);
      vi.advanceTimersByTime(2);
    }
    vi.advanceTimersByTime(100);
    expect(events.map((e) => e[0])).toEqual(['press', 'release']);
    expect(events[1]![1].heldMs).toBeGreaterThanOrEqual(0);
    await button.stop();
    // stop() closes the pin: no more samples, no more events
    rpio.init({ mock: 'raspi-3', mapping: 'gpio', close_on_exit: false });
    rpio.write(17, 0);
    vi.advanceTimersByTime(100);
    expect(events).toHaveLength(2);
  });

  it('an active-high button (pull down) presses on a high level', async () => {
    vi.useFakeTimers();
    rpio.init({ mock: 'raspi-3', mapping: 'gpio', close_on_exit: false });
    rpio.write(22, 0);
    button = createButton(options({ backend: 'rpio', pin: 22, activeLow: false, pull: 'down', sampleMs: 5 }), {
      logger: memoryLogger(),
      rpioMock: 'raspi-3',
    });
    const events = record(button);
    await button.start();
    rpio.write(22, 1);
    vi.advanceTimersByTime(100);
    expect(events.map((e) => e[0])).toEqual(['press']);
  });
});

describe('Button on gpiomon (fake gpiomon on PATH)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('kernel-stamped bouncing edges become one press whose heldMs is measured from the kernel timestamps', async () => {
    const fake = await FakeGpiod.create('1.6.3');
    cleanups.push(() => fake.close());
    const dev = await import('node:fs').then((fs) => {
      const d = fs.mkdtempSync('/tmp/ptt-dev-');
      fs.writeFileSync(`${d}/gpiochip0`, '');
      cleanups.push(async () => fs.rmSync(d, { recursive: true }));
      return d;
    });
    const button = createButton(options({ backend: 'gpiomon', pin: 17, debounceMs: 15 }), {
      logger: memoryLogger(),
      path: fake.path,
      host: { devDir: dev },
    });
    cleanups.push(() => button.stop());
    const events = record(button);
    await button.start();
    const mon = await fake.spawn(0);
    const t = monotonicMs();
    for (const [edge, dt] of [
      ['falling', 0],
      ['rising', 1],
      ['falling', 2],
      ['rising', 3],
      ['falling', 4],
    ] as const)
      fake.edge(mon, edge, t + dt);
    await until(() => events.length === 1);
    for (const [edge, dt] of [
      ['rising', 300],
      ['falling', 301],
      ['rising', 302],
    ] as const)
      fake.edge(mon, edge, t + dt);
    await until(() => events.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual([
      ['press', { at: expect.closeTo(t, 3) }],
      ['release', { at: expect.closeTo(t + 300, 3), heldMs: expect.closeTo(300, 3) }],
    ]);
  });
});

describe('Button: virtual and physical together', () => {
  it('the virtual button presses a button whose physical backend is rpio, and its events are the same events', async () => {
    rpio.init({ mock: 'raspi-3', mapping: 'gpio', close_on_exit: false });
    rpio.write(17, 1);
    const button = createButton(options({ backend: 'rpio', mode: 'toggle' }), { logger: memoryLogger(), rpioMock: 'raspi-3' });
    const events = record(button);
    await button.start();
    await button.virtual.tap(20);
    expect(events.map((e) => e[0])).toEqual(['press']);
    expect(button.pressed).toBe(true); // toggle: on until the next press
    await button.virtual.tap(20);
    expect(events.map((e) => e[0])).toEqual(['press', 'release', 'doublePress']);
    expect(button.pressed).toBe(false);
    await button.stop();
  });

  it('the virtual backend alone needs no GPIO at all', async () => {
    const button = createButton(options({ backend: 'virtual' }), {
      logger: memoryLogger(),
      host: { modelPath: '/nonexistent', devDir: '/nonexistent' },
    });
    const events = record(button);
    await button.start();
    button.virtual.press();
    button.virtual.release();
    expect(events.map((e) => e[0])).toEqual(['press', 'release']);
    expect(button.backendName).toBe('virtual');
    await button.stop();
  });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
