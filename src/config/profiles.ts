/**
 * Named profiles (personas): the `session` section is the profile named `main`; each entry of
 * `profiles.named` overrides a few of its keys and may inherit from another named profile.
 * Overrides are checked against the same schema leaves as `session`, so every problem names
 * the profile and the key (`profiles.named.kids.voice`) with the same message and allowed values.
 */
import { isPlainObject } from '../core/guards.js';
import type { ConfigProblem } from './problems.js';
import { type Config, type SessionProfile, schema } from './schema.js';
import { isLeaf, type SchemaNode } from './schema-kit.js';

/** The profile the `session` section defines. */
export const MAIN_PROFILE = 'main';
export const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const NAMED = 'profiles.named';

export type ProfileOverride = { inherits?: string } & Record<string, unknown>;

/** Every profile name, `main` first, in the order of the file. */
export function profileNames(config: Config): string[] {
  return [MAIN_PROFILE, ...Object.keys(config.profiles.named)];
}

/** Checks every named profile; problems are appended. Assumes `profiles.named` is a mapping (the leaf checks that). */
export function checkProfiles(config: Config, problems: ConfigProblem[]): void {
  const named = config.profiles.named as Record<string, unknown>;
  for (const [name, override] of Object.entries(named)) {
    const at = `${NAMED}.${name}`;
    if (name === MAIN_PROFILE) {
      problems.push({
        key: at,
        value: name,
        message: `"${MAIN_PROFILE}" is the session section itself; edit session: instead`,
        allowed: 'another name',
      });
      continue;
    }
    if (!PROFILE_NAME.test(name)) {
      problems.push({
        key: at,
        value: name,
        message: 'is not a valid profile name',
        allowed: 'lowercase letters, digits, _ and -, up to 32, starting with a letter or digit',
      });
      continue;
    }
    if (!isPlainObject(override)) {
      problems.push({
        key: at,
        value: override,
        message: 'must be a mapping of session keys to override',
        allowed: 'e.g. {voice: shimmer, instructions: ...}',
      });
      continue;
    }
    const { inherits, ...keys } = override;
    if (inherits !== undefined && (typeof inherits !== 'string' || (inherits !== MAIN_PROFILE && !(inherits in named)))) {
      problems.push({
        key: `${at}.inherits`,
        value: inherits,
        message: 'names no profile',
        allowed: [MAIN_PROFILE, ...Object.keys(named)].join(', '),
      });
    }
    checkOverride(schema.session as unknown as Record<string, SchemaNode>, keys, at, problems);
  }
  for (const name of Object.keys(named)) {
    const cycle = inheritanceCycle(named, name);
    if (cycle)
      problems.push({
        key: `${NAMED}.${name}.inherits`,
        value: named[name] && (named[name] as ProfileOverride).inherits,
        message: `inherits in a circle (${cycle.join(' -> ')})`,
        allowed: `a chain that ends at ${MAIN_PROFILE}`,
      });
  }
  const start = config.profiles.active;
  if (start !== MAIN_PROFILE && !(start in named)) {
    problems.push({
      key: 'profiles.active',
      value: start,
      message: 'names no profile',
      allowed: [MAIN_PROFILE, ...Object.keys(named)].join(', '),
    });
  }
}

function checkOverride(node: Record<string, SchemaNode>, value: Record<string, unknown>, at: string, problems: ConfigProblem[]): void {
  for (const [key, v] of Object.entries(value)) {
    const child = node[key];
    const path = `${at}.${key}`;
    if (child === undefined) {
      problems.push({ key: path, value: v, message: 'is not a session key', allowed: Object.keys(node).join(', ') });
    } else if (isLeaf(child)) {
      const invalid = child.check(v);
      if (invalid) problems.push({ key: path, value: v, message: invalid.message, allowed: child.allowed });
    } else if (!isPlainObject(v)) {
      problems.push({ key: path, value: v, message: 'must be a mapping', allowed: Object.keys(child).join(', ') });
    } else {
      checkOverride(child as Record<string, SchemaNode>, v, path, problems);
    }
  }
}

function inheritanceCycle(named: Record<string, unknown>, start: string): string[] | undefined {
  const seen = [start];
  let at = (named[start] as ProfileOverride | undefined)?.inherits;
  while (typeof at === 'string' && at !== MAIN_PROFILE && at in named) {
    if (at === start) return [...seen, at];
    if (seen.includes(at)) return undefined; // a circle further up: reported for its own members
    seen.push(at);
    at = (named[at] as ProfileOverride | undefined)?.inherits;
  }
  return undefined;
}

/** The full session profile `name` stands for: `session` with the chain of overrides applied, nearest last. */
export function resolveProfile(config: Config, name: string): SessionProfile | undefined {
  if (name === MAIN_PROFILE) return config.session;
  const named = config.profiles.named as Record<string, ProfileOverride>;
  const chain: ProfileOverride[] = [];
  for (let at: string | undefined = name; at !== undefined && at !== MAIN_PROFILE; at = named[at]?.inherits) {
    const override = named[at];
    if (!override || chain.includes(override)) return undefined;
    chain.unshift(override);
  }
  let session: Record<string, unknown> = config.session as unknown as Record<string, unknown>;
  for (const { inherits: _, ...keys } of chain) session = merge(session, keys);
  return session as unknown as SessionProfile;
}

/** The config with `session` replaced by profile `name` (for profileToSession and the conductor). */
export function withProfile(config: Config, name: string): Config | undefined {
  const session = resolveProfile(config, name);
  return session ? { ...config, session } : undefined;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    // Leaves that hold structures (voice {id}, tools [...]) are replaced whole, never merged.
    out[k] = isPlainObject(b) && isPlainObject(v) && isSectionKey(k) ? merge(b, v) : v;
  }
  return out;
}

const SECTIONS = new Set(
  Object.entries(schema.session)
    .filter(([, node]) => !isLeaf(node))
    .map(([k]) => k),
);
const isSectionKey = (k: string): boolean => SECTIONS.has(k);
