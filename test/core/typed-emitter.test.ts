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
});
