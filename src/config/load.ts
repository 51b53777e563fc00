/**
 * Reads the YAML config file and turns it into a validated `Config`, or into every
 * problem at once (key, value given, reason, what is allowed). convict supplies the
 * defaults and env overrides; the checks and messages come from the schema leaves.
 */
import { readFile } from 'node:fs/promises';
import convict from 'convict';
import { parseDocument } from 'yaml';
import { convictSchema } from './convict-schema.js';
import { crossChecks } from './cross-checks.js';
import { checkProfiles } from './profiles.js';
import { keepKnownKeys } from './known-keys.js';
import { FILE_KEY, type ConfigProblem } from './problems.js';
import { schema, type Config } from './schema.js';
import { leaves, valueAt } from './schema-kit.js';
import { isPlainObject } from '../core/guards.js';
import { capText } from '../core/logger.js';

export type LoadResult = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };
export type Env = Readonly<Record<string, string | undefined>>;

export interface ParseOptions {
  /**
   * Whether a file with no settings (empty, blank or only comments) means "all defaults". True at
   * start; a reload refuses it: an editor's truncate-then-write or a failed copy must not switch
   * a running device to the default URL, devices and GPIO.
   */
  emptyIsDefaults?: boolean;
}

/** Reads and validates the config file at `path`. Never throws. */
export async function loadConfig(path: string, env: Env = process.env, options: ParseOptions = {}): Promise<LoadResult> {
  const read = await readConfigText(path);
  return read.ok ? parseConfig(read.text, env, options) : read;
}

/** The file's text, or the problem reading it (missing, unreadable, a directory). Never throws. */
export async function readConfigText(path: string): Promise<{ ok: true; text: string } | { ok: false; problems: ConfigProblem[] }> {
  try {
    return { ok: true, text: await readFile(path, 'utf8') };
  } catch (err) {
    return { ok: false, problems: [fileProblem(path, err)] };
  }
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
  if (code === 'EACCES')
    return {
      key: FILE_KEY,
      value: path,
      message: `config file ${path} cannot be read (permission denied); make it readable by the service user`,
    };
  if (code === 'EISDIR') return { key: FILE_KEY, value: path, message: `${path} is a directory; --config needs the path of the YAML file` };
  return { key: FILE_KEY, value: path, message: `config file ${path} cannot be read (${code ?? (err as Error).message})` };
}

/**
 * Validates YAML text (the file's content). Never throws: whatever the YAML library or convict
 * throw on a hostile file (an alias bomb: `Excessive alias count`) is a problem with the file.
 */
export function parseConfig(text: string, env: Env = process.env, options: ParseOptions = {}): LoadResult {
  try {
    return parseText(text, env, options.emptyIsDefaults ?? true);
  } catch (err) {
    return {
      ok: false,
      problems: [{ key: FILE_KEY, value: undefined, message: `the file cannot be read as a config: ${firstLine(err)}` }],
    };
  }
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return capText(message.split('\n')[0] ?? '', 200);
}

function parseText(text: string, env: Env, emptyIsDefaults: boolean): LoadResult {
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
  const js: unknown = doc.toJS();
  if (js === null || js === undefined) {
    if (!emptyIsDefaults) {
      return {
        ok: false,
        problems: [
          {
            key: FILE_KEY,
            value: undefined,
            message: `the file has no settings (${text.trim() ? 'only comments' : 'it is empty'}); an empty file is refused while running (a half-written save?), the config in force is kept`,
            allowed: 'the settings to change; to go back to all defaults, write the defaults or restart the service',
          },
        ],
      };
    }
  }
  const raw: unknown = js ?? {};
  if (!isPlainObject(raw)) {
    return {
      ok: false,
      problems: [
        {
          key: FILE_KEY,
          value: raw,
          message: 'the file must be a YAML mapping of sections',
          allowed: `sections ${Object.keys(schema).join(', ')}`,
        },
      ],
    };
  }
  return validateRaw(raw, env);
}

/** Validates an already parsed object (camelCase keys, as in the file). */
export function validateRaw(raw: Record<string, unknown>, env: Env = process.env): LoadResult {
  const problems: ConfigProblem[] = [];
  const clean = keepKnownKeys(raw, problems);

  const conf = convict(convictSchema(), { env: env as NodeJS.ProcessEnv, args: [] });
  conf.load(clean);
  const values = conf.getProperties() as Record<string, unknown>;

  for (const [path, leaf] of leaves(schema)) {
    if (problems.some((p) => p.key === path)) continue;
    const value = valueAt(values, path);
    const invalid = leaf.check(value);
    if (!invalid) continue;
    const fromEnv = leaf.env && env[leaf.env] !== undefined ? ` (set by ${leaf.env})` : '';
    problems.push({ key: path, value, message: invalid.message + fromEnv, allowed: leaf.allowed });
  }
  crossChecks(values as unknown as Config, raw, problems);
  if (!problems.some((p) => p.key.startsWith('profiles.'))) checkProfiles(values as unknown as Config, problems);
  if (problems.length) return { ok: false, problems };
  return { ok: true, config: deepFreeze(values) as unknown as Config };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
