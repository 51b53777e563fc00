/**
 * Reads the YAML config file and turns it into a validated `Config`, or into every
 * problem at once (key, value given, reason, what is allowed). convict supplies the
 * defaults and env overrides; the checks and messages come from the schema leaves.
 */
import { readFile } from 'node:fs/promises';
import convict from 'convict';
import { parseDocument } from 'yaml';
import { betaHint, snakeToCamel } from './beta-keys.js';
import { REDACTED } from '../core/secrets.js';
import { FILE_KEY, type ConfigProblem } from './problems.js';
import { schema, type Config } from './schema.js';
import { isLeaf, leaves, type Leaf, type SchemaNode } from './schema-kit.js';

export type LoadResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };
export type Env = Readonly<Record<string, string | undefined>>;

type Raw = Record<string, unknown>;
const isMapping = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Short spellings people naturally write, expanded before validation. */
const SHORTHANDS: Readonly<Record<string, (v: unknown) => unknown>> = {
  'session.transcription': (v) => (v === false || v === null || v === 'off' ? { enabled: false } : v === true || v === 'on' ? { enabled: true } : v),
  'session.turnDetection': (v) => (typeof v === 'string' ? { type: v } : v),
  'session.noiseReduction': (v) => (v === false || v === null ? 'off' : v),
};

const SERVER_VAD_ONLY = ['threshold', 'prefixPaddingMs', 'silenceDurationMs', 'idleTimeoutMs'];
const SEMANTIC_VAD_ONLY = ['eagerness'];

/** Reads and validates the config file at `path`. Never throws. */
export async function loadConfig(path: string, env: Env = process.env): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, problems: [fileProblem(path, err)] };
  }
  return parseConfig(text, env);
}

function fileProblem(path: string, err: unknown): ConfigProblem {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return {
      key: FILE_KEY,
      value: path,
      message: `config file ${path} does not exist; create it from the commented example: sudo install -D -m 644 config/realtime-ptt.example.yaml ${path} (or choose another file with --config PATH or REALTIME_PTT_CONFIG)`,
    };
  }
  if (code === 'EACCES') return { key: FILE_KEY, value: path, message: `config file ${path} cannot be read (permission denied); make it readable by the service user` };
  if (code === 'EISDIR') return { key: FILE_KEY, value: path, message: `${path} is a directory; --config needs the path of the YAML file` };
  return { key: FILE_KEY, value: path, message: `config file ${path} cannot be read (${code ?? (err as Error).message})` };
}

/** Validates YAML text (the file's content). Never throws. */
export function parseConfig(text: string, env: Env = process.env): LoadResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const at = e.linePos?.[0];
        const where = at ? `line ${at.line}, column ${at.col}` : 'unknown position';
        // The first line of yaml's message is the reason; the rest is a source excerpt.
        const reason = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return { key: FILE_KEY, value: undefined, message: `YAML syntax error at ${where}: ${reason}` };
      }),
    };
  }
  const raw: unknown = doc.toJS() ?? {};
  if (!isMapping(raw)) {
    return { ok: false, problems: [{ key: FILE_KEY, value: raw, message: 'the file must be a YAML mapping of sections', allowed: `sections ${Object.keys(schema).join(', ')}` }] };
  }
  return validateRaw(raw, env);
}

/** Validates an already parsed object (camelCase keys, as in the file). */
export function validateRaw(raw: Raw, env: Env = process.env): LoadResult {
  const problems: ConfigProblem[] = [];
  const clean = sortKeys(raw, schema, '', problems);

  const conf = convict(convictSchema(), { env: env as NodeJS.ProcessEnv, args: [] });
  conf.load(clean);
  const values = conf.getProperties() as Record<string, unknown>;

  for (const [path, leaf] of leaves(schema)) {
    if (problems.some((p) => p.key === path)) continue;
    const value = get(values, path);
    const invalid = leaf.check(value);
    if (!invalid) continue;
    const fromEnv = leaf.env && env[leaf.env] !== undefined ? ` (set by ${leaf.env})` : '';
    problems.push({ key: path, value, message: invalid.message + fromEnv, allowed: leaf.allowed });
  }
  crossChecks(values as unknown as Config, raw, problems);
  if (problems.length) return { ok: false, problems };
  return { ok: true, config: deepFreeze(values) as unknown as Config };
}

/** Checks that involve more than one key; skipped for keys already reported. */
function crossChecks(c: Config, raw: Raw, problems: ConfigProblem[]): void {
  const reported = new Set(problems.map((p) => p.key));
  const bad = (...keys: string[]) => keys.some((k) => reported.has(k) || [...reported].some((r) => r.startsWith(k + '.')));
  if (!bad('realtime.reconnect') && c.realtime.reconnect.minMs > c.realtime.reconnect.maxMs) {
    problems.push({ key: 'realtime.reconnect.maxMs', value: c.realtime.reconnect.maxMs, message: `is below realtime.reconnect.minMs (${c.realtime.reconnect.minMs})`, allowed: `a value >= ${c.realtime.reconnect.minMs}` });
  }
  if (!bad('gpio.pin', 'gpio.ledPin') && c.gpio.ledPin !== null && c.gpio.ledPin === c.gpio.pin) {
    problems.push({ key: 'gpio.ledPin', value: c.gpio.ledPin, message: 'is the same pin as the button (gpio.pin)', allowed: 'another BCM pin, or null' });
  }
  const td = get(raw, 'session.turnDetection');
  const type = c.session.turnDetection.type;
  if (isMapping(td) && !bad('session.turnDetection.type')) {
    const foreign = type === 'server_vad' ? SEMANTIC_VAD_ONLY : type === 'semantic_vad' ? SERVER_VAD_ONLY : [];
    for (const k of foreign.filter((k) => k in td)) {
      problems.push({ key: `session.turnDetection.${k}`, value: td[k], message: `does not apply to turnDetection type ${type}; remove it`, allowed: `with ${type}: ${[...(type === 'server_vad' ? SERVER_VAD_ONLY : SEMANTIC_VAD_ONLY), 'createResponse', 'interruptResponse'].join(', ')}` });
    }
  }
  if (!bad('conversation.bargeInByVoice', 'session.turnDetection.type') && c.conversation.bargeInByVoice && type === 'manual') {
    problems.push({
      key: 'conversation.bargeInByVoice',
      value: true,
      message: 'needs the server to hear speech during an answer, which turnDetection type manual does not do',
      allowed: 'false, or set session.turnDetection.type to server_vad or semantic_vad',
    });
  }
}

/**
 * Walks the file's mapping against the schema: known keys are kept (with shorthands
 * expanded), every unknown key becomes a problem that says what was probably meant.
 */
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
    } else if (isMapping(value)) {
      out[key] = sortKeys(value, child as Record<string, SchemaNode>, path, problems);
    } else {
      problems.push({ key: path, value: given, message: 'must be a section (a mapping of keys)', allowed: `keys ${Object.keys(child).join(', ')}` });
    }
  }
  return out;
}

function unknownKey(key: string, value: unknown, path: string, node: Record<string, SchemaNode>, prefix: string): ConfigProblem {
  const here = `keys ${prefix ? `under ${prefix}` : 'at the top level'}: ${Object.keys(node).join(', ')}`;
  const beta = betaHint(key, path);
  // A key pasted into the file must not be echoed back to the terminal or the journal.
  if (beta) return { key: path, value: /^api_?key$/i.test(key) ? REDACTED : value, message: `${key} ${beta}`, allowed: here };
  const camel = snakeToCamel(key);
  if (camel !== key && Object.hasOwn(node, camel)) {
    return { key: path, value, message: `is snake_case; this file uses camelCase: write ${prefix ? prefix + '.' : ''}${camel}`, allowed: here };
  }
  const elsewhere = pathsNamed(camel);
  if (elsewhere.length) return { key: path, value, message: `does not belong here; write it as ${elsewhere.join(' or ')}`, allowed: here };
  const near = Object.keys(node).filter((k) => distance(k.toLowerCase(), key.toLowerCase()) <= 2);
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

export function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (!isMapping(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

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

/** The convict view of `schema`: one named format per leaf, wrapping the leaf's own check. */
function convictSchema(): convict.Schema<unknown> {
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
        format: `ptt:${prefix}`,
        ...(node.env ? { env: node.env } : {}),
        ...(node.nullable ? { nullable: true } : {}),
        ...(node.sensitive ? { sensitive: true } : {}),
      };
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, build(v, prefix ? `${prefix}.${k}` : k)]));
  };
  return build(schema, '') as convict.Schema<unknown>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
