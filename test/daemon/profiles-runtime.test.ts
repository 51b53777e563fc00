import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { ProfileRuntime } from '../../src/daemon/profiles-runtime.js';
import { parseControlLine } from '../../src/gpio/control-protocol.js';
import { valid } from '../config/helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function family(stateDir: string, named = '{kids: {voice: shimmer}, night: {inherits: kids, speed: 0.8}}') {
  return valid(`session: {voice: marin}\nstate: {dir: ${stateDir}}\nprofiles: {named: ${named}}\n`);
}

describe('the active profile across restarts', () => {
  it('is kept in the state directory; a kept name the config lost falls back to profiles.active, with the reason logged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptt-profile-state-'));
    dirs.push(dir);
    const logger = memoryLogger();
    const first = new ProfileRuntime({ logger });
    expect(await first.load(family(dir))).toBe('main');
    const refused = first.check(family(dir), 'grownup');
    expect(refused?.message).toBe('there is no profile "grownup"; the profile "main" stays active');
    expect(refused?.hint).toMatch(/use one of: main, kids, night/);
    expect(first.next(family(dir))).toBe('kids');
    await first.set('night');
    expect(JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8'))).toEqual({ active: 'night' });
    expect(first.next(family(dir)), 'the gesture wraps around in file order').toBe('main');
    expect(first.position(family(dir))).toBe(3);

    expect(await new ProfileRuntime({ logger }).load(family(dir))).toBe('night');
    const lost = new ProfileRuntime({ logger });
    expect(await lost.load(family(dir, '{kids: {voice: shimmer}}'))).toBe('main');
    expect(logger.records().find((r) => String(r.msg).includes('not in the config any more'))).toMatchObject({
      kept: 'night',
      active: 'main',
    });

    writeFileSync(join(dir, 'profile.json'), '{ half');
    expect(await new ProfileRuntime({ logger }).load(family(dir))).toBe('main');
  });
});

describe('control lines for profiles and memory', () => {
  it('parses profile [NAME] and forget; refuses what is not a name', () => {
    expect(parseControlLine('profile')).toEqual({ ok: true, command: { kind: 'profile' } });
    expect(parseControlLine('profile kids')).toEqual({ ok: true, command: { kind: 'profile', name: 'kids' } });
    expect(parseControlLine('forget')).toEqual({ ok: true, command: { kind: 'forget' } });
    expect(parseControlLine('profile Kids!')).toEqual({
      ok: false,
      error: "'Kids!' is not a profile name (lowercase letters, digits, _ and -)",
    });
    expect(parseControlLine('forget all')).toEqual({ ok: false, error: "'forget' takes no argument (got 'all')" });
  });
});
