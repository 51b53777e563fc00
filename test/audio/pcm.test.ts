import { describe, expect, it } from 'vitest';
import type { PttError } from '../../src/core/errors.js';
import {
  bytesToMs,
  captureThreadAvailable,
  earcon,
  EARCON_NAMES,
  encodeWav,
  measureLevel,
  msToBytes,
  parseWav,
  scaleVolume,
  silence,
  SILENCE_DBFS,
  threadpoolSize,
  wavHeader,
} from '../../src/audio/index.js';

function tone(ms: number, amplitude: number): Buffer {
  const n = (ms * 24000) / 1000;
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) out.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * 1000 * i) / 24000)), i * 2);
  return out;
}

describe('PCM helpers', () => {
  it('converts between milliseconds and bytes at 24 kHz mono 16-bit', () => {
    expect(msToBytes(20)).toBe(960);
    expect(msToBytes(0.03)).toBe(2); // rounds to whole samples
    expect(bytesToMs(4800)).toBe(100);
    expect(silence(10).equals(Buffer.alloc(480))).toBe(true);
  });

  it('measures levels in dBFS: a full-scale sine peaks at 0 and has RMS -3, silence is the floor', () => {
    const level = measureLevel(tone(100, 32767));
    expect(level.peakDbfs).toBeCloseTo(0, 1);
    expect(level.rmsDbfs).toBeCloseTo(-3, 0);
    expect(measureLevel(tone(100, 3277)).peakDbfs).toBeCloseTo(-20, 0);
    expect(measureLevel(silence(50))).toEqual({ rmsDbfs: SILENCE_DBFS, peakDbfs: SILENCE_DBFS });
  });

  it('scales volume with clipping and leaves the input untouched', () => {
    const pcm = Buffer.alloc(6);
    pcm.writeInt16LE(1000, 0);
    pcm.writeInt16LE(-30000, 2);
    pcm.writeInt16LE(30000, 4);
    const half = scaleVolume(pcm, 0.5);
    expect([half.readInt16LE(0), half.readInt16LE(2), half.readInt16LE(4)]).toEqual([500, -15000, 15000]);
    const loud = scaleVolume(pcm, 2);
    expect([loud.readInt16LE(2), loud.readInt16LE(4)]).toEqual([-32768, 32767]);
    expect(pcm.readInt16LE(0)).toBe(1000);
  });

  it('writes and reads WAV files, skipping extra chunks', () => {
    const pcm = tone(30, 5000);
    expect(parseWav(encodeWav(pcm)).data).toEqual(pcm);
    expect(parseWav(encodeWav(pcm)).format).toEqual({ sampleRate: 24000, channels: 1, bitsPerSample: 16 });
    // A LIST chunk between fmt and data, as many editors write.
    const plain = encodeWav(pcm);
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([4, 0, 0, 0]), Buffer.from('INFO')]);
    const withList = Buffer.concat([plain.subarray(0, 36), list, plain.subarray(36)]);
    expect(parseWav(withList).data).toEqual(pcm);
    expect(wavHeader(100).readUInt32LE(40)).toBe(100);
  });

  it('rejects files that are not PCM WAV with a specific error', () => {
    const bad = (buf: Buffer) => {
      try {
        parseWav(buf, 'x.wav');
        return undefined;
      } catch (e) {
        return e as PttError;
      }
    };
    expect(bad(Buffer.from('not a wav file at all'))).toMatchObject({ code: 'AUDIO_BAD_WAV', message: expect.stringContaining('x.wav') });
    const mp3ish = encodeWav(tone(10, 100));
    mp3ish.writeUInt16LE(85, 20);
    expect(bad(mp3ish)?.message).toContain('compressed');
  });
});

describe('earcons', () => {
  it.each(EARCON_NAMES)('%s is a short tone that starts and ends at zero with no jumps (no clicks)', (name) => {
    const pcm = earcon(name);
    const ms = bytesToMs(pcm.length);
    expect(ms).toBeGreaterThan(50);
    expect(ms).toBeLessThan(500);
    expect(pcm.readInt16LE(0)).toBe(0);
    expect(Math.abs(pcm.readInt16LE(pcm.length - 2))).toBeLessThan(300);
    let maxStep = 0;
    for (let i = 2; i < pcm.length; i += 2) maxStep = Math.max(maxStep, Math.abs(pcm.readInt16LE(i) - pcm.readInt16LE(i - 2)));
    expect(maxStep).toBeLessThan(2500); // a click is a step of many thousands
    const { peakDbfs } = measureLevel(pcm);
    expect(peakDbfs).toBeGreaterThan(-15);
    expect(peakDbfs).toBeLessThan(-10);
  });

  it('are distinct and hand out copies', () => {
    expect(earcon('press').equals(earcon('release'))).toBe(false);
    const a = earcon('ready');
    a.fill(0);
    expect(earcon('ready').equals(a)).toBe(false);
  });
});

describe('threadpool headroom', () => {
  it('reads the pool size the process was started with', () => {
    expect(threadpoolSize({})).toBe(4);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '8' })).toBe(8);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: 'lots' })).toBe(4);
  });

  it('wants two threads left for file I/O besides the capture', () => {
    expect(captureThreadAvailable({ UV_THREADPOOL_SIZE: '2' })).toBe(false);
    expect(captureThreadAvailable({ UV_THREADPOOL_SIZE: '3' })).toBe(true);
    expect(captureThreadAvailable({ UV_THREADPOOL_SIZE: '8' })).toBe(true);
  });
});
