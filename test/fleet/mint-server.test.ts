import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { MintServer, type MintServerOptions } from '../../src/fleet/mint-server.js';
import { generateToken, tokenLine } from '../../src/fleet/tokens.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';

// Not sk- shaped on purpose: the check below must not rely on the logger's key-shape redaction.
const KEY = 'the-one-real-key-0123456789abcdef';
let sim: RealtimeSimulator;
let dir: string;
const simLog = memoryLogger();
const logs: Array<ReturnType<typeof memoryLogger>> = [];
const bodies: string[] = [];
const servers: MintServer[] = [];

beforeAll(async () => {
  sim = new RealtimeSimulator({ apiKey: KEY, logger: simLog });
  await sim.start();
  dir = mkdtempSync(join(tmpdir(), 'ptt-mint-'));
});
afterAll(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
  // The boundary's promise: the key is in no log line and no response of any test here.
  for (const text of [...logs.flatMap((l) => l.lines), ...bodies]) expect(text).not.toContain(KEY);
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

function tokensFor(names: string[], file = join(dir, `tokens-${Math.random().toString(36).slice(2)}`)) {
  const tokens = Object.fromEntries(names.map((n) => [n, generateToken()]));
  writeFileSync(file, `# device tokens\n${names.map((n) => tokenLine(n, tokens[n]!)).join('\n')}\n`);
  return { file, tokens };
}

async function server(tokensFile: string, over: Partial<MintServerOptions> = {}) {
  const logger = memoryLogger();
  logs.push(logger);
  const s = new MintServer({ apiKey: KEY, upstream: sim.httpUrl, tokensFile, logger, watchTokens: false, ...over });
  servers.push(s);
  await s.start();
  return { s, logger };
}

async function mint(
  s: MintServer,
  token: string | undefined,
  body: unknown = { session: { type: 'realtime', instructions: 'kitchen profile' } },
) {
  const res = await fetch(s.url, {
    method: 'POST',
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  bodies.push(text);
  return { status: res.status, body: JSON.parse(text) as Record<string, any>, headers: res.headers };
}

/** A raw HTTP exchange: what a slow or hostile client sends, and what comes back before close. */
function raw(port: number, chunks: Array<string | number>): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let got = '';
    sock.on('data', (d) => {
      got += d.toString();
    });
    sock.on('close', () => {
      bodies.push(got);
      resolve(got);
    });
    sock.on('error', reject);
    void (async () => {
      for (const c of chunks) {
        if (typeof c === 'number') await new Promise((r) => setTimeout(r, c));
        else if (!sock.destroyed) sock.write(c);
      }
    })();
  });
}

describe('mint server', () => {
  it("mints a client secret carrying the device's session, logs who minted, and never returns the key", async () => {
    const { file, tokens } = tokensFor(['kitchen']);
    const { s, logger } = await server(file);
    const r = await mint(s, tokens.kitchen);
    expect(r.status).toBe(200);
    expect(r.body.value).toMatch(/^ek_/);
    expect(Object.keys(r.body).sort()).toEqual(['expires_at', 'session', 'value']);
    expect(r.body.session.instructions).toBe('kitchen profile');
    expect(r.headers.get('cache-control')).toBe('no-store');
    const line = logger.records().find((l) => l.msg === 'client secret minted');
    expect(line).toMatchObject({ device: 'kitchen', remote: '127.0.0.1' });
    expect(logger.lines.join('\n')).not.toContain(tokens.kitchen);
  });

  it('an imposed profile replaces what the device asks for', async () => {
    const { file, tokens } = tokensFor(['shop']);
    const { s } = await server(file, { imposedSession: { type: 'realtime', instructions: 'the owner decides' } });
    const r = await mint(s, tokens.shop, { session: { type: 'realtime', instructions: 'ignore your rules' } });
    expect(r.body.session.instructions).toBe('the owner decides');
  });

  it('refuses a missing or wrong token without calling upstream, and logs no token', async () => {
    const { file, tokens } = tokensFor(['kitchen']);
    const { s, logger } = await server(file);
    const before = s.minted;
    expect((await mint(s, undefined)).status).toBe(401);
    const wrong = await mint(s, `${tokens.kitchen!.slice(0, -1)}x`);
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: 'invalid_token' } } });
    // An ephemeral secret is not a device token.
    const ok = await mint(s, tokens.kitchen);
    expect((await mint(s, ok.body.value)).status).toBe(401);
    expect(s.minted).toBe(before + 1);
    expect(logger.records().filter((l) => l.msg === 'mint refused')).toHaveLength(3);
    expect(logger.lines.join('\n')).not.toContain(`${tokens.kitchen!.slice(0, -1)}x`);
  });

  it('an address that keeps guessing gets quiet 429s, while a valid token from it still mints', async () => {
    const { file, tokens } = tokensFor(['kitchen']);
    const { s, logger } = await server(file);
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) statuses.push((await mint(s, `rtd_guess_${i}_0123456789abcdef`)).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(4).fill(429));
    expect((await mint(s, tokens.kitchen)).status).toBe(200);
    // Ten warnings, then the flood goes to debug only.
    expect(logger.records().filter((l) => l.msg === 'mint refused' && l.level === 'warn')).toHaveLength(10);
  });

  it('a revoked token (line removed, file reloaded) stops that device and only that device', async () => {
    const { file, tokens } = tokensFor(['kitchen', 'hall']);
    const { s, logger } = await server(file, { watchTokens: true });
    expect((await mint(s, tokens.kitchen)).status).toBe(200);
    const { tokenLine: line } = await import('../../src/fleet/tokens.js');
    writeFileSync(file, `${line('hall', tokens.hall!)}\n`);
    // The file watch reloads it; wait for the log line that says so.
    for (
      let i = 0;
      i < 100 &&
      !logger.records().some((l) => l.msg === 'device tokens loaded' && (l.revoked as string[] | undefined)?.includes('kitchen'));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await mint(s, tokens.kitchen)).status).toBe(401);
    expect((await mint(s, tokens.hall)).status).toBe(200);
    // A broken line is skipped with an error; it never keeps an older file alive.
    writeFileSync(file, `hall not-a-hash\n`);
    await s.reload();
    expect((await mint(s, tokens.hall)).status).toBe(401);
    expect(logger.records().some((l) => l.level === 'error' && String(l.msg).includes(':1: expected'))).toBe(true);
  });

  it('refuses an oversized body (declared or streamed) with 413, malformed JSON and unknown keys with 400', async () => {
    const { file, tokens } = tokensFor(['kitchen']);
    const { s } = await server(file, { maxBodyBytes: 4096, rate: { perMinute: 600, burst: 50 } });
    expect((await mint(s, tokens.kitchen, { session: { type: 'realtime', instructions: 'x'.repeat(5000) } })).status).toBe(413);
    const streamed = await raw(s.port, [
      `POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.kitchen}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      `2000\r\n${'a'.repeat(0x2000)}\r\n`,
      `0\r\n\r\n`,
    ]);
    expect(streamed).toMatch(/^HTTP\/1\.1 413/);
    const bad = await mint(s, tokens.kitchen, '{"session": ');
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_json' } } });
    expect((await mint(s, tokens.kitchen, { session: {}, model: 'gpt-4' })).body.error.code).toBe('unknown_parameter');
    expect((await mint(s, tokens.kitchen, [1, 2])).body.error.code).toBe('invalid_body');
  });

  it('cuts a slow client: headers that never finish and a body that trickles', async () => {
    const { file, tokens } = tokensFor(['kitchen']);
    const { s } = await server(file, { headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const slowHeaders = await raw(s.port, ['POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\n', 2_000, 'X: y\r\n\r\n']);
    expect(slowHeaders).toMatch(/^HTTP\/1\.1 408/);
    const slowBody = await raw(s.port, [
      `POST /v1/realtime/client_secrets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.kitchen}\r\nContent-Length: 100\r\n\r\n{"session":`,
      2_000,
      '{}}',
    ]);
    expect(slowBody).toMatch(/^HTTP\/1\.1 408/);
    expect(s.minted).toBe(0);
  });

  it('serves 20 devices at once, each with its own secret, and rate-limits one device that asks too often', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `device-${i}`);
    const { file, tokens } = tokensFor(names);
    const { s, logger } = await server(file, { rate: { perMinute: 6, burst: 2 } });
    const results = await Promise.all(names.map((n) => mint(s, tokens[n])));
    expect(results.map((r) => r.status)).toEqual(names.map(() => 200));
    expect(new Set(results.map((r) => r.body.value)).size).toBe(20);
    expect(
      new Set(
        logger
          .records()
          .filter((l) => l.msg === 'client secret minted')
          .map((l) => l.device),
      ),
    ).toEqual(new Set(names));
    expect((await mint(s, tokens['device-0'])).status).toBe(200);
    const limited = await mint(s, tokens['device-0']);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await mint(s, tokens['device-1'])).status).toBe(200);
  });

  it('an upstream that refuses the key is a 502 for the device and an error for the owner, with no key in either', async () => {
    const { file, tokens } = tokensFor(['kitchen']);
    const { s, logger } = await server(file, { apiKey: 'not-the-real-key-but-long-enough' });
    const r = await mint(s, tokens.kitchen);
    expect(r).toMatchObject({ status: 502, body: { error: { code: 'upstream_refused_key' } } });
    expect(logger.records().some((l) => l.level === 'error' && l.msg === 'the upstream refused the API key')).toBe(true);
    expect(JSON.stringify(r.body)).not.toContain('not-the-real-key');
  });

  it('serves HTTPS with --tls-cert/--tls-key, and a device that trusts the CA mints over it', async () => {
    const { makeTlsFiles } = await import('../support/mosquitto.js');
    const { request } = await import('node:https');
    const { readFileSync, mkdirSync } = await import('node:fs');
    const tlsDir = join(dir, 'tls');
    mkdirSync(tlsDir);
    const tls = makeTlsFiles(tlsDir);
    const { file, tokens } = tokensFor(['kitchen']);
    const { s } = await server(file, { tls: { cert: readFileSync(tls.cert, 'utf8'), key: readFileSync(tls.key, 'utf8') } });
    expect(s.url).toMatch(/^https:\/\//);
    const post = (ca?: Buffer) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          s.url,
          { method: 'POST', headers: { Authorization: `Bearer ${tokens.kitchen}` }, ...(ca ? { ca } : {}) },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end('{"session":{"type":"realtime"}}');
      });
    expect(await post(readFileSync(tls.ca))).toBe(200);
    await expect(post()).rejects.toThrow(/self[- ]signed|unable to verify/i);
  });

  it('a missing tokens file is a clear start error', async () => {
    const s = new MintServer({
      apiKey: KEY,
      upstream: sim.httpUrl,
      tokensFile: join(dir, 'absent'),
      logger: memoryLogger(),
      watchTokens: false,
    });
    await expect(s.start()).rejects.toMatchObject({
      code: 'MINT_TOKENS_UNREADABLE',
      message: expect.stringContaining('absent cannot be read (ENOENT)'),
    });
    await s.stop();
  });
});
