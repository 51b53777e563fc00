/**
 * Validates Realtime events against OpenAI's published JSON Schemas
 * (test/fixtures/realtime-schema/, copied verbatim from openai/openai-openapi; see its
 * `source` and `license` fields).
 *
 * - Client frames (what we send) are checked strictly: every object schema gets
 *   `unevaluatedProperties: false`, so typos and beta-era fields fail.
 * - Server frames (what the simulator sends) accept `null` for optional properties,
 *   as real servers send them (a known defect of the published spec).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv and ajv-formats are CommonJS: under NodeNext the default import is `module.exports`, whose `default` is the export.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

type Json = Record<string, unknown>;
const SPEC_PATH = fileURLToPath(new URL('../fixtures/realtime-schema/realtime-openapi-subset.json', import.meta.url));

function loadSchemas(): Record<string, Json> {
  const spec = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as { components: { schemas: Record<string, Json> } };
  return spec.components.schemas;
}

/** Deep-maps every schema object (depth-first, children before parent). */
function walk(node: unknown, fn: (schema: Json) => Json): unknown {
  if (Array.isArray(node)) return node.map((n) => walk(n, fn));
  if (node && typeof node === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(node as Json)) out[k] = walk(v, fn);
    return fn(out);
  }
  return node;
}

/** `nullable: true` (OpenAPI 3.0 style) becomes a proper 2020-12 union. */
function fixNullable(schema: Json): Json {
  if (schema.nullable !== true) return schema;
  const { nullable: _n, description, ...rest } = schema;
  return { ...(description ? { description } : {}), anyOf: [rest, { type: 'null' }] };
}

function strictObjects(schema: Json): Json {
  // Only schemas that list their properties are closed: free-form objects (tool parameters) stay open.
  if (schema.properties && schema.additionalProperties === undefined && schema.unevaluatedProperties === undefined) {
    return { ...schema, unevaluatedProperties: false };
  }
  return schema;
}

function nullableOptionals(schema: Json): Json {
  if (!schema.properties || typeof schema.properties !== 'object') return schema;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const props: Json = {};
  for (const [k, v] of Object.entries(schema.properties as Json)) {
    props[k] = required.has(k) ? v : { anyOf: [v, { type: 'null' }] };
  }
  return { ...schema, properties: props };
}

function compile(kind: 'client' | 'server'): (name: string) => ValidateFunction {
  const schemas = loadSchemas();
  const transformed: Json = {};
  for (const [name, s] of Object.entries(schemas)) {
    transformed[name] = walk(s, (node) => {
      const n = fixNullable(node);
      return kind === 'client' ? strictObjects(n) : nullableOptionals(n);
    });
  }
  const ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: false, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('unixtime', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  // strict: false leaves discriminator, example and the x-* keys as annotations.
  ajv.addSchema({ $id: 'realtime', components: { schemas: transformed } });
  const cache = new Map<string, ValidateFunction>();
  return (name) => {
    let v = cache.get(name);
    if (!v) {
      v = ajv.getSchema(`realtime#/components/schemas/${name}`);
      if (!v) throw new Error(`no schema named ${name}`);
      cache.set(name, v);
    }
    return v;
  };
}

function errorsOf(v: ValidateFunction): string[] {
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

type Compiled = { get: (name: string) => ValidateFunction; byType: Map<string, string> };

/** Maps each event `type` to its member schema, so errors name the real problem, not the anyOf. */
function memberIndex(union: string): Map<string, string> {
  const schemas = loadSchemas();
  const index = new Map<string, string>();
  for (const ref of schemas[union]!.anyOf as Array<{ $ref: string }>) {
    const name = ref.$ref.split('/').pop()!;
    const type = (schemas[name]!.properties as Json | undefined)?.type as Json | undefined;
    for (const t of (type?.enum as string[] | undefined) ?? (type?.const ? [type.const as string] : [])) index.set(t, name);
  }
  return index;
}

let client: Compiled | undefined;
let server: Compiled | undefined;

function check(c: Compiled, union: string, event: unknown): string[] {
  const type = (event as { type?: unknown } | null)?.type;
  const member = typeof type === 'string' ? c.byType.get(type) : undefined;
  if (!member) return [`/type ${JSON.stringify(type)} is not a ${union} type`];
  const v = c.get(member);
  return v(event) ? [] : errorsOf(v).map((e) => `${member}: ${e}`);
}

/** Errors (empty when valid) of a client event against `RealtimeClientEvent`, strict. */
export function validateClientEvent(event: unknown): string[] {
  client ??= { get: compile('client'), byType: memberIndex('RealtimeClientEvent') };
  return check(client, 'RealtimeClientEvent', event);
}

/** Errors (empty when valid) of a server event against `RealtimeServerEvent`, null-tolerant. */
export function validateServerEvent(event: unknown): string[] {
  server ??= { get: compile('server'), byType: memberIndex('RealtimeServerEvent') };
  return check(server, 'RealtimeServerEvent', event);
}

/** Errors of a value against any named schema, strict as for client frames. */
export function validateAgainst(schemaName: string, value: unknown): string[] {
  client ??= { get: compile('client'), byType: memberIndex('RealtimeClientEvent') };
  const v = client.get(schemaName);
  return v(value) ? [] : errorsOf(v);
}
