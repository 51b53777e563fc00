/**
 * Field-by-field comparison of the session the profile asked for with the session the server
 * reports. Only fields the profile sets are checked: the server adds defaults of its own
 * (ids, expiry, tool_choice, ...) that are not ours to verify.
 */
import { isPlainObject } from '../core/guards.js';

export interface FieldMismatch {
  /** Dotted path, e.g. `audio.input.turn_detection`. */
  field: string;
  wanted: unknown;
  got: unknown;
}

/** Servers echo floats through float32 (speed 1.1 -> 1.100000023841858). */
function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a));
}

/**
 * Not part of the profile check: the model is chosen by the URL or the client secret, and servers
 * report it their own way (a dated snapshot, an Azure deployment's model name).
 */
const UNCHECKED = new Set(['model']);

const PCM_24K = { type: 'audio/pcm', rate: 24_000 };
/**
 * GA defaults of fields the published schema does not require in a session: a server may leave
 * such a field out, and absent then means this value. Not turn_detection (its default is server
 * VAD, so an absent one is never "off"), voice or instructions (server-chosen defaults).
 */
const DEFAULT_WHEN_ABSENT: Readonly<Record<string, unknown>> = {
  output_modalities: ['audio'],
  max_output_tokens: 'inf',
  tools: [],
  'audio.input.format': PCM_24K,
  'audio.input.transcription': null,
  'audio.input.noise_reduction': null,
  'audio.output.format': PCM_24K,
  'audio.output.speed': 1,
};

/** A hosted MCP tool's credentials: write-only, a server does not echo them (nor should it). */
const TOOL_SECRETS = /^tools\[\d+\]\.(authorization|headers)$/;

/** `tools[3].parameters`: a function tool's JSON Schema. */
const TOOL_PARAMETERS = /^tools\[\d+\]\.parameters$/;

/**
 * What of a tool's JSON Schema is verified: the property names and their types, nested through
 * `properties` and `items`, and which are required. Not verified, because a server may normalise
 * the schema it echoes (drop or reorder keys, add `additionalProperties`, rewrite `enum`, `format`,
 * bounds, descriptions, defaults): everything else. A tool's name, type and description are
 * verified as they are.
 */
export function schemaShape(schema: unknown): unknown {
  if (!isPlainObject(schema)) return schema;
  const shape: Record<string, unknown> = { type: schema.type ?? null };
  if (isPlainObject(schema.properties)) {
    shape.properties = Object.fromEntries(
      Object.entries(schema.properties)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, schemaShape(v)]),
    );
  }
  if (schema.items !== undefined) shape.items = schemaShape(schema.items);
  if (Array.isArray(schema.required) && schema.required.length > 0) shape.required = [...schema.required].map(String).sort();
  return shape;
}

function collect(path: string, wanted: unknown, got: unknown, out: FieldMismatch[]): void {
  if (wanted === undefined || UNCHECKED.has(path) || TOOL_SECRETS.test(path)) return;
  if (TOOL_PARAMETERS.test(path)) {
    if (JSON.stringify(schemaShape(wanted)) !== JSON.stringify(schemaShape(got))) out.push({ field: path, wanted, got });
    return;
  }
  if (got === undefined && path in DEFAULT_WHEN_ABSENT) got = DEFAULT_WHEN_ABSENT[path];
  if (isPlainObject(wanted)) {
    // An absent section is checked field by field: its fields may all be at their defaults.
    if (got === undefined) got = {};
    if (!isPlainObject(got)) {
      out.push({ field: path, wanted, got });
      return;
    }
    for (const [k, v] of Object.entries(wanted)) collect(path ? `${path}.${k}` : k, v, got[k], out);
    return;
  }
  if (Array.isArray(wanted)) {
    if (!Array.isArray(got) || got.length !== wanted.length) {
      out.push({ field: path, wanted, got });
      return;
    }
    // Compared element by element so a tool's server-added defaults do not count as a mismatch.
    const inner: FieldMismatch[] = [];
    wanted.forEach((w, i) => collect(`${path}[${i}]`, w, got[i], inner));
    if (inner.length > 0) out.push({ field: path, wanted, got });
    return;
  }
  if (typeof wanted === 'number' && typeof got === 'number') {
    if (!sameNumber(wanted, got)) out.push({ field: path, wanted, got });
    return;
  }
  if (wanted !== got) out.push({ field: path, wanted, got });
}

/** Every field the profile sets whose effective value differs, in profile order. */
export function diffSession(wanted: object, got: unknown, ignore: readonly string[] = []): FieldMismatch[] {
  const out: FieldMismatch[] = [];
  collect('', wanted, got, out);
  return out.filter((m) => !ignore.some((p) => m.field === p || m.field.startsWith(`${p}.`)));
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** One line per field: `audio.output.voice: wanted "cedar", got "marin"`. */
export function describeMismatches(mismatches: readonly FieldMismatch[]): string {
  return mismatches.map((m) => `${m.field}: wanted ${show(m.wanted)}, got ${show(m.got)}`).join('; ');
}
