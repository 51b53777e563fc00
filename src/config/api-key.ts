/**
 * Finds the API key: systemd credential, then realtime.apiKeyFile, then OPENAI_API_KEY.
 * The key is registered as a secret before anything else sees it, and never printed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PttError } from '../core/errors.js';
import { registerSecret } from '../core/secrets.js';
import type { Env } from './load.js';
import type { Config } from './schema.js';

export const CREDENTIAL_NAME = 'openai-api-key';

export type ApiKeySource = 'credential' | 'apiKeyFile' | 'env';
export type ApiKeyResult = { ok: true; key: string; source: ApiKeySource; path?: string } | { ok: false; error: PttError };

const PLACES = `the systemd credential ${CREDENTIAL_NAME} (LoadCredential=${CREDENTIAL_NAME}:/etc/realtime-ptt/${CREDENTIAL_NAME} in the unit), a file named by realtime.apiKeyFile, or the OPENAI_API_KEY environment variable`;

/** Reads a key file; undefined when it does not exist (only allowed for the optional credential). */
function readKeyFile(path: string, source: ApiKeySource, missingOk: boolean): ApiKeyResult | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ENOENT' && missingOk) return undefined;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable by this user (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory'
            : `cannot be read (${code})`;
    return {
      ok: false,
      error: new PttError('API_KEY_UNREADABLE', `API key file ${path} ${why}`, {
        context: { path, source, errno: code },
        hint:
          source === 'apiKeyFile'
            ? 'fix realtime.apiKeyFile or the file (one line: the key), e.g. chmod 640 and chgrp to the service group'
            : 'check the LoadCredential= line of the unit',
      }),
    };
  }
  const key = text.trim();
  if (!key) {
    return {
      ok: false,
      error: new PttError('API_KEY_EMPTY', `API key file ${path} is empty`, {
        context: { path, source },
        hint: 'write the key on the first line of the file',
      }),
    };
  }
  registerSecret(key);
  return { ok: true, key, source, path };
}

export function resolveApiKey(config: Config, env: Env = process.env): ApiKeyResult {
  return resolveApiKeyFrom(config.realtime.apiKeyFile, env);
}

/** The same search with the key file given directly (the mint server has no device config). */
export function resolveApiKeyFrom(apiKeyFile: string | null, env: Env = process.env): ApiKeyResult {
  if (env.CREDENTIALS_DIRECTORY) {
    const found = readKeyFile(join(env.CREDENTIALS_DIRECTORY, CREDENTIAL_NAME), 'credential', true);
    if (found) return found;
  }
  // An explicitly configured file that is missing is a mistake to report, not a reason to fall through.
  if (apiKeyFile !== null) return readKeyFile(apiKeyFile, 'apiKeyFile', false)!;
  const fromEnv = env.OPENAI_API_KEY?.trim();
  if (fromEnv) {
    registerSecret(fromEnv);
    return { ok: true, key: fromEnv, source: 'env' };
  }
  return {
    ok: false,
    error: new PttError('NO_API_KEY', 'no OpenAI API key is set', {
      context: { credentialsDirectory: env.CREDENTIALS_DIRECTORY ?? null, apiKeyFile },
      hint: `put the key in one of: ${PLACES}`,
    }),
  };
}
