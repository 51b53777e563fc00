import { describe, expect, it } from 'vitest';
import { synthesizeReply } from '../../src/simulator/index.js';

const samples = (pcm: Buffer) => Array.from({ length: pcm.length / 2 }, (_, i) => pcm.readInt16LE(i * 2));

describe('synthesized reply audio', () => {
  it('is PCM16 24 kHz of the asked length, audible, unclipped, and starts and ends without a click', () => {
    const pcm = synthesizeReply(500, 1);
    expect(pcm.length).toBe(500 * 48);
    const s = samples(pcm);
    const peak = Math.max(...s.map(Math.abs));
    expect(peak).toBeGreaterThan(0.2 * 32767);
    expect(peak).toBeLessThan(0.5 * 32767);
    expect(Math.abs(s[0]!)).toBeLessThan(50);
    expect(Math.abs(s.at(-1)!)).toBeLessThan(300);
  });

  it('is deterministic per turn, and consecutive turns differ', () => {
    expect(synthesizeReply(200, 2).equals(synthesizeReply(200, 2))).toBe(true);
    expect(synthesizeReply(200, 2).equals(synthesizeReply(200, 3))).toBe(false);
  });
});
