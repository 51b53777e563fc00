import { capText } from '../core/logger.js';
import { redact } from '../core/secrets.js';

/** One thing wrong with a config file: which key, what was given, why, and what is allowed. */
export interface ConfigProblem {
  /** Dotted key as written in the file (`session.voice`), or `(file)` for the file itself. */
  key: string;
  value: unknown;
  message: string;
  allowed?: string;
}

export const FILE_KEY = '(file)';

function showValue(v: unknown): string {
  if (v === undefined) return '';
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Renders problems for a person, one block each; nothing else (no stack, no internals). */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => {
    const given = p.value === undefined || p.key === FILE_KEY ? '' : `\n    given: ${showValue(p.value)}`;
    const allowed = p.allowed ? `\n    allowed: ${p.allowed}` : '';
    // A bad file may be huge: a key or message never prints more than a few hundred characters.
    return `  - ${capText(p.key, 120) || '""'}: ${capText(p.message, 400)}${given}${allowed}`;
  });
  const n = problems.length;
  // Redacted as a whole: a key pasted into any value must never be printed back.
  return redact(`${n} problem${n === 1 ? '' : 's'} in the config:\n${lines.join('\n')}\n`);
}
