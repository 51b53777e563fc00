/**
 * Small JSON documents in the daemon's state directory (active profile, timers, volume).
 * Written to a temporary file and renamed, so a power cut leaves the old or the new
 * content, never half of one; read back leniently, since a corrupt file must not stop the
 * daemon: the caller gets the fallback and a reason to log.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PttError } from './errors.js';

export type StateRead<T> = { value: T; problem?: PttError };

export class StateFile<T> {
  readonly path: string;

  constructor(
    dir: string,
    name: string,
    private readonly fallback: T,
    private readonly accept: (v: unknown) => v is T,
  ) {
    this.path = join(dir, name);
  }

  async read(): Promise<StateRead<T>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { value: this.fallback };
      return { value: this.fallback, problem: this.#problem('cannot be read', err) };
    }
    try {
      const v: unknown = JSON.parse(text);
      if (this.accept(v)) return { value: v };
      return { value: this.fallback, problem: this.#problem('holds something unexpected; starting from the default') };
    } catch (err) {
      return { value: this.fallback, problem: this.#problem('is not valid JSON; starting from the default', err) };
    }
  }

  async write(value: T): Promise<void> {
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o750 });
      await writeFile(tmp, `${JSON.stringify(value)}\n`, { mode: 0o640 });
      await rename(tmp, this.path);
    } catch (err) {
      throw this.#problem('cannot be written', err);
    }
  }

  #problem(what: string, cause?: unknown): PttError {
    const detail = cause ? ` (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})` : '';
    const [reason, then] = what.split('; ');
    return new PttError('STATE_FILE', `state file ${this.path} ${reason}${detail}${then ? `; ${then}` : ''}`, {
      context: { path: this.path },
      cause,
      hint: 'the daemon keeps its state in state.dir (/var/lib/realtime-ptt for the service); make it writable by the service user',
    });
  }
}
