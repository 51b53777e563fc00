import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, type Config, type ConfigProblem } from '../../src/config/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/config/', import.meta.url));
export const EXAMPLE = fileURLToPath(new URL('../../config/realtime-ptt.example.yaml', import.meta.url));

/** Valid YAML -> Config, or a test failure that shows the problems. */
export function valid(yaml: string, env: Record<string, string> = {}): Config {
  const r = parseConfig(yaml, env);
  if (!r.ok) throw new Error(`expected a valid config, got: ${JSON.stringify(r.problems, null, 2)}`);
  return r.config;
}

export function problems(yaml: string, env: Record<string, string> = {}): ConfigProblem[] {
  const r = parseConfig(yaml, env);
  if (r.ok) throw new Error('expected problems, the config was accepted');
  return r.problems;
}

export function problemAt(list: ConfigProblem[], key: string): ConfigProblem {
  const p = list.find((x) => x.key === key);
  if (!p) throw new Error(`no problem for ${key}; got ${list.map((x) => x.key).join(', ')}`);
  return p;
}

export function tempDir(): { dir: string; file: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ptt-config-'));
  return { dir, file: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Each line nine times the one before: the YAML library refuses to expand it (Excessive alias count). */
export const ALIAS_BOMB = [
  'a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]',
  'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
  '',
].join('\n');
