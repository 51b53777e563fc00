/**
 * The transcript file: one JSON object a line per final user or assistant text and per function
 * call (role `tool`), appended in order. Writes are queued so lines never interleave, a directory that disappeared is made again,
 * and a failing disk is reported once (the conversation goes on; the journal says transcripts are
 * not being kept).
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Component } from '../core/component.js';
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/secrets.js';
import type { CallRecord } from '../tools/types.js';

export class TranscriptFile implements Component {
  readonly name = 'transcript-file';
  #queue: Promise<void> = Promise.resolve();
  #failed = false;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o750 });
      // Touch it now so a path we cannot write is reported at start, not at the first turn.
      await appendFile(this.path, '', { mode: 0o640 });
    } catch (err) {
      throw new PttError('TRANSCRIPT_FILE', `cannot write the transcript file ${this.path}: ${(err as Error).message}`, {
        context: { path: this.path },
        cause: err,
        hint: 'set log.transcriptFile to a writable path (the service uses /var/lib/realtime-ptt via StateDirectory), or null to keep no transcripts',
      });
    }
  }

  /** One line per function call (tool, outcome, duration, output size, redacted arguments). */
  toolCalls(turn: number, records: readonly CallRecord[], profile?: string): Promise<void> {
    const time = new Date().toISOString();
    let last = this.#queue;
    for (const { callId, ...call } of records)
      last = this.append({ time, turn, role: 'tool', callId, ...call, ...(profile ? { profile } : {}) });
    return last;
  }

  /** Queues one record; resolves when it is on disk (or was given up on). */
  append(record: object): Promise<void> {
    // A person may read a key aloud; the transcript must not keep it.
    const line = `${redact(JSON.stringify(record))}\n`;
    this.#queue = this.#queue.then(async () => {
      try {
        await this.#write(line);
        this.#failed = false;
      } catch (err) {
        if (!this.#failed)
          this.logger.error('cannot append to the transcript file; transcripts are not being kept', { path: this.path, error: err });
        this.#failed = true;
      }
    });
    return this.#queue;
  }

  /** The daemon owns its state directory: one that disappeared (cleaned up, a tmpfs) is made again. */
  async #write(line: string): Promise<void> {
    try {
      await appendFile(this.path, line, { mode: 0o640 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(this.path), { recursive: true, mode: 0o750 });
      await appendFile(this.path, line, { mode: 0o640 });
      this.logger.warn('the transcript directory had disappeared; it was made again', { path: this.path });
    }
  }

  async stop(): Promise<void> {
    await this.#queue;
  }
}
