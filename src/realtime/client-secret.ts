/**
 * The `client-secret` bootstrap: mint an ephemeral key (`ek_...`) that carries the session
 * configuration, so the WebSocket session starts already configured.
 */
import type { PttError } from '../core/errors.js';
import { KEY_HINT, realtimeError } from './errors.js';
import { registerSecret } from '../core/secrets.js';
import type { GaSessionConfig } from './protocol.js';

export interface ClientSecret {
  value: string;
  /** Milliseconds since epoch. */
  expiresAtMs: number;
}

export type Provider = 'openai' | 'azure';

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
}): Promise<ClientSecret | PttError> {
  const endpoint = `${httpBaseFromWsUrl(options.wsUrl)}/realtime/client_secrets`;
  const context = { endpoint };
  let res: Response;
  try {
    res = await (options.fetchImpl ?? fetch)(endpoint, {
      method: 'POST',
      headers: { ...authHeaders(options.provider, options.apiKey), 'Content-Type': 'application/json' },
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

function serverMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m;
  } catch {
    // Not JSON: show the start of the text instead.
  }
  return text.slice(0, 200) || '(empty body)';
}
