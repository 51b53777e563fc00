import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { TranscriptFile } from '../../src/daemon/transcript-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) {
    chmodSync(d, 0o700);
    rmSync(d, { recursive: true, force: true });
  }
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'ptt-transcript-'));
  dirs.push(d);
  return d;
}

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { text: string });

describe('TranscriptFile', () => {
  it('makes its directory again when it disappears, so no line after that is lost', async () => {
    const state = join(tmp(), 'state');
    const path = join(state, 'transcripts.jsonl');
    const logger = memoryLogger();
    const file = new TranscriptFile(path, logger);
    await file.start();
    file.append({ role: 'user', text: 'before' });
    rmSync(state, { recursive: true });
    file.append({ role: 'assistant', text: 'after the directory vanished' });
    file.append({ role: 'user', text: 'and the next one' });

    expect(lines(path).map((l) => l.text)).toEqual(['after the directory vanished', 'and the next one']);
    expect(statSync(state).mode & 0o777).toBe(0o750);
    expect(
      logger
        .records()
        .filter((r) => r.level === 'warn')
        .map((r) => r.msg),
    ).toEqual(['the transcript directory had disappeared; it was made again']);
    expect(logger.records().filter((r) => r.level === 'error')).toEqual([]);
  });

  it('a directory it cannot make is reported once; writing resumes when it can', async () => {
    const root = tmp();
    const path = join(root, 'state', 'transcripts.jsonl');
    const logger = memoryLogger();
    const file = new TranscriptFile(path, logger);
    await file.start();
    rmSync(join(root, 'state'), { recursive: true });
    chmodSync(root, 0o500);
    file.append({ text: 'lost 1' });
    file.append({ text: 'lost 2' });
    expect(logger.records().filter((r) => r.level === 'error')).toHaveLength(process.getuid?.() === 0 ? 0 : 1);
    chmodSync(root, 0o700);
    file.append({ text: 'kept' });

    expect(
      lines(path)
        .map((l) => l.text)
        .at(-1),
    ).toBe('kept');
  });
});
