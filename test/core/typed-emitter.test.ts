import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../src/core/typed-emitter.js';

class Counter extends TypedEmitter<{ tick: [n: number]; listenerError: [err: unknown, event: string] }> {
  tick(n: number) {
    this.emit('tick', n);
  }
}

describe('TypedEmitter', () => {
  it('a throwing listener does not stop the others or the caller', () => {
    const c = new Counter();
    const seen: number[] = [];
    const errors: string[] = [];
    c.on('listenerError', (_err, event) => errors.push(event));
    c.on('tick', () => {
      throw new Error('bad consumer');
    });
    c.on('tick', (n) => seen.push(n));
    expect(() => c.tick(1)).not.toThrow();
    expect(seen).toEqual([1]);
    expect(errors).toEqual(['tick']);
  });

  it('next() resolves with the next event and times out otherwise', async () => {
    const c = new Counter();
    const p = c.next('tick');
    c.tick(7);
    await expect(p).resolves.toEqual([7]);
    await expect(c.next('tick', 10)).rejects.toThrow(/timed out after 10 ms waiting for 'tick'/);
    expect(c.listenerCount('tick')).toBe(0);
  });

  it('once listeners fire once; listeners added or removed while emitting take effect from the next event', () => {
    const c = new Counter();
    const seen: string[] = [];
    const late = (n: number) => seen.push(`late ${n}`);
    const removed = (n: number) => seen.push(`removed ${n}`);
    c.once('tick', (n) => seen.push(`once ${n}`));
    c.on('tick', (n) => {
      seen.push(`first ${n}`);
      if (n === 1) {
        c.on('tick', late);
        c.off('tick', removed);
      }
    });
    c.on('tick', removed);
    c.tick(1);
    c.tick(2);
    expect(seen).toEqual(['once 1', 'first 1', 'removed 1', 'first 2', 'late 2']);
    c.off('tick', late);
    expect(c.listenerCount('tick')).toBe(1);
    c.removeAllListeners();
    expect(c.listenerCount('tick')).toBe(0);
  });
});
