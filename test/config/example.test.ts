import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { loadConfig, renderExampleConfig, schema } from '../../src/config/index.js';
import { leaves } from '../../src/config/schema-kit.js';
import { EXAMPLE } from './helpers.js';

describe('config/realtime-ptt.example.yaml', () => {
  const text = readFileSync(EXAMPLE, 'utf8');

  it('is exactly what the schema generates (regenerate: npx tsx test/config/write-example.ts)', () => {
    expect(text).toBe(renderExampleConfig());
  });

  it('sets every key of the schema to its default, each with a comment above it', () => {
    const doc = parseDocument(text);
    const values = doc.toJS() as Record<string, unknown>;
    for (const [path, leaf] of leaves(schema)) {
      const parts = path.split('.');
      expect(doc.hasIn(parts), path).toBe(true);
      expect(
        parts.reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], values),
        path,
      ).toEqual(leaf.default);
      const key = parts.at(-1)!;
      const lines = text.split('\n');
      const at = lines.findIndex((l, i) => l.trimStart().startsWith(`${key}:`) && lines[i - 1]!.trimStart().startsWith('#'));
      expect(at, `${path} has a comment`).toBeGreaterThan(0);
    }
  });

  it('is a valid config, and uncommenting its examples keeps it valid', async () => {
    const r = await loadConfig(EXAMPLE, {});
    expect(r.ok).toBe(true);
    const uncommented = text.replace(/^(\s*)# for example:\n((?:\s*# .*\n)+)(\s*)(\w+): .*\n/gm, (_m, _i: string, block: string) =>
      block.replace(/^(\s*)# /gm, '$1'),
    );
    const { parseConfig } = await import('../../src/config/index.js');
    const u = parseConfig(uncommented, {});
    if (!u.ok) throw new Error(JSON.stringify(u.problems));
    expect(u.config.gpio.ledPin).toBe(27);
    expect(u.config.session.tools[0]).toMatchObject({ name: 'get_time' });
  });
});
