/**
 * The `client-secret` bootstrap: mint an ephemeral key (`ek_...`) that carries the session
 * configuration, so the WebSocket session starts already configured.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PttError } from '../core/errors.js';
import { KEY_HINT, realtimeError } from './errors.js';
import { registerSecret } from '../core/secrets.js';
import type { GaSessionConfig } from './protocol.js';

/** The systemd credential that holds a fleet device's token for realtime.mintUrl. */
export const DEVICE_TOKEN_CREDENTIAL = 'device-token';

/** A fleet device mints through the owner's mint server with its own token instead of the key. */
export interface MintVia {
  url: string;
  deviceToken: string;
}

/**
 * The device token: systemd credential device-token, then realtime.deviceTokenFile.
 * Registered as a secret before anything else sees it.
 */
export function resolveDeviceToken(deviceTokenFile: string | null, env: NodeJS.ProcessEnv = process.env): string | PttError {
  const places: string[] = [];
  if (env.CREDENTIALS_DIRECTORY) places.push(join(env.CREDENTIALS_DIRECTORY, DEVICE_TOKEN_CREDENTIAL));
  if (deviceTokenFile !== null) places.push(deviceTokenFile);
  for (const [i, path] of places.entries()) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      // The credential is optional when a file is configured; the configured file is not.
      if (code === 'ENOENT' && i < places.length - 1) continue;
      return new PttError('DEVICE_TOKEN_UNREADABLE', `device token file ${path} cannot be read (${code})`, {
        context: { path, errno: code },
        hint: 'put the token from `realtime-ptt mint-server hash-token` in realtime.deviceTokenFile or the credential device-token',
      });
    }
    if (!text)
      return new PttError('DEVICE_TOKEN_EMPTY', `device token file ${path} is empty`, {
        context: { path },
        hint: 'write the token on the first line',
      });
    registerSecret(text);
    return text;
  }
  return new PttError('NO_DEVICE_TOKEN', 'realtime.mintUrl is set but this device has no token', {
    context: { credentialsDirectory: env.CREDENTIALS_DIRECTORY ?? null, deviceTokenFile },
    hint: `set realtime.deviceTokenFile, or LoadCredential=${DEVICE_TOKEN_CREDENTIAL}:/etc/realtime-ptt/${DEVICE_TOKEN_CREDENTIAL} in the unit`,
  });
}

export interface ClientSecret {
  value: string;
  /** Milliseconds since epoch. */
  expiresAtMs: number;
}

export type Provider = 'openai' | 'azure';

/** Whether a minted secret still has more than `marginMs` to live. */
export function secretFresh(secret: ClientSecret | undefined, marginMs: number): boolean {
  return secret !== undefined && secret.expiresAtMs - Date.now() > marginMs;
}

/** Mints for a session's options: through the owner's mint server when `mintVia` is set, else with the key. */
export function mintForSession(
  o: { url: string; provider: Provider; apiKey: string; mintVia?: MintVia | undefined; fetchImpl?: typeof fetch | undefined },
  session: GaSessionConfig,
  timeoutMs: number,
): Promise<ClientSecret | PttError> {
  return mintClientSecret({
    wsUrl: o.url,
    provider: o.provider,
    apiKey: o.apiKey,
    session,
    timeoutMs,
    ...(o.fetchImpl ? { fetchImpl: o.fetchImpl } : {}),
    ...(o.mintVia ? { via: o.mintVia } : {}),
  });
}

/** The REST base of a Realtime WebSocket URL: wss->https, ws->http, path up to `/realtime`. */
export function httpBaseFromWsUrl(wsUrl: string): string {
  const u = new URL(wsUrl);
  const protocol = u.protocol === 'wss:' ? 'https:' : u.protocol === 'ws:' ? 'http:' : u.protocol;
  const path = u.pathname.replace(/\/realtime\/?$/, '');
  return `${protocol}//${u.host}${path}`;
}

/** Auth header for the long-lived key: OpenAI uses Bearer, Azure its own `api-key`. */
export function authHeaders(provider: Provider, apiKey: string): Record<string, string> {
  return provider === 'azure' ? { 'api-key': apiKey } : { Authorization: `Bearer ${apiKey}` };
}

export async function mintClientSecret(options: {
  wsUrl: string;
  provider: Provider;
  apiKey: string;
  session: GaSessionConfig;
  timeoutMs: number;
  fetchImpl?: typeof fetch;
  /** Mint through the owner's mint server (apiKey is then unused and may be ''). */
  via?: MintVia;
}): Promise<ClientSecret | PttError> {
  const via = options.via;
  const endpoint = via ? via.url : `${httpBaseFromWsUrl(options.wsUrl)}/realtime/client_secrets`;
  const context = { endpoint };
  let res: Response;
  try {
    res = await (options.fetchImpl ?? fetch)(endpoint, {
      method: 'POST',
      headers: {
        ...(via ? { Authorization: `Bearer ${via.deviceToken}` } : authHeaders(options.provider, options.apiKey)),
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ session: options.session }),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    return realtimeError(
      'REALTIME_CLIENT_SECRET_FAILED',
      `could not reach ${endpoint} to mint a client secret: ${err instanceof Error ? err.message : String(err)}`,
      {
        context,
        hint: 'check the network and realtime.url',
      },
    );
  }
  const text = await res.text().catch(() => '');
  if (via) {
    const refused = mintServerRefusal(res, text, endpoint);
    if (refused) return refused;
  }
  if (res.status === 401 || res.status === 403) {
    return realtimeError('REALTIME_BAD_KEY', `the API key was refused (HTTP ${res.status}) minting a client secret`, {
      context: { ...context, status: res.status },
      hint: KEY_HINT,
    });
  }
  if (!res.ok) {
    return realtimeError(
      'REALTIME_CLIENT_SECRET_FAILED',
      `minting a client secret failed with HTTP ${res.status}: ${serverMessage(text)}`,
      {
        context: { ...context, status: res.status },
        hint: 'the server refused the session configuration; run `realtime-ptt print-session` and check it',
      },
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const value = (body as { value?: unknown } | undefined)?.value;
  const expiresAt = (body as { expires_at?: unknown } | undefined)?.expires_at;
  if (typeof value !== 'string' || typeof expiresAt !== 'number') {
    return realtimeError('REALTIME_CLIENT_SECRET_FAILED', 'the client secret response has no string "value" and numeric "expires_at"', {
      context,
    });
  }
  registerSecret(value);
  return { value, expiresAtMs: expiresAt * 1000 };
}

/** What the owner's mint server said no to, in the device's terms. */
function mintServerRefusal(res: Response, text: string, endpoint: string): PttError | undefined {
  const context = { endpoint, status: res.status };
  if (res.status === 401) {
    return new PttError('DEVICE_TOKEN_REFUSED', `the mint server refused this device's token (HTTP 401: ${serverMessage(text)})`, {
      context,
      hint: 'the token was revoked or is wrong: ask the owner for a new one (realtime-ptt mint-server hash-token)',
    });
  }
  if (res.status === 429) {
    return new PttError('MINT_RATE_LIMITED', `the mint server limits this device: ${serverMessage(text)}`, {
      context: { ...context, retryAfterS: Number(res.headers.get('retry-after') ?? Number.NaN) },
      hint: 'the device reconnects too often; the owner can raise --rate',
    });
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    return realtimeError('REALTIME_CLIENT_SECRET_FAILED', `the mint server could not mint (HTTP ${res.status}): ${serverMessage(text)}`, {
      context,
      hint: "a problem on the owner's side (its key or its connection to OpenAI); tell the owner",
    });
  }
  return undefined;
}

function serverMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m;
  } catch {
    // Not JSON: show the start of the text instead.
  }
  return text.slice(0, 200) || '(empty body)';
}
