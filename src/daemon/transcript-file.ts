/**
 * The transcript file: one JSON object a line per final user or assistant text and per function
 * call (role `tool`), appended in order. A directory that disappeared is made again, and a failing
 * disk is reported once (the conversation goes on; the journal says transcripts are not being kept).
 * Lines are appended synchronously: a line a turn costs tens of microseconds that way, where the
 * promise API costs three thread-pool round trips (open, write, close), each a wake-up of a worker
 * and of the event loop; and lines can never interleave.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Component } from '../core/component.js';
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/secrets.js';
import type { CallRecord } from '../tools/types.js';

export class TranscriptFile implements Component {
  readonly name = 'transcript-file';
  #failed = false;

  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o750 });
      // Touch it now so a path we cannot write is reported at start, not at the first turn.
      appendFileSync(this.path, '', { mode: 0o640 });
    } catch (err) {
      throw new PttError('TRANSCRIPT_FILE', `cannot write the transcript file ${this.path}: ${(err as Error).message}`, {
        context: { path: this.path },
        cause: err,
        hint: 'set log.transcriptFile to a writable path (the service uses /var/lib/realtime-ptt via StateDirectory), or null to keep no transcripts',
      });
    }
  }

  /** One line per function call (tool, outcome, duration, output size, redacted arguments). */
  toolCalls(turn: number, records: readonly CallRecord[], profile?: string): void {
    const time = new Date().toISOString();
    for (const { callId, ...call } of records) this.append({ time, turn, role: 'tool', callId, ...call, ...(profile ? { profile } : {}) });
  }

  /** Appends one record (or reports, once, that it could not). */
  append(record: object): void {
    // A person may read a key aloud; the transcript must not keep it.
    const line = `${redact(JSON.stringify(record))}\n`;
    try {
      this.#write(line);
      this.#failed = false;
    } catch (err) {
      if (!this.#failed)
        this.logger.error('cannot append to the transcript file; transcripts are not being kept', { path: this.path, error: err });
      this.#failed = true;
    }
  }

  /** The daemon owns its state directory: one that disappeared (cleaned up, a tmpfs) is made again. */
  #write(line: string): void {
    try {
      appendFileSync(this.path, line, { mode: 0o640 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o750 });
      appendFileSync(this.path, line, { mode: 0o640 });
      this.logger.warn('the transcript directory had disappeared; it was made again', { path: this.path });
    }
  }

  async stop(): Promise<void> {}
}
