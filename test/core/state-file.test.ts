import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateFile } from '../../src/core/state-file.js';

const isName = (v: unknown): v is { name: string } => typeof (v as { name?: unknown })?.name === 'string';
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('StateFile', () => {
  it('reads back what it wrote (creating the directory), the fallback when absent', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ptt-state-'));
    const f = new StateFile(join(dir, 'sub'), 'profile.json', { name: 'main' }, isName);
    expect(await f.read()).toEqual({ value: { name: 'main' } });
    await f.write({ name: 'kids' });
    expect(JSON.parse(readFileSync(f.path, 'utf8'))).toEqual({ name: 'kids' });
    expect((await new StateFile(join(dir, 'sub'), 'profile.json', { name: 'main' }, isName).read()).value).toEqual({ name: 'kids' });
  });

  it('a corrupt or foreign file gives the fallback and a problem naming the file, never a throw', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ptt-state-'));
    const f = new StateFile(dir, 'profile.json', { name: 'main' }, isName);
    writeFileSync(f.path, '{"name": ');
    const bad = await f.read();
    expect(bad.value).toEqual({ name: 'main' });
    expect(bad.problem?.message).toBe(`state file ${f.path} is not valid JSON (Unexpected end of JSON input); starting from the default`);
    writeFileSync(f.path, '[1,2]');
    expect((await f.read()).problem?.message).toMatch(/holds something unexpected/);
  });
});
