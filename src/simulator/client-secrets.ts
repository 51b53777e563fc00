/**
 * POST /v1/realtime/client_secrets: mints ephemeral `ek_` keys that carry a session
 * configuration, and the request credentials both that endpoint and the WebSocket accept.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../core/logger.js';
import { registerSecret } from '../core/secrets.js';
import { randomId } from './ids.js';
import { DEFAULT_MODEL, defaultSession, SESSION_SECONDS, mergeSession, validateSessionRequest, type Json } from './session-config.js';
import type { AuthKind } from './types.js';
import { isPlainObject } from '../core/guards.js';

const DEFAULT_SECRET_SECONDS = 600;
const MAX_BODY = 1 << 20;

export interface MintedSecret {
  session: Json;
  expiresAtS: number;
}

export type Credential = { kind: AuthKind; value: string | undefined };

/** `Authorization: Bearer` (OpenAI), `api-key` header or `?api-key=` (Azure), in that order. */
export function credentialOf(req: IncomingMessage, url?: URL): Credential {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^Bearer\s+/i.test(auth)) return { kind: 'bearer', value: auth.replace(/^Bearer\s+/i, '').trim() };
  const apiKey = req.headers['api-key'];
  if (typeof apiKey === 'string') return { kind: 'api-key', value: apiKey.trim() };
  // Azure also takes the key as ?api-key=, which browsers need (they cannot set headers).
  const inQuery = url?.searchParams.get('api-key');
  if (inQuery) return { kind: 'api-key', value: inQuery };
  return { kind: 'none', value: undefined };
}

type HttpReply = { status: number; body: string };

function apiError(status: number, message: string, code: string | null, param: string | null = null): HttpReply {
  return { status, body: JSON.stringify({ error: { message, type: 'invalid_request_error', param, code } }) };
}

export class ClientSecretStore {
  readonly #secrets = new Map<string, MintedSecret>();

  lookup(value: string): MintedSecret | undefined {
    return this.#secrets.get(value);
  }

  /** Answers one HTTP request to the simulator's REST side. */
  async handle(req: IncomingMessage, apiKey: string | undefined, logger: Logger): Promise<HttpReply> {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    if (!/\/realtime\/client_secrets\/?$/.test(path)) return apiError(404, `Invalid URL (${req.method} ${path})`, 'not_found');
    if (req.method !== 'POST') return apiError(405, `Invalid method for URL (${req.method} ${path})`, 'method_not_allowed');
    const cred = credentialOf(req);
    // An ephemeral secret cannot mint another one.
    if (cred.value?.startsWith('ek_') || (apiKey !== undefined && cred.value !== apiKey)) {
      return cred.kind === 'none'
        ? apiError(401, "You didn't provide an API key.", 'missing_api_key')
        : apiError(401, 'Incorrect API key provided.', 'invalid_api_key');
    }
    let text = '';
    for await (const chunk of req) {
      text += String(chunk);
      if (text.length > MAX_BODY) return apiError(413, 'Request body too large.', 'request_too_large');
    }
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      return apiError(400, 'We could not parse the JSON body of your request.', 'invalid_json');
    }
    if (!isPlainObject(body)) return apiError(400, 'The request body must be a JSON object.', 'invalid_type');
    for (const key of Object.keys(body)) {
      if (key !== 'session' && key !== 'expires_after') return apiError(400, `Unknown parameter: '${key}'.`, 'unknown_parameter', key);
    }
    const seconds = expirySeconds(body.expires_after);
    if (seconds === undefined) {
      return apiError(
        400,
        "Invalid 'expires_after': anchor must be 'created_at' and seconds an integer from 10 to 7200.",
        'invalid_value',
        'expires_after',
      );
    }
    const requested = body.session ?? { type: 'realtime' };
    const problem = validateSessionRequest(requested);
    if (problem) return apiError(400, problem.message, problem.code, problem.param);
    const update = requested as Json;
    const nowS = Math.floor(Date.now() / 1000);
    const model = typeof update.model === 'string' ? update.model : DEFAULT_MODEL;
    const session = mergeSession(defaultSession({ model, expiresAt: nowS + SESSION_SECONDS }), update);
    const value = randomId('ek_', 32);
    const expiresAtS = nowS + seconds;
    registerSecret(value);
    this.#secrets.set(value, { session, expiresAtS });
    logger.info('client secret minted', { expiresAt: expiresAtS });
    return { status: 200, body: JSON.stringify({ value, expires_at: expiresAtS, session }) };
  }
}

/** Seconds until the secret expires, or undefined when `expires_after` is invalid. */
function expirySeconds(expiresAfter: unknown): number | undefined {
  if (expiresAfter === undefined) return DEFAULT_SECRET_SECONDS;
  if (!isPlainObject(expiresAfter)) return undefined;
  if (expiresAfter.anchor !== undefined && expiresAfter.anchor !== 'created_at') return undefined;
  const s = expiresAfter.seconds;
  if (s === undefined) return DEFAULT_SECRET_SECONDS;
  return typeof s === 'number' && Number.isInteger(s) && s >= 10 && s <= 7200 ? s : undefined;
}
