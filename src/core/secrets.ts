/**
 * The process-wide list of secret values (API keys, ephemeral client secrets).
 * The logger and every user-facing printer run text through `redact` so a secret
 * can never reach the journal, a transcript file or a test snapshot.
 */
const secrets = new Set<string>();

export const REDACTED = '[redacted]';

export function registerSecret(value: string | undefined | null): void {
  // Very short values would redact innocent text; keys are always long.
  if (value && value.length >= 8) secrets.add(value);
}

export function forgetSecrets(): void {
  secrets.clear();
}

/** Bearer tokens and key-shaped strings are redacted even if never registered. */
const KEY_SHAPES = /\b(?:sk-[A-Za-z0-9_-]{8,}|ek_[A-Za-z0-9_-]{8,})|(?<=Bearer )[A-Za-z0-9._-]{8,}/g;

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  // Every log line passes here: the pattern runs only where one of its anchors occurs.
  if (!out.includes('sk-') && !out.includes('ek_') && !out.includes('Bearer ')) return out;
  return out.replace(KEY_SHAPES, REDACTED);
}
