/** The pacing, jitter buffer and accounting every sink shares, observed through WavSink's file. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseWav, WavSink } from '../../src/audio/index.js';
import { testPcm, trimSilence } from '../support/alsa.js';

describe('WavSink', () => {
  let dir: string;
  let sink: WavSink | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ptt-wav-'))));
  afterEach(async () => {
    await sink?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('unpaced: writes the PCM and fixes up the header on stop', async () => {
    const path = join(dir, 'out.wav');
    sink = new WavSink({ path, unpaced: true });
    await sink.start();
    const pcm = testPcm(300);
    // Split inside a sample: the odd byte waits for the next write instead of being lost.
    sink.write(pcm.subarray(0, 1001));
    sink.write(pcm.subarray(1001));
    expect(sink.playedMs()).toBe(300);
    await sink.stop();
    const file = readFileSync(path);
    expect(file.readUInt32LE(40)).toBe(pcm.length);
    expect(file.readUInt32LE(4)).toBe(36 + pcm.length);
    expect(parseWav(file).data).toEqual(pcm);
  });

  it('applies the volume live', async () => {
    const path = join(dir, 'vol.wav');
    sink = new WavSink({ path, unpaced: true });
    await sink.start();
    const pcm = testPcm(20);
    sink.setVolume(0.5);
    sink.write(pcm);
    await sink.stop();
    const out = parseWav(readFileSync(path)).data;
    expect(out.readInt16LE(100)).toBe(Math.round(pcm.readInt16LE(100) * 0.5));
    expect(() => sink!.setVolume(1.5)).toThrow(/volume 1.5/);
  });

  it('paced: bridges a mid-answer gap with silence that ramps down, fades back in, and counts the underrun', async () => {
    const path = join(dir, 'gap.wav');
    sink = new WavSink({ path, leadMs: 20, periodMs: 10 });
    await sink.start();
    const a = testPcm(100, 1);
    const b = testPcm(100, 2);
    const underruns: number[] = [];
    sink.on('underrun', ({ gapMs }) => underruns.push(gapMs));
    sink.write(a);
    await sleep(250); // the network is late with the next delta
    sink.write(b);
    sink.endStream();
    await sink.next('drained', 2000);
    await sink.stop();
    const out = trimSilence(parseWav(readFileSync(path)).data);
    expect(out.subarray(0, a.length)).toEqual(a);
    // The first sample after `a` continues from a's last one toward zero: no step.
    const lastA = a.readInt16LE(a.length - 2);
    const next = out.readInt16LE(a.length);
    expect(Math.abs(next - lastA)).toBeLessThan(Math.abs(lastA) / 10 + 1);
    // `b` fades in over 3 ms (72 samples), then is exact.
    expect(out.subarray(out.length - b.length + 144)).toEqual(b.subarray(144));
    expect(out.readInt16LE(out.length - b.length)).toBe(0);
    expect(underruns).toHaveLength(1);
    expect(underruns[0]).toBeGreaterThanOrEqual(100);
    expect(sink.stats.underruns).toBe(1);
  });

  it('reports drained after a quiet spell even without endStream(), and counts played ms per stream', async () => {
    sink = new WavSink({ path: join(dir, 'grace.wav'), leadMs: 20, periodMs: 10, drainGraceMs: 100 });
    await sink.start();
    sink.write(testPcm(50, 1));
    await sink.next('drained', 2000);
    expect(sink.playedMs()).toBe(0);
    sink.write(testPcm(40, 2));
    sink.endStream();
    await sink.next('drained', 2000);
    sink.beginStream();
    sink.write(testPcm(500, 3));
    await sleep(100);
    const played = sink.playedMs();
    // Paced: part of the answer has played, not all of it (500 ms) and not nothing.
    expect(played).toBeGreaterThan(0);
    expect(played).toBeLessThan(500);
    expect(sink.interrupt()).toBeGreaterThanOrEqual(played);
    expect(sink.playedMs()).toBe(0);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
