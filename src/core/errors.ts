/**
 * Errors are values with a stable `code`, the context a person needs to act on them,
 * and an optional `hint` that names the fix. `message` is always fit to show a user:
 * no stack traces reach users (see `describeError`).
 */
export class PttError extends Error {
  readonly code: string;
  readonly context: Readonly<Record<string, unknown>>;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: { context?: Record<string, unknown>; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PttError';
    this.code = code;
    this.context = options.context ?? {};
    this.hint = options.hint;
  }
}

/** Wraps anything thrown into a PttError, keeping an existing one as is. */
export function toPttError(err: unknown, code = 'INTERNAL', context: Record<string, unknown> = {}): PttError {
  if (err instanceof PttError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PttError(code, message, { context, cause: err });
}

/** One user-facing line (plus the hint on its own line): what went wrong and how to fix it. */
export function describeError(err: unknown): string {
  const e = toPttError(err);
  return e.hint ? `${e.message}\n  fix: ${e.hint}` : e.message;
}
