/**
 * Small JSON state files in the state directory (timers, volume). Written to a temp file in
 * the same directory and renamed over the old one, so a power cut leaves the old or the new
 * file, never half of one.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PttError } from '../core/errors.js';

export const DEFAULT_STATE_DIR = '/var/lib/realtime-ptt';

/** The configured directory, else systemd's StateDirectory ($STATE_DIRECTORY), else the default. */
export function resolveStateDir(configured: string | null, env: NodeJS.ProcessEnv = process.env): string {
  if (configured) return configured;
  const fromSystemd = env.STATE_DIRECTORY?.split(':')[0];
  return fromSystemd || DEFAULT_STATE_DIR;
}

/** The parsed file, or undefined when it does not exist. A corrupt file is an error value. */
export async function readJsonState(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PttError('STATE_READ', `cannot read ${path}: ${(err as Error).message}`, { context: { path }, cause: err });
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new PttError('STATE_CORRUPT', `${path} is not valid JSON; it is ignored`, {
      context: { path },
      hint: `delete ${path} if it was edited by hand`,
    });
  }
}

let counter = 0;

export async function writeJsonState(path: string, value: unknown): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  counter += 1;
  const tmp = join(dir, `.${process.pid}.${counter}.tmp`);
  try {
    await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o640 });
    await rename(tmp, path);
  } catch (err) {
    throw new PttError('STATE_WRITE', `cannot write ${path}: ${(err as Error).message}`, {
      context: { path },
      hint: 'check that the state directory exists and the service may write to it',
      cause: err,
    });
  }
}
