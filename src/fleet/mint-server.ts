/**
 * The fleet's mint server: holds the one real API key and hands each device an ephemeral client
 * secret for its next session. A device authenticates with its own token (Authorization: Bearer)
 * on the same route and body as OpenAI's (`POST /v1/realtime/client_secrets`, `{session}`), so
 * the device side only swaps the URL and the credential. The response is the upstream's
 * `{value, expires_at, session}` and nothing else; upstream error texts are redacted.
 *
 * It is a security boundary: bounded bodies, header and body deadlines, per-device rate limits,
 * tokens stored as hashes and re-read on reload (a removed line revokes at once), and a log line
 * for every mint (device, address, time) that never carries a key or a token.
 */
import { watch, type FSWatcher } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { dirname, basename } from 'node:path';
import type { Component } from '../core/component.js';
import { PttError } from '../core/errors.js';
import { isPlainObject } from '../core/guards.js';
import type { Logger } from '../core/logger.js';
import { redact, registerSecret } from '../core/secrets.js';
import { RateLimiter } from './rate-limit.js';
import { deviceForToken, readTokens, type TokenTable } from './tokens.js';

export const MINT_PATH = '/v1/realtime/client_secrets';

export interface MintServerOptions {
  apiKey: string;
  /** Upstream REST base, e.g. https://api.openai.com/v1 (the simulator's httpUrl in tests). */
  upstream: string;
  tokensFile: string;
  logger: Logger;
  host?: string;
  port?: number;
  /** PEM cert and key: serve HTTPS directly (else run it behind a TLS proxy). */
  tls?: { cert: string; key: string };
  /** A GA session object used for every device instead of the one it sends. */
  imposedSession?: Record<string, unknown>;
  rate?: { perMinute: number; burst: number };
  maxBodyBytes?: number;
  headersTimeoutMs?: number;
  /** The whole request (headers and body) must arrive within this. */
  requestTimeoutMs?: number;
  upstreamTimeoutMs?: number;
  /** Watch the tokens file and reload on change (SIGHUP reloads too, through reload()). */
  watchTokens?: boolean;
}

type Reply = { status: number; body: Record<string, unknown>; headers?: Record<string, string>; quiet?: boolean };

function refuse(status: number, code: string, message: string, headers?: Record<string, string>): Reply {
  return { status, body: { error: { code, message } }, ...(headers ? { headers } : {}) };
}

export class MintServer implements Component {
  readonly name = 'mint-server';
  readonly #o: MintServerOptions;
  readonly #log: Logger;
  #server: Server | undefined;
  #tokens: TokenTable = { byHash: new Map(), problems: [] };
  #limiter: RateLimiter;
  /** Refused tokens per client address (guessing 256-bit tokens is pointless, but noisy). */
  #failures = new RateLimiter(30, 10);
  #watcher: FSWatcher | undefined;
  #reloadTimer: NodeJS.Timeout | undefined;
  #minted = 0;

  constructor(options: MintServerOptions) {
    this.#o = options;
    this.#log = options.logger.child('mint');
    const rate = options.rate ?? { perMinute: 10, burst: 5 };
    this.#limiter = new RateLimiter(rate.perMinute, rate.burst);
  }

  get port(): number {
    const a = this.#server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get url(): string {
    return `${this.#o.tls ? 'https' : 'http'}://${this.#o.host ?? '127.0.0.1'}:${this.port}${MINT_PATH}`;
  }

  get devices(): number {
    return this.#tokens.byHash.size;
  }

  get minted(): number {
    return this.#minted;
  }

  async start(): Promise<void> {
    registerSecret(this.#o.apiKey);
    const loaded = await this.reload();
    if (loaded instanceof PttError) throw loaded;
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    const server = this.#o.tls ? createHttpsServer({ cert: this.#o.tls.cert, key: this.#o.tls.key }, handler) : createHttpServer(handler);
    // Node enforces these on a timer; check often so a slow client is cut near its deadline.
    server.headersTimeout = this.#o.headersTimeoutMs ?? 5_000;
    server.requestTimeout = this.#o.requestTimeoutMs ?? 10_000;
    server.keepAliveTimeout = 5_000;
    server.maxHeadersCount = 50;
    server.maxConnections = 512;
    (server as Server & { connectionsCheckingInterval?: number }).connectionsCheckingInterval = 250;
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#o.port ?? 0, this.#o.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    if (this.#o.watchTokens !== false) this.#watch();
    this.#log.info('mint server listening', { url: this.url, devices: this.devices, imposedProfile: this.#o.imposedSession !== undefined });
  }

  async stop(): Promise<void> {
    this.#watcher?.close();
    this.#watcher = undefined;
    clearTimeout(this.#reloadTimer);
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Re-reads the tokens file. An unreadable file keeps nobody: every device is refused until fixed. */
  async reload(): Promise<TokenTable | PttError> {
    const table = await readTokens(this.#o.tokensFile);
    if (table instanceof PttError) {
      this.#tokens = { byHash: new Map(), problems: [table] };
      this.#log.error(table.message, { error: table });
      return table;
    }
    for (const p of table.problems) this.#log.error(p.message, { error: p });
    const before = new Set(this.#tokens.byHash.values());
    this.#tokens = table;
    const now = new Set(table.byHash.values());
    const revoked = [...before].filter((d) => !now.has(d));
    this.#log.info('device tokens loaded', { devices: now.size, ...(revoked.length ? { revoked } : {}) });
    return table;
  }

  #watch(): void {
    // Watch the directory: editors replace the file (rename), which a file watch would lose.
    try {
      this.#watcher = watch(dirname(this.#o.tokensFile), (_event, name) => {
        if (name !== null && name !== basename(this.#o.tokensFile)) return;
        clearTimeout(this.#reloadTimer);
        this.#reloadTimer = setTimeout(() => void this.reload(), 100);
      });
      this.#watcher.on('error', (err) => this.#log.warn('cannot watch the tokens file; reload with SIGHUP', { error: err.message }));
    } catch (err) {
      this.#log.warn('cannot watch the tokens file; reload with SIGHUP', { error: (err as Error).message });
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const remote = req.socket.remoteAddress ?? 'unknown';
    let reply: Reply;
    let device: string | undefined;
    try {
      const r = await this.#mint(req, remote);
      reply = r.reply;
      device = r.device;
    } catch (err) {
      this.#log.error('mint request failed', { remote, error: err instanceof Error ? err.message : String(err) });
      reply = refuse(500, 'internal', 'internal error');
    }
    const ms = Math.round(performance.now() - started);
    if (reply.status === 200) this.#log.info('client secret minted', { device, remote, ms, expiresAt: reply.body.expires_at });
    else {
      const fields = { device: device ?? null, remote, status: reply.status, reason: (reply.body.error as { code?: string }).code, ms };
      if (reply.quiet) this.#log.debug('mint refused', fields);
      else this.#log.warn('mint refused', fields);
    }
    if (res.headersSent || res.destroyed) return;
    let body = JSON.stringify(reply.body);
    // Defence in depth: the secret we mint must go out, but the key never may (an upstream
    // that echoed it in a session field would otherwise hand it to every device).
    if (body.includes(this.#o.apiKey)) {
      this.#log.error('an upstream answer contained the API key; refused to forward it');
      reply = refuse(502, 'upstream_error', 'the upstream answer was unsafe to forward');
      body = JSON.stringify(reply.body);
    }
    res.writeHead(reply.status, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      ...(reply.status >= 400 && reply.status !== 429 ? { Connection: 'close' } : {}),
      ...reply.headers,
    });
    res.end(body);
  }

  async #mint(req: IncomingMessage, remote: string): Promise<{ reply: Reply; device?: string }> {
    const path = new URL(req.url ?? '/', 'http://mint').pathname;
    if (path !== MINT_PATH) return { reply: refuse(404, 'not_found', `no such endpoint; devices POST ${MINT_PATH}`) };
    if (req.method !== 'POST') return { reply: refuse(405, 'method_not_allowed', 'use POST') };
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && /^Bearer\s+\S+$/i.test(auth) ? auth.replace(/^Bearer\s+/i, '') : undefined;
    const device = token === undefined ? undefined : deviceForToken(this.#tokens, token);
    if (!device) {
      // A valid token is never blocked by someone else's guesses from the same address; past
      // the budget, refusals become quiet 429s so a flood cannot fill the journal.
      const wait = this.#failures.take(remote);
      if (wait > 0) {
        return {
          reply: {
            ...refuse(429, 'too_many_failures', 'too many refused tokens from this address', {
              'Retry-After': String(Math.ceil(wait / 1000)),
            }),
            quiet: true,
          },
        };
      }
      return {
        reply:
          token === undefined
            ? refuse(401, 'missing_token', 'send the device token as Authorization: Bearer <token>')
            : refuse(401, 'invalid_token', 'unknown or revoked device token'),
      };
    }

    const max = this.#o.maxBodyBytes ?? 64 * 1024;
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > max) return { reply: refuse(413, 'body_too_large', `the body is over ${max} bytes`), device };
    const wait = this.#limiter.take(device);
    if (wait > 0) {
      return {
        reply: refuse(429, 'rate_limited', `too many mints for this device; retry in ${Math.ceil(wait / 1000)} s`, {
          'Retry-After': String(Math.ceil(wait / 1000)),
        }),
        device,
      };
    }
    const text = await readBody(req, max);
    if (text === undefined) return { reply: refuse(413, 'body_too_large', `the body is over ${max} bytes`), device };
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      return { reply: refuse(400, 'invalid_json', 'the body is not JSON; send {"session": {...}}'), device };
    }
    if (!isPlainObject(body)) return { reply: refuse(400, 'invalid_body', 'the body must be a JSON object {"session": {...}}'), device };
    const extra = Object.keys(body).filter((k) => k !== 'session');
    if (extra.length)
      return { reply: refuse(400, 'unknown_parameter', `unknown key(s) ${extra.join(', ')}; only session is allowed`), device };
    const session = this.#o.imposedSession ?? body.session;
    if (!isPlainObject(session))
      return { reply: refuse(400, 'invalid_session', 'session must be a GA session object {"type": "realtime", ...}'), device };
    return { reply: await this.#upstream(session), device };
  }

  async #upstream(session: Record<string, unknown>): Promise<Reply> {
    let res: Response;
    try {
      res = await fetch(`${this.#o.upstream.replace(/\/$/, '')}/realtime/client_secrets`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.#o.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ session }),
        signal: AbortSignal.timeout(this.#o.upstreamTimeoutMs ?? 10_000),
      });
    } catch (err) {
      this.#log.error('the upstream cannot be reached', {
        upstream: this.#o.upstream,
        error: err instanceof Error ? err.message : String(err),
      });
      return refuse(502, 'upstream_unreachable', 'the mint server cannot reach the Realtime API');
    }
    const text = await res.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (res.status === 401 || res.status === 403) {
      this.#log.error('the upstream refused the API key', {
        status: res.status,
        hint: 'check the mint server key (credential openai-api-key, --key-file or OPENAI_API_KEY)',
      });
      return refuse(502, 'upstream_refused_key', "the mint server's API key was refused upstream; tell the owner");
    }
    if (!res.ok) {
      const message = (parsed as { error?: { message?: unknown } } | undefined)?.error?.message;
      // The session was refused: the device needs the reason to fix its profile (redacted).
      return refuse(
        res.status === 400 ? 400 : 502,
        'upstream_error',
        redact(`upstream HTTP ${res.status}: ${typeof message === 'string' ? message : text.slice(0, 200)}`),
      );
    }
    const p = parsed as { value?: unknown; expires_at?: unknown; session?: unknown } | undefined;
    if (typeof p?.value !== 'string' || typeof p.expires_at !== 'number')
      return refuse(502, 'upstream_error', 'the upstream answer has no client secret');
    registerSecret(p.value);
    this.#minted += 1;
    return { status: 200, body: { value: p.value, expires_at: p.expires_at, ...(p.session !== undefined ? { session: p.session } : {}) } };
  }
}

/** The body as text, or undefined past `max` bytes (the rest is not read). */
async function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
