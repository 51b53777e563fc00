/**
 * The convict view of the schema: one named format per leaf wrapping the leaf's own check,
 * so convict's validate() agrees with our problems, and convict coerces env strings.
 */
import convict from 'convict';
import { schema } from './schema.js';
import { isLeaf, leaves, type Leaf, type SchemaNode } from './schema-kit.js';
import { isPlainObject } from '../core/guards.js';

function coerceFor(leaf: Leaf<unknown>): (v: unknown) => unknown {
  // Env values arrive as strings; keep the original text when it does not parse so the error shows it.
  switch (leaf.kind) {
    case 'number':
      return (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v);
    case 'boolean':
      return (v) => (v === 'true' ? true : v === 'false' ? false : v);
    case 'json':
      return (v) => {
        if (typeof v !== 'string') return v;
        try {
          return JSON.parse(v) as unknown;
        } catch {
          return v;
        }
      };
    default:
      return (v) => v;
  }
}

let registered = false;

export function convictSchema(): convict.Schema<unknown> {
  if (!registered) {
    for (const [path, leaf] of leaves(schema)) {
      convict.addFormat({
        name: `ptt:${path}`,
        validate: (v: unknown) => {
          const invalid = leaf.check(v);
          if (invalid) throw new Error(`${invalid.message}; allowed: ${leaf.allowed}`);
        },
        coerce: coerceFor(leaf),
      });
    }
    registered = true;
  }
  const build = (node: SchemaNode, prefix: string): unknown => {
    if (isLeaf(node)) {
      return {
        doc: node.doc,
        default: node.default,
        // A mapping-valued leaf must be 'object' to convict, or its overlay descends into the value's keys.
        format: isPlainObject(node.default) ? Object : `ptt:${prefix}`,
        ...(node.env ? { env: node.env } : {}),
        ...(node.nullable ? { nullable: true } : {}),
      };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, build(v, prefix ? `${prefix}.${k}` : k)]));
  };
  return build(schema, '') as convict.Schema<unknown>;
}
