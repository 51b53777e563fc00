/**
 * PCM16 little-endian mono helpers. Audio everywhere in the daemon is 24 kHz mono S16_LE,
 * so 1 ms is 48 bytes; every function here works on whole samples.
 */
import { PttError } from '../core/errors.js';

import { BYTES_PER_SAMPLE, CHANNELS, msToBytes, SAMPLE_RATE } from '../core/pcm-format.js';

export { BYTES_PER_MS, BYTES_PER_SAMPLE, bytesToMs, CHANNELS, msToBytes, SAMPLE_RATE } from '../core/pcm-format.js';
/** Level reported for digital silence (log of zero): quieter than any 16-bit signal. */
export const SILENCE_DBFS = -120;

export function silence(ms: number): Buffer {
  return Buffer.alloc(msToBytes(ms));
}

/** Sample count of a buffer, ignoring a trailing odd byte. */
export function sampleCount(pcm: Buffer): number {
  return Math.floor(pcm.length / BYTES_PER_SAMPLE);
}

export interface Level {
  rmsDbfs: number;
  peakDbfs: number;
}

/** Running sums so a whole turn's level is known without keeping its audio. */
export class LevelMeter {
  #sumSquares = 0;
  #samples = 0;
  #peak = 0;

  add(pcm: Buffer): void {
    const n = sampleCount(pcm);
    for (let i = 0; i < n; i++) {
      const s = pcm.readInt16LE(i * 2);
      this.#sumSquares += s * s;
      const a = Math.abs(s);
      if (a > this.#peak) this.#peak = a;
    }
    this.#samples += n;
  }

  get samples(): number {
    return this.#samples;
  }

  level(): Level {
    if (this.#samples === 0) return { rmsDbfs: SILENCE_DBFS, peakDbfs: SILENCE_DBFS };
    return { rmsDbfs: toDbfs(Math.sqrt(this.#sumSquares / this.#samples)), peakDbfs: toDbfs(this.#peak) };
  }
}

function toDbfs(amplitude: number): number {
  if (amplitude <= 0) return SILENCE_DBFS;
  return Math.max(SILENCE_DBFS, Math.round(20 * Math.log10(amplitude / 32768) * 10) / 10);
}

export function measureLevel(pcm: Buffer): Level {
  const meter = new LevelMeter();
  meter.add(pcm);
  return meter.level();
}

/** Returns a scaled copy, clipped to the 16-bit range. A gain of 1 returns the input itself. */
export function scaleVolume(pcm: Buffer, gain: number): Buffer {
  if (gain === 1) return pcm;
  const out = Buffer.alloc(sampleCount(pcm) * 2);
  for (let i = 0; i < out.length; i += 2) {
    const v = Math.round(pcm.readInt16LE(i) * gain);
    out.writeInt16LE(v > 32767 ? 32767 : Math.max(v, -32768), i);
  }
  return out;
}

/** Linear ramp in place over the first (`in`) or last (`out`) `samples` samples. */
export function fade(pcm: Buffer, direction: 'in' | 'out', samples: number): Buffer {
  const n = Math.min(samples, sampleCount(pcm));
  const total = sampleCount(pcm);
  for (let k = 0; k < n; k++) {
    const i = direction === 'in' ? k : total - 1 - k;
    pcm.writeInt16LE(Math.round((pcm.readInt16LE(i * 2) * k) / n), i * 2);
  }
  return pcm;
}

/** A ramp from `from` down to zero over `samples` samples: ends a waveform without a click. */
export function rampToZero(from: number, samples: number): Buffer {
  const out = Buffer.alloc(samples * 2);
  for (let k = 0; k < samples; k++) out.writeInt16LE(Math.round((from * (samples - 1 - k)) / samples), k * 2);
  return out;
}

/** The last sample of a buffer (0 when empty). */
export function lastSample(pcm: Buffer): number {
  return pcm.length >= 2 ? pcm.readInt16LE(sampleCount(pcm) * 2 - 2) : 0;
}

// ---- WAV (RIFF, PCM) ----

export const WAV_HEADER_BYTES = 44;

export interface WavFormat {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
}

export const PTT_FORMAT: WavFormat = { sampleRate: SAMPLE_RATE, channels: CHANNELS, bitsPerSample: 16 };

export function wavHeader(dataBytes: number, format: WavFormat = PTT_FORMAT): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  const blockAlign = (format.channels * format.bitsPerSample) / 8;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(format.channels, 22);
  h.writeUInt32LE(format.sampleRate, 24);
  h.writeUInt32LE(format.sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(format.bitsPerSample, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

export function encodeWav(pcm: Buffer, format: WavFormat = PTT_FORMAT): Buffer {
  return Buffer.concat([wavHeader(pcm.length, format), pcm]);
}

export interface ParsedWav {
  format: WavFormat;
  /** Byte offset of the sample data in the file. */
  dataOffset: number;
  /** Sample data; clipped to what the file holds when the header's size is wrong (e.g. a crashed writer). */
  data: Buffer;
}

/**
 * Reads a RIFF/WAVE buffer, walking chunks so LIST/fact chunks before `data` are skipped.
 * `source` names the file in errors.
 */
export function parseWav(buf: Buffer, source = 'WAV data'): ParsedWav {
  const bad = (why: string, context: Record<string, unknown> = {}) =>
    new PttError('AUDIO_BAD_WAV', `${source} is not a usable WAV file: ${why}`, {
      context: { source, ...context },
      hint: 'use a PCM WAV (16-bit) or raw S16_LE 24 kHz mono file',
    });
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw bad('no RIFF/WAVE header');
  }
  let offset = 12;
  let format: WavFormat | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) throw bad('truncated fmt chunk');
      const audioFormat = buf.readUInt16LE(body);
      // 0xFFFE is WAVE_FORMAT_EXTENSIBLE, which ffmpeg and sox write for plain PCM too.
      if (audioFormat !== 1 && audioFormat !== 0xfffe) throw bad(`compressed (format tag ${audioFormat})`, { audioFormat });
      format = { channels: buf.readUInt16LE(body + 2), sampleRate: buf.readUInt32LE(body + 4), bitsPerSample: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!format) throw bad('data chunk before fmt chunk');
      const end = Math.min(buf.length, body + size);
      return { format, dataOffset: body, data: buf.subarray(body, end) };
    }
    offset = body + size + (size % 2); // chunks are word aligned
  }
  throw bad('no data chunk');
}
