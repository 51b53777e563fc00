/**
 * Sorts the keys of a parsed file into those the schema knows (kept, with shorthands
 * expanded) and the rest, each of which becomes a problem saying what was probably meant.
 */
import { REDACTED } from '../core/secrets.js';
import { betaHint, looksLikeApiKeyName, snakeToCamel } from './beta-keys.js';
import type { ConfigProblem } from './problems.js';
import { schema } from './schema.js';
import { isLeaf, type SchemaNode } from './schema-kit.js';
import { isPlainObject } from '../core/guards.js';

type Raw = Record<string, unknown>;

/** Short spellings people naturally write, expanded before validation. */
const SHORTHANDS: Readonly<Record<string, (v: unknown) => unknown>> = {
  'session.transcription': (v) =>
    v === false || v === null || v === 'off' ? { enabled: false } : v === true || v === 'on' ? { enabled: true } : v,
  'session.turnDetection': (v) => (typeof v === 'string' ? { type: v } : v),
  'session.noiseReduction': (v) => (v === false || v === null ? 'off' : v),
};

/** The known part of `raw`; every unknown key is pushed onto `problems`. */
export function keepKnownKeys(raw: Raw, problems: ConfigProblem[]): Raw {
  return sortKeys(raw, schema, '', problems);
}

function sortKeys(raw: Raw, node: Record<string, SchemaNode>, prefix: string, problems: ConfigProblem[]): Raw {
  const out: Raw = {};
  for (const [key, given] of Object.entries(raw)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const child = Object.hasOwn(node, key) ? node[key] : undefined;
    if (!child) {
      problems.push(unknownKey(key, given, path, node, prefix));
      continue;
    }
    const value = SHORTHANDS[path] ? SHORTHANDS[path](given) : given;
    if (isLeaf(child)) {
      out[key] = value;
    } else if (value === null || value === undefined) {
      // `gpio:` with nothing under it: an empty section, all defaults.
    } else if (isPlainObject(value)) {
      out[key] = sortKeys(value, child as Record<string, SchemaNode>, path, problems);
    } else {
      problems.push({
        key: path,
        value: given,
        message: 'must be a section (a mapping of keys)',
        allowed: `keys ${Object.keys(child).join(', ')}`,
      });
    }
  }
  return out;
}

function unknownKey(key: string, value: unknown, path: string, node: Record<string, SchemaNode>, prefix: string): ConfigProblem {
  const here = `keys ${prefix ? `under ${prefix}` : 'at the top level'}: ${Object.keys(node).join(', ')}`;
  const beta = betaHint(key, path);
  // A key pasted into the file must not be echoed back to the terminal or the journal.
  if (beta) return { key: path, value: looksLikeApiKeyName(key) ? REDACTED : value, message: `${key} ${beta}`, allowed: here };
  const camel = snakeToCamel(key);
  if (camel !== key && Object.hasOwn(node, camel)) {
    return {
      key: path,
      value,
      message: `is snake_case; this file uses camelCase: write ${prefix ? `${prefix}.` : ''}${camel}`,
      allowed: here,
    };
  }
  const elsewhere = pathsNamed(camel);
  if (elsewhere.length) return { key: path, value, message: `does not belong here; write it as ${elsewhere.join(' or ')}`, allowed: here };
  // The length gap bounds the distance: a huge pasted key costs nothing to rule out.
  const near = Object.keys(node).filter((k) => Math.abs(k.length - key.length) <= 2 && distance(k.toLowerCase(), key.toLowerCase()) <= 2);
  const guess = near.length ? `; did you mean ${near.map((k) => (prefix ? `${prefix}.${k}` : k)).join(' or ')}?` : '';
  return { key: path, value, message: `is not a known key${guess}`, allowed: here };
}

/** Full paths of every section or leaf called `name`. */
function pathsNamed(name: string, node: SchemaNode = schema, prefix = ''): string[] {
  if (isLeaf(node)) return [];
  return Object.entries(node).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return [...(k === name ? [path] : []), ...pathsNamed(name, v, path)];
  });
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}
