import { redact, REDACTED } from '../core/secrets.js';
import { schema, type Config } from './schema.js';
import { leaves } from './schema-kit.js';

/**
 * A printable copy of the config: sensitive keys replaced, and every string run through
 * the secret redactor (a key pasted into instructions or a tool description is hidden too).
 */
export function redactConfig(config: Config): Config {
  const copy = scrub(structuredClone(config)) as Config;
  for (const [path, leaf] of leaves(schema)) {
    if (!leaf.sensitive) continue;
    const parts = path.split('.');
    const last = parts.pop()!;
    const parent = parts.reduce<Record<string, unknown>>((o, p) => o[p] as Record<string, unknown>, copy as unknown as Record<string, unknown>);
    if (parent[last] !== null && parent[last] !== undefined) parent[last] = REDACTED;
  }
  return copy;
}

function scrub(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
  return value;
}
