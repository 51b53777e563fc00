/**
 * A hint that names a config key must name one that exists: a person told to raise
 * `realtime.timeouts.verifyMs` finds no such key and is stuck. Checked two ways: every hint the
 * session's errors carry (built for real), and every hint written anywhere in src/ (read from the
 * source, so a new module's hints are covered without a list to keep).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/config/schema.js';
import { leaves } from '../../src/config/schema-kit.js';
import { realtimeErrors } from '../../src/realtime/index.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

const keys = leaves(schema).map(([path]) => path);
/** Leaves and the sections above them (`realtime.timeouts` names a group of keys). */
const known = new Set(keys.flatMap((k) => k.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.'))));
const sections = Object.keys(schema);
/** Realtime protocol event names share a section's first word; they are not config keys. */
const EVENT_NAMES = new Set(['session.update', 'session.updated', 'session.created']);

/** Dotted names in `text` that start with a config section: what a person would look for in the file. */
function keysNamedIn(text: string): string[] {
  const pattern = new RegExp(`\\b(?:${sections.join('|')})(?:\\.[A-Za-z][A-Za-z0-9]*)+`, 'g');
  return [...text.matchAll(pattern)].map((m) => m[0]).filter((k) => !EVENT_NAMES.has(k));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** String literals given to a `hint` (a property or a *_HINT constant), as written in the source. */
function hintLiterals(source: string): string[] {
  const out: string[] = [];
  const start = /\b(?:hint|[A-Z_]*HINT)\s*[:=]\s*/g;
  for (const m of source.matchAll(start)) {
    let i = m.index + m[0].length;
    // A hint may be a conditional or a concatenation: take every literal up to the end of the expression.
    while (i < source.length && !/[,;}\n]/.test(source[i]!)) {
      const quote = source[i];
      if (quote === "'" || quote === '`' || quote === '"') {
        let j = i + 1;
        while (j < source.length && source[j] !== quote) j += source[j] === '\\' ? 2 : 1;
        out.push(source.slice(i + 1, j));
        i = j + 1;
      } else i += 1;
    }
  }
  return out;
}

describe('config keys named in hints', () => {
  it('the schema knows the keys this test looks for (the check is not vacuous)', () => {
    expect(known.has('realtime.timeouts.sessionUpdateMs')).toBe(true);
    expect(known.has('realtime.timeouts.verifyMs')).toBe(false);
    expect(keysNamedIn('raise realtime.timeouts.verifyMs or realtime.maxQueuedMs; see session.update')).toEqual([
      'realtime.timeouts.verifyMs',
      'realtime.maxQueuedMs',
    ]);
    expect(hintLiterals(`new PttError('X', 'm', { hint: 'check realtime.url' });\nconst KEY_HINT =\n  \`set log.level\`;`)).toEqual([
      'check realtime.url',
      'set log.level',
    ]);
  });

  it("every hint of the session's errors names only keys that exist", () => {
    const errors = [
      realtimeErrors.badKey(401, 'wss://x'),
      realtimeErrors.handshake(500, 'wss://x'),
      realtimeErrors.connectFailed('ECONNREFUSED', 'wss://x'),
      realtimeErrors.connectTimeout(10_000, 'wss://x'),
      realtimeErrors.closed(1006, ''),
      realtimeErrors.betaRefused('beta'),
      realtimeErrors.deadPeer(15_000),
      realtimeErrors.verifyTimeout(5_000, 'session.updated'),
      realtimeErrors.mismatch([], 2),
      realtimeErrors.rejected('bad', 'voice', 'ptt_1', 'invalid_value'),
      realtimeErrors.server('bad', 'invalid_request_error', undefined, undefined, undefined, undefined),
      realtimeErrors.gateOverflow(10_000, 100),
      realtimeErrors.uplinkSlow({ bufferedBytes: 1, queuedMs: 1, maxQueuedMs: 1, refusedMs: 1 }),
      realtimeErrors.stopped('commit'),
    ];
    const named = errors.flatMap((e) => keysNamedIn(e.hint ?? ''));
    expect(named).toContain('realtime.timeouts.sessionUpdateMs');
    expect(named.filter((k) => !known.has(k))).toEqual([]);
  });

  it('every hint written in src/ names only keys that exist', () => {
    const unknown: string[] = [];
    let hints = 0;
    for (const file of sourceFiles(SRC)) {
      for (const hint of hintLiterals(readFileSync(file, 'utf8'))) {
        hints += 1;
        for (const key of keysNamedIn(hint)) if (!known.has(key)) unknown.push(`${file.slice(SRC.length + 1)}: ${key}`);
      }
    }
    expect(hints).toBeGreaterThan(20);
    expect(unknown).toEqual([]);
  });
});
