import { redact } from '../core/secrets.js';
import type { Config } from './schema.js';

/**
 * A printable copy of the config: every string run through the secret redactor, so a key
 * pasted into instructions or a tool description is hidden. (The API key itself is never
 * part of the config: see resolveApiKey.)
 */
export function redactConfig(config: Config): Config {
  return scrub(config) as Config;
}

function scrub(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v)]));
  return value;
}
