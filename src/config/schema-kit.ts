/**
 * Building blocks of the config schema. Each leaf carries everything the rest of the
 * config code needs (default, doc, env override, the check that produces our own error
 * messages, what a change needs at runtime), and its TypeScript type travels with it so
 * `Config` is derived from the schema instead of being written twice.
 */

import { isAbsolute } from 'node:path';
import { isPlainObject } from '../core/guards.js';

/** What a running daemon must do for a changed key to take effect (zigbee2mqtt's requiresRestart, finer). */
export type ApplyAction = 'live' | 'tools' | 'session' | 'reconnect' | 'restart-audio' | 'restart-gpio' | 'restart-home' | 'restart';

/** Cheapest first: the daemon applies the most expensive action a change set needs. */
export const APPLY_ORDER: readonly ApplyAction[] = [
  'live',
  'tools',
  'session',
  'reconnect',
  'restart-audio',
  'restart-gpio',
  'restart-home',
  'restart',
];

/** How env strings become values (convict coerces through this). */
export type LeafKind = 'string' | 'number' | 'boolean' | 'json';

export interface Invalid {
  message: string;
}

export interface Leaf<T> {
  readonly leaf: true;
  readonly doc: string;
  readonly default: T;
  readonly kind: LeafKind;
  /** A person-readable description of what is allowed, used in every error about this key. */
  readonly allowed: string;
  readonly check: (value: unknown) => Invalid | undefined;
  readonly env?: string;
  readonly nullable?: boolean;
  readonly apply?: ApplyAction;
  /** When the new value turns a feature off and GA has no way to switch it off in place. */
  readonly applyWhenCleared?: ApplyAction;
  /** Example value shown (commented out) in the example file when the default is null. */
  readonly example?: unknown;
}

export type SchemaNode = Leaf<unknown> | { readonly [key: string]: SchemaNode };

/** The value type a schema describes. */
export type ConfigOf<S> = S extends Leaf<infer T> ? T : { [K in keyof S]: ConfigOf<S[K]> };

export function isLeaf(node: unknown): node is Leaf<unknown> {
  return typeof node === 'object' && node !== null && (node as { leaf?: unknown }).leaf === true;
}

interface Common {
  doc: string;
  env?: string;
  apply?: ApplyAction;
  applyWhenCleared?: ApplyAction;
}

function nullableCheck(nullable: boolean | undefined, check: (v: unknown) => Invalid | undefined) {
  return (v: unknown) => (v === null && nullable ? undefined : v === null ? { message: 'must be set (null is not allowed)' } : check(v));
}

interface StrOpts extends Common {
  nonEmpty?: boolean;
  /** A file system path the service opens: relative paths would depend on its working directory. */
  absolutePath?: boolean;
}

export function str(o: StrOpts & { default: string }): Leaf<string>;
export function str(o: StrOpts & { default: string | null; nullable: true; example?: string }): Leaf<string | null>;
export function str(o: StrOpts & { default: string | null; nullable?: boolean; example?: string }): Leaf<string | null> {
  const what = o.absolutePath ? 'an absolute path' : o.nonEmpty ? 'a non-empty string' : 'a string';
  return {
    leaf: true,
    kind: 'string',
    allowed: `${what}${o.nullable ? ' or null' : ''}`,
    ...o,
    check: nullableCheck(o.nullable, (v) => {
      if (typeof v !== 'string') return { message: `must be a string, got ${typeof v}` };
      if ((o.nonEmpty || o.absolutePath) && v.trim() === '') return { message: 'must not be empty' };
      if (o.absolutePath && !isAbsolute(v)) return { message: 'must be an absolute path (the service does not run in your directory)' };
      return undefined;
    }),
  };
}

export function bool(o: Common & { default: boolean }): Leaf<boolean> {
  return {
    leaf: true,
    kind: 'boolean',
    allowed: 'true or false',
    ...o,
    check: (v) => (typeof v === 'boolean' ? undefined : { message: 'must be true or false' }),
  };
}

interface NumOpts extends Common {
  min?: number;
  max?: number;
  integer?: boolean;
  unit?: string;
}

function range(o: NumOpts): string {
  const what = o.integer ? 'an integer' : 'a number';
  const unit = o.unit ? ` ${o.unit}` : '';
  if (o.min !== undefined && o.max !== undefined) return `${what} from ${o.min} to ${o.max}${unit}`;
  if (o.min !== undefined) return `${what} >= ${o.min}${unit}`;
  if (o.max !== undefined) return `${what} <= ${o.max}${unit}`;
  return what + unit;
}

function numCheck(o: NumOpts) {
  return (v: unknown): Invalid | undefined => {
    if (typeof v !== 'number' || Number.isNaN(v)) return { message: `must be ${range(o)}` };
    if (o.integer && !Number.isInteger(v)) return { message: 'must be a whole number' };
    if (o.min !== undefined && v < o.min) return { message: `is below the minimum ${o.min}` };
    if (o.max !== undefined && v > o.max) return { message: `is above the maximum ${o.max}` };
    return undefined;
  };
}

export function num(o: NumOpts & { default: number }): Leaf<number>;
export function num(o: NumOpts & { default: number | null; nullable: true; example?: number }): Leaf<number | null>;
export function num(o: NumOpts & { default: number | null; nullable?: boolean; example?: number }): Leaf<number | null> {
  return {
    leaf: true,
    kind: 'number',
    allowed: range(o) + (o.nullable ? ', or null' : ''),
    ...o,
    check: nullableCheck(o.nullable, numCheck(o)),
  };
}

export function int(o: NumOpts & { default: number }): Leaf<number>;
export function int(o: NumOpts & { default: number | null; nullable: true; example?: number }): Leaf<number | null>;
export function int(o: NumOpts & { default: number | null; nullable?: boolean; example?: number }): Leaf<number | null> {
  return num({ ...o, integer: true } as NumOpts & { default: number | null; nullable: true });
}

export function oneOf<const V extends readonly string[]>(
  values: V,
  o: Common & { default: V[number]; example?: V[number] },
): Leaf<V[number]> {
  const allowed = `one of ${values.join(', ')}`;
  return {
    leaf: true,
    kind: 'string',
    allowed,
    ...o,
    check: (v) => (typeof v === 'string' && values.includes(v) ? undefined : { message: `must be ${allowed}` }),
  };
}

/** A leaf whose value is structured (voice, tools, ...): `check` returns a message or undefined. */
export function custom<T>(
  o: Common & { default: T; allowed: string; check: (v: unknown) => string | undefined; kind?: LeafKind; example?: unknown },
): Leaf<T> {
  const { check, ...rest } = o;
  return {
    leaf: true,
    kind: 'json',
    ...rest,
    check: (v) => {
      const m = check(v);
      return m === undefined ? undefined : { message: m };
    },
  };
}

/** Tags every leaf below that has no `apply` of its own. */
export function applyAll<S extends SchemaNode>(action: ApplyAction, node: S): S {
  if (isLeaf(node)) return (node.apply ? node : { ...node, apply: action }) as S;
  const out: Record<string, SchemaNode> = {};
  for (const [k, v] of Object.entries(node)) out[k] = applyAll(action, v);
  return out as S;
}

/** Every leaf with its dotted path, in schema order. */
export function leaves(node: SchemaNode, prefix = ''): Array<[string, Leaf<unknown>]> {
  if (isLeaf(node)) return [[prefix, node]];
  return Object.entries(node).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

/** The value at a dotted path, or undefined. */
export function valueAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}
