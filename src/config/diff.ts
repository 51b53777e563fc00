/**
 * What changed between two configs and what the daemon must do about it, read from the
 * `apply` tags of the schema (never case-by-case code).
 */
import { schema, type Config } from './schema.js';
import { APPLY_ORDER, leaves, valueAt, type ApplyAction } from './schema-kit.js';

export interface ConfigChanges {
  /** Dotted keys whose value differs, in schema order. */
  keys: string[];
  /** Top-level sections with a change (`audio.input` and `audio.output` count as sections). */
  sections: string[];
  /** Distinct actions needed, cheapest first; the last one is the one that matters most. */
  actions: ApplyAction[];
}

/** Key order inside a value (tool parameters) is not a change. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

const sameValue = (a: unknown, b: unknown) => canonical(a) === canonical(b);

function sectionOf(path: string): string {
  const parts = path.split('.');
  return parts[0] === 'audio' ? parts.slice(0, 2).join('.') : parts[0]!;
}

/** Action a change of `key` from `before` to `after` needs. Unknown keys need a restart. */
export function actionFor(key: string, before?: unknown, after?: unknown): ApplyAction {
  const leaf = leaves(schema).find(([path]) => path === key)?.[1];
  if (!leaf) return 'restart';
  const cleared = after === false || after === 'off' || after === null;
  if (leaf.applyWhenCleared && cleared && before !== after) return leaf.applyWhenCleared;
  return leaf.apply ?? 'restart';
}

/** Maps changed keys to the distinct actions they need, cheapest first. */
export function actionsFor(changes: ReadonlyArray<string | { key: string; before?: unknown; after?: unknown }>): ApplyAction[] {
  const needed = new Set(changes.map((c) => (typeof c === 'string' ? actionFor(c) : actionFor(c.key, c.before, c.after))));
  return APPLY_ORDER.filter((a) => needed.has(a));
}

export function diffConfig(before: Config, after: Config): ConfigChanges {
  const changed = leaves(schema)
    .map(([key]) => ({ key, before: valueAt(before, key), after: valueAt(after, key) }))
    .filter((c) => !sameValue(c.before, c.after));
  return {
    keys: changed.map((c) => c.key),
    sections: [...new Set(changed.map((c) => sectionOf(c.key)))],
    actions: actionsFor(changed),
  };
}
