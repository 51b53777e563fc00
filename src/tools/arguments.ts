/**
 * Arguments of a call: parsed from the model's JSON text, checked against the tool's JSON Schema
 * (Ajv) before anything runs, and redacted for the log.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { isPlainObject } from '../core/guards.js';
import { REDACTED, redact } from '../core/secrets.js';
import type { Tool } from './types.js';

// strict: false because MCP servers publish schemas with keywords Ajv does not know (title,
// examples, vendor extensions); those must not make a tool unusable.
const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new WeakMap<object, ValidateFunction | null>();

export type ParsedArguments = { ok: true; args: Record<string, unknown> } | { ok: false; message: string };

export function parseArguments(text: string): ParsedArguments {
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return { ok: false, message: 'arguments are not valid JSON' };
  }
  if (!isPlainObject(value)) return { ok: false, message: 'arguments must be a JSON object' };
  return { ok: true, args: value };
}

/** Undefined when the arguments fit the schema, else one line per problem. */
export function checkArguments(tool: Tool, args: Record<string, unknown>): string[] | undefined {
  const schema = tool.definition.parameters;
  let validate = validators.get(schema);
  if (validate === undefined) {
    try {
      validate = ajv.compile(schema);
    } catch {
      // A schema Ajv cannot compile is the server's problem: let the server judge its arguments.
      validate = null;
    }
    validators.set(schema, validate);
  }
  if (validate === null || validate(args)) return undefined;
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath === '' ? 'arguments' : `argument ${e.instancePath.slice(1).replaceAll('/', '.')}`;
    const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
    const allowed = e.keyword === 'enum' ? ` (${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')})` : '';
    return `${where} ${e.message ?? 'is invalid'}${extra}${allowed}`;
  });
}

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|pin|code/i;

/** The arguments as JSON for the log: values of secret-looking keys and registered secrets hidden. */
export function redactArguments(args: unknown): string {
  const hide = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(hide);
    if (!isPlainObject(v)) return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, SECRET_KEY.test(k) ? REDACTED : hide(x)]));
  };
  return redact(JSON.stringify(hide(args)) ?? 'null');
}
