import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ButtonLogic, type ButtonLogicOptions } from '../../src/gpio/button-logic.js';

type Rec = [string, Record<string, number>];

function setup(overrides: Partial<ButtonLogicOptions> = {}) {
  const logic = new ButtonLogic({
    debounceMs: 25,
    mode: 'hold',
    longPressMs: 1000,
    doublePressMs: 300,
    now: () => Date.now(),
    ...overrides,
  });
  const events: Rec[] = [];
  for (const name of ['press', 'release', 'longPress', 'doublePress'] as const) {
    logic.on(name, (e) => events.push([name, { ...e }]));
  }
  const t0 = Date.now();
  /** Raw physical level at t0 + ms (advancing fake time to it first). */
  const until = (ms: number) => vi.advanceTimersByTime(Math.max(0, t0 + ms - Date.now()));
  const raw = (ms: number, pressed: boolean) => {
    until(ms);
    logic.physical(pressed, t0 + ms);
  };
  const names = () => events.map((e) => e[0]);
  return { logic, events, raw, until, names, t0 };
}

/** Bouncy contact: alternating levels every `stepMs`, ending on `final`. */
function bounce(raw: (ms: number, p: boolean) => void, startMs: number, final: boolean, edges = 7, stepMs = 2) {
  for (let i = 0; i < edges; i++) raw(startMs + i * stepMs, i % 2 === 0 ? final : !final);
}

describe('ButtonLogic', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
  });
  afterEach(() => vi.useRealTimers());

  it('turns a bouncing press and a bouncing release into exactly one press and one release', () => {
    const { raw, until, events, t0 } = setup();
    bounce(raw, 100, true);
    until(300);
    bounce(raw, 300, false);
    until(600);
    expect(events).toEqual([
      ['press', { at: t0 + 100 }],
      ['release', { at: t0 + 300, heldMs: 200 }],
    ]);
  });

  it('reports nothing for a glitch shorter than the debounce window', () => {
    const { raw, until, events } = setup();
    raw(100, true);
    raw(110, false);
    until(500);
    expect(events).toEqual([]);
  });

  it('waits the debounce window after the last edge before it reports', () => {
    const { raw, until, names } = setup();
    raw(100, true);
    until(124);
    expect(names()).toEqual([]);
    until(125);
    expect(names()).toEqual(['press']);
  });

  it('in toggle mode the first press emits press and the next press emits release', () => {
    const { raw, until, events, t0 } = setup({ mode: 'toggle', doublePressMs: 0 });
    bounce(raw, 100, true);
    bounce(raw, 200, false);
    until(1000);
    expect(events).toEqual([['press', { at: t0 + 100 }]]);
    bounce(raw, 2000, true);
    until(2100);
    expect(events.at(-1)).toEqual(['release', { at: t0 + 2000, heldMs: 1900 }]);
    bounce(raw, 2200, false);
    until(3000);
    expect(events).toHaveLength(2);
  });

  it('emits longPress once while held past longPressMs, and not for a shorter hold', () => {
    const { raw, until, names, events, t0 } = setup();
    raw(100, true);
    until(1099);
    expect(names()).toEqual(['press']);
    until(3000);
    expect(events[1]).toEqual(['longPress', { at: t0 + 1100 }]);
    raw(3000, false);
    raw(4000, true);
    raw(4500, false);
    until(6000);
    expect(names()).toEqual(['press', 'longPress', 'release', 'press', 'release']);
  });

  it('reports a double press after the second press, and not for a slow second press or a third', () => {
    const { raw, until, names, events, t0 } = setup();
    raw(100, true);
    raw(200, false);
    raw(400, true); // 200 ms after the release: within 300
    until(450);
    expect(names()).toEqual(['press', 'release', 'press', 'doublePress']);
    expect(events[3]).toEqual(['doublePress', { at: t0 + 400 }]);
    raw(500, false);
    raw(600, true); // a third quick press starts a new chain
    raw(700, false);
    raw(1100, true); // 400 ms gap: too slow
    raw(1200, false);
    until(2000);
    expect(names().filter((n) => n === 'doublePress')).toHaveLength(1);
  });

  it('a long first press does not count towards a double press', () => {
    const { raw, until, names } = setup();
    raw(100, true);
    raw(1300, false);
    raw(1400, true);
    raw(1500, false);
    until(2000);
    expect(names()).not.toContain('doublePress');
  });

  it('merges the virtual contact with the physical one (wired-OR), without debounce', () => {
    const { logic, raw, until, events, t0 } = setup();
    logic.virtual(true, t0 + 10);
    expect(events).toEqual([['press', { at: t0 + 10 }]]);
    raw(50, true); // physical press while virtually held: still one press
    raw(80, false);
    until(200);
    logic.virtual(false, t0 + 200);
    expect(events).toEqual([
      ['press', { at: t0 + 10 }],
      ['release', { at: t0 + 200, heldMs: 190 }],
    ]);
  });

  it('a button held at start is a baseline, not a press', () => {
    const { logic, raw, until, names } = setup();
    logic.setPhysicalBaseline(true);
    until(500);
    raw(600, false);
    until(700);
    expect(names()).toEqual([]);
    raw(800, true);
    until(900);
    expect(names()).toEqual(['press']);
  });

  it('debounceMs 0 reports every change at once', () => {
    const { raw, names } = setup({ debounceMs: 0 });
    raw(100, true);
    expect(names()).toEqual(['press']);
    raw(101, false);
    expect(names()).toEqual(['press', 'release']);
  });

  it('dispose cancels a pending press', () => {
    const { logic, raw, until, names } = setup();
    raw(100, true);
    logic.dispose();
    until(2000);
    expect(names()).toEqual([]);
  });
});
