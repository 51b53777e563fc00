/**
 * The mint server's device tokens file: one device a line, `<device> sha256:<hex>`, `#` comments.
 * Only hashes are stored, so the file (or a backup of it) cannot be used to mint. SHA-256 is
 * enough here because tokens are 256 random bits, not passwords: there is nothing to guess, and
 * a slow hash (scrypt) would only cost CPU on every mint. A bad line is reported and skipped,
 * never a reason to keep an older file: removing a line must always revoke that device.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PttError } from '../core/errors.js';

export const TOKEN_PREFIX = 'rtd_';
const DEVICE = /^[A-Za-z0-9_.-]{1,64}$/;
const HASH = /^sha256:([0-9a-f]{64})$/;

/** A new device token: 256 random bits, URL-safe. */
export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** The line to add to the tokens file for `device`. */
export function tokenLine(device: string, token: string): string {
  if (!DEVICE.test(device)) {
    throw new PttError('USAGE', `device name '${device}' is not allowed`, { hint: 'use 1-64 letters, digits, _, . or -' });
  }
  return `${device} ${hashToken(token)}`;
}

export interface TokenTable {
  /** hash hex -> device name */
  readonly byHash: ReadonlyMap<string, string>;
  readonly problems: PttError[];
}

export function parseTokens(text: string, path: string): TokenTable {
  const byHash = new Map<string, string>();
  const problems: PttError[] = [];
  const devices = new Set<string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [device, hash, ...rest] = line.split(/\s+/);
    const where = { path, line: i + 1 };
    const m = HASH.exec(hash ?? '');
    if (!device || !DEVICE.test(device) || !m || rest.length) {
      problems.push(
        new PttError('MINT_TOKENS_BAD_LINE', `${path}:${i + 1}: expected '<device> sha256:<64 hex>', line skipped`, {
          context: where,
          hint: 'make lines with `realtime-ptt mint-server hash-token --device NAME`',
        }),
      );
      continue;
    }
    if (devices.has(device) || byHash.has(m[1]!)) {
      problems.push(
        new PttError('MINT_TOKENS_DUPLICATE', `${path}:${i + 1}: device or token ${device} appears twice, line skipped`, {
          context: where,
        }),
      );
      continue;
    }
    devices.add(device);
    byHash.set(m[1]!, device);
  }
  return { byHash, problems };
}

export async function readTokens(path: string): Promise<TokenTable | PttError> {
  try {
    return parseTokens(await readFile(path, 'utf8'), path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return new PttError('MINT_TOKENS_UNREADABLE', `the tokens file ${path} cannot be read (${code})`, {
      context: { path, errno: code },
      hint: 'create it with lines from `realtime-ptt mint-server hash-token --device NAME`',
    });
  }
}

/** The device a presented token belongs to, or undefined. */
export function deviceForToken(table: TokenTable, token: string): string | undefined {
  const hex = createHash('sha256').update(token, 'utf8').digest('hex');
  // Looking up the digest, not the token: timing can only tell an attacker about the hash of
  // their own guess, which says nothing about a valid token.
  return table.byHash.get(hex);
}
