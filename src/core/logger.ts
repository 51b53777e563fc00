import { redact } from './secrets.js';
import { PttError } from './errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSink {
  write(line: string): void;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
  setLevel(level: LogLevel): void;
}

interface Shared {
  level: LogLevel;
  format: LogFormat;
  sink: LogSink;
}

/** Longest string kept in a log field; a 5 MB bad value must not make a 5 MB journal line. */
export const MAX_LOGGED_CHARS = 500;
/** Most items of an array (or keys of an object) kept in a log field. */
const MAX_LOGGED_ITEMS = 50;
const MAX_DEPTH = 6;

/** Cuts `text` to `max` characters, saying how much was left out. */
export function capText(text: string, max = MAX_LOGGED_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters)`;
}

/**
 * Errors become plain objects (code, message, context, hint): never a stack in the journal. The
 * error's own code and message win over context entries of the same name (a child's exit `code`
 * in the context must not hide the error code: it is logged as `context.code`).
 */
function plain(value: unknown): unknown {
  if (value instanceof PttError) {
    const own: Record<string, unknown> = { code: value.code, message: value.message, ...(value.hint ? { hint: value.hint } : {}) };
    const context: Record<string, unknown> = {};
    // A context entry named like one of the error's own fields is kept under `context.<name>`.
    for (const [k, v] of Object.entries(value.context ?? {})) context[k in own ? `context.${k}` : k] = v;
    return { ...own, ...context };
  }
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return { message: value.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return value;
}

/** Errors made plain, long strings cut, big arrays and objects shortened, at any depth. */
function capped(value: unknown, depth = 0): unknown {
  let v = plain(value);
  if (typeof (v as { toJSON?: unknown } | null)?.toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
  if (typeof v === 'string') return capText(v);
  if (typeof v !== 'object' || v === null || Buffer.isBuffer(v)) return Buffer.isBuffer(v) ? `<${v.length} bytes>` : v;
  if (depth >= MAX_DEPTH) return '[nested too deep]';
  if (Array.isArray(v)) {
    const kept = v.slice(0, MAX_LOGGED_ITEMS).map((x) => capped(x, depth + 1));
    return v.length > MAX_LOGGED_ITEMS ? [...kept, `... (${v.length - MAX_LOGGED_ITEMS} more items)`] : kept;
  }
  const entries = Object.entries(v);
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries.slice(0, MAX_LOGGED_ITEMS)) out[k] = capped(x, depth + 1);
  if (entries.length > MAX_LOGGED_ITEMS) out['...'] = `${entries.length - MAX_LOGGED_ITEMS} more keys`;
  return out;
}

function serialise(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = capped(v);
  return out;
}

class StructuredLogger implements Logger {
  constructor(
    private readonly shared: Shared,
    private readonly component: string | undefined,
  ) {}

  private log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (ORDER[level] < ORDER[this.shared.level]) return;
    const record = {
      time: new Date().toISOString(),
      level,
      ...(this.component ? { component: this.component } : {}),
      msg: capText(msg),
      ...serialise(fields),
    };
    const line = this.shared.format === 'json' ? JSON.stringify(record) : pretty(record);
    // Redact the finished line so no field, nested or not, can leak a secret.
    this.shared.sink.write(`${redact(line)}\n`);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }
  child(component: string): Logger {
    return new StructuredLogger(this.shared, this.component ? `${this.component}.${component}` : component);
  }
  setLevel(level: LogLevel): void {
    this.shared.level = level;
  }
}

function pretty(record: Record<string, unknown>): string {
  const { time, level, component, msg, ...rest } = record;
  const extras = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const clock = String(time).slice(11, 23);
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${component ? `[${component}] ` : ''}${msg}${extras.length ? `  ${extras.join(' ')}` : ''}`;
}

export function createLogger(options: { level?: LogLevel; format?: LogFormat; sink?: LogSink } = {}): Logger {
  const sink = options.sink ?? process.stdout;
  // journald wants one JSON object a line; a person at a terminal wants to read it.
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  return new StructuredLogger({ level: options.level ?? 'info', format, sink }, undefined);
}

/** A logger that keeps its lines in memory, for tests. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[]; records(): Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = createLogger({ level, format: 'json', sink: { write: (l) => void lines.push(l.trimEnd()) } });
  return Object.assign(logger, { lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) });
}
