/** GatedMic over FileSource: the gate, the pre-roll ring, turn levels, and the file source itself. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { encodeWav, FileSource, GatedMic, PTT_FORMAT, silence } from '../../src/audio/index.js';
import { testPcm } from '../support/alsa.js';

describe('GatedMic', () => {
  it('returns exactly preRollMs of what came before open(), then passes audio until close()', async () => {
    const pcm = testPcm(400);
    const source = new FileSource({ file: pcm, periodMs: 20, unpaced: true, atEnd: 'stop' });
    const mic = new GatedMic(source, { preRollMs: 50 });
    let frames = 0;
    let preRoll: Buffer = Buffer.alloc(0);
    const gated: Buffer[] = [];
    source.on('frame', () => {
      if (++frames === 5) preRoll = mic.open(); // press after 100 ms
      if (frames === 15) gated.push(Buffer.from('closed')) && mic.close();
    });
    mic.on('audio', (f) => gated.push(f));
    const ended = source.next('end', 5000);
    await source.start();
    await ended;
    await source.stop();
    expect(preRoll).toEqual(pcm.subarray(50 * 48, 100 * 48));
    // Frames 6..15 went through the gate (frame 15 before close); nothing after.
    const marker = gated.findIndex((b) => b.toString() === 'closed');
    expect(Buffer.concat(gated.slice(0, marker))).toEqual(pcm.subarray(100 * 48, 300 * 48));
    expect(marker).toBe(gated.length - 1);
  });

  it('reports turn length and level, and warns when a turn is silent (muted mic)', async () => {
    const logger = memoryLogger();
    const source = new FileSource({ file: silence(200), periodMs: 20, unpaced: true, atEnd: 'stop' });
    const mic = new GatedMic(source, { preRollMs: 0, logger });
    mic.open();
    const ended = source.next('end', 5000);
    await source.start();
    await ended;
    const stats = mic.close();
    expect(stats).toMatchObject({ ms: 200, silent: true, peakDbfs: -120 });
    expect(logger.records().find((r) => r.level === 'warn')?.msg).toMatch(/silent/);
  });
});

describe('FileSource', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ptt-src-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('plays a WAV file in real time in period frames, then silence', async () => {
    const pcm = testPcm(100);
    const path = join(dir, 'in.wav');
    writeFileSync(path, encodeWav(pcm));
    const source = new FileSource({ file: path, periodMs: 20 });
    const frames: Buffer[] = [];
    source.on('frame', (f) => frames.push(f));
    await source.start();
    await source.next('end', 2000);
    await new Promise((r) => setTimeout(r, 60));
    await source.stop();
    expect(frames.every((f) => f.length === 960)).toBe(true);
    expect(Buffer.concat(frames.slice(0, 5))).toEqual(pcm);
    expect(frames.length).toBeGreaterThan(5); // silence follows, like a live mic
    expect(frames.slice(5).every((f) => f.equals(Buffer.alloc(960)))).toBe(true);
  });

  it('refuses a WAV in another format, saying how to convert it', async () => {
    const path = join(dir, 'cd.wav');
    writeFileSync(path, encodeWav(testPcm(10), { ...PTT_FORMAT, sampleRate: 44100 }));
    await expect(new FileSource({ file: path }).start()).rejects.toMatchObject({
      code: 'AUDIO_BAD_WAV',
      message: expect.stringContaining('44100 Hz'),
      hint: expect.stringContaining('sox'),
    });
  });

  it('names a missing file', async () => {
    await expect(new FileSource({ file: join(dir, 'nope.wav') }).start()).rejects.toMatchObject({
      code: 'AUDIO_FILE_READ',
      message: expect.stringContaining('ENOENT'),
    });
  });
});
