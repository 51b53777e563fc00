/**
 * A microphone made of a file: WAV (24 kHz mono 16-bit) or raw S16_LE PCM, emitted in
 * period-sized frames at real time, then silence (or a loop) so a gated consumer sees a live
 * device. For the demo and tests.
 */
import { readFile } from 'node:fs/promises';
import { PttError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { msToBytes, parseWav, SAMPLE_RATE } from './pcm.js';
import type { AudioSource, AudioSourceEvents } from './source.js';

export interface FileSourceOptions {
  /** A .wav file, or raw S16_LE 24 kHz mono; or the PCM itself. */
  file: string | Buffer;
  periodMs?: number;
  /** After the file: keep emitting silent frames (default) or start over. */
  atEnd?: 'silence' | 'loop' | 'stop';
  /** Emit as fast as possible instead of in real time (tests of pure logic). */
  unpaced?: boolean;
}

export type FileSourceEvents = AudioSourceEvents & { end: [] };

export class FileSource extends TypedEmitter<FileSourceEvents> implements AudioSource {
  readonly name = 'audio.file-source';
  readonly periodMs: number;
  #pcm: Buffer = Buffer.alloc(0);
  #ended = false;
  #offset = 0;
  #timer: NodeJS.Timeout | undefined;
  #started = 0;
  #emitted = 0;
  #running = false;

  constructor(private readonly options: FileSourceOptions) {
    super();
    this.periodMs = options.periodMs ?? 20;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#pcm = await loadPcm(this.options.file);
    this.#offset = 0;
    this.#emitted = 0;
    this.#ended = false;
    this.#running = true;
    this.#started = performance.now();
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Frames due by now, counted from start so timer lateness never drops or repeats audio. */
  #tick = (): void => {
    this.#timer = undefined;
    if (!this.#running) return;
    const due = this.options.unpaced ? this.#emitted + 1 : Math.floor((performance.now() - this.#started) / this.periodMs);
    while (this.#running && this.#emitted < due) {
      const frame = this.#nextFrame();
      this.#emitted++;
      if (!frame) {
        this.#running = false;
        return;
      }
      this.emit('frame', frame);
    }
    this.#schedule();
  };

  #schedule(): void {
    if (!this.#running) return;
    const wait = this.options.unpaced ? 0 : this.#started + (this.#emitted + 1) * this.periodMs - performance.now();
    this.#timer = setTimeout(this.#tick, Math.max(0, wait));
  }

  #nextFrame(): Buffer | undefined {
    const size = msToBytes(this.periodMs);
    const atEnd = this.options.atEnd ?? 'silence';
    if (this.#offset >= this.#pcm.length) {
      if (atEnd === 'stop') return undefined;
      if (atEnd === 'loop' && this.#pcm.length > 0) this.#offset = 0;
      else return Buffer.alloc(size);
    }
    const frame = Buffer.alloc(size);
    this.#pcm.copy(frame, 0, this.#offset, this.#offset + size);
    this.#offset += size;
    if (this.#offset >= this.#pcm.length && !this.#ended) {
      this.#ended = true;
      queueMicrotask(() => this.emit('end'));
    }
    return frame;
  }
}

/** Reads a WAV (checked to be 24 kHz mono 16-bit) or raw PCM file. */
export async function loadPcm(file: string | Buffer): Promise<Buffer> {
  if (Buffer.isBuffer(file)) return file;
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new PttError('AUDIO_FILE_READ', `cannot read audio file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      context: { file },
      cause: err,
    });
  }
  if (buf.toString('ascii', 0, 4) !== 'RIFF') return buf.subarray(0, buf.length - (buf.length % 2));
  const wav = parseWav(buf, file);
  const { sampleRate, channels, bitsPerSample } = wav.format;
  if (sampleRate !== SAMPLE_RATE || channels !== 1 || bitsPerSample !== 16) {
    throw new PttError(
      'AUDIO_BAD_WAV',
      `${file} is ${sampleRate} Hz, ${channels} channel(s), ${bitsPerSample}-bit; the daemon needs 24000 Hz mono 16-bit`,
      {
        context: { file, ...wav.format },
        hint: `convert it: sox ${file} -r 24000 -c 1 -b 16 out.wav`,
      },
    );
  }
  return wav.data.subarray(0, wav.data.length - (wav.data.length % 2));
}
