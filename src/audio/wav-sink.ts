/**
 * A speaker that writes a WAV file: the demo's output and a stand-in for aplay in tests.
 * The header's sizes are fixed up on stop(), so a crash leaves a file whose header says 0
 * bytes (parseWav still reads what is there). Paced like aplay by default, or unpaced.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { PttError } from '../core/errors.js';
import { PacedSink, type PacedSinkOptions } from './paced-sink.js';
import { wavHeader, WAV_HEADER_BYTES } from './pcm.js';

export interface WavSinkOptions extends PacedSinkOptions {
  path: string;
}

export class WavSink extends PacedSink {
  readonly name = 'audio.wav-sink';
  #fd: number | undefined;
  #dataBytes = 0;

  constructor(private readonly options: WavSinkOptions) {
    super({ deviceDelayMs: 0, ...options });
  }

  get dataBytes(): number {
    return this.#dataBytes;
  }

  async start(): Promise<void> {
    if (this.#fd !== undefined) return;
    try {
      this.#fd = openSync(this.options.path, 'w');
    } catch (err) {
      throw new PttError('AUDIO_FILE_WRITE', `cannot write ${this.options.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        context: { path: this.options.path },
        cause: err,
      });
    }
    this.#dataBytes = 0;
    writeSync(this.#fd, wavHeader(0));
    this.startClock();
  }

  async stop(): Promise<void> {
    this.stopClock();
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd === undefined) return;
    writeSync(fd, wavHeader(this.#dataBytes), 0, WAV_HEADER_BYTES, 0);
    closeSync(fd);
  }

  protected deliver(chunk: Buffer): void {
    if (this.#fd === undefined) return;
    // Small synchronous writes: ordered, and no threadpool thread is taken from the capture.
    writeSync(this.#fd, chunk);
    this.#dataBytes += chunk.length;
  }
}
