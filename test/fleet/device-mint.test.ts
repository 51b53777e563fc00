import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PttError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import { redact } from '../../src/core/secrets.js';
import { MintServer } from '../../src/fleet/mint-server.js';
import { generateToken, tokenLine } from '../../src/fleet/tokens.js';
import type { GaSessionConfig } from '../../src/realtime/protocol.js';
import { mintClientSecret, resolveDeviceToken } from '../../src/realtime/client-secret.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';

const KEY = 'owner-only-key-0123456789abcdefgh';
let sim: RealtimeSimulator;
let mint: MintServer;
let dir: string;
const token = generateToken();
const tokensFile = () => join(dir, 'tokens');

beforeAll(async () => {
  sim = new RealtimeSimulator({ apiKey: KEY, logger: memoryLogger() });
  await sim.start();
  dir = mkdtempSync(join(tmpdir(), 'ptt-device-mint-'));
  writeFileSync(tokensFile(), `${tokenLine('kitchen', token)}\n`);
  mint = new MintServer({ apiKey: KEY, upstream: sim.httpUrl, tokensFile: tokensFile(), logger: memoryLogger(), watchTokens: false });
  await mint.start();
});
afterAll(async () => {
  await mint.stop();
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

const profile = { type: 'realtime', instructions: 'You are the kitchen speaker.' } as unknown as GaSessionConfig;
const deviceMint = () =>
  mintClientSecret({
    wsUrl: sim.url,
    provider: 'openai',
    apiKey: '',
    session: profile,
    timeoutMs: 5_000,
    via: { url: mint.url, deviceToken: token },
  });

describe('a fleet device without the API key', () => {
  it('gets a client secret from the mint server that opens a session carrying its profile', async () => {
    const secret = await deviceMint();
    if (secret instanceof PttError) throw secret;
    expect(secret.value).toMatch(/^ek_/);
    const ws = new WebSocket(sim.url, { headers: { Authorization: `Bearer ${secret.value}` } });
    const first = await new Promise<Record<string, any>>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d))));
      ws.once('error', reject);
    });
    ws.close();
    expect(first.type).toBe('session.created');
    expect(first.session.instructions).toBe('You are the kitchen speaker.');
  });

  it('a revoked token is a clear error naming the fix', async () => {
    writeFileSync(tokensFile(), '# kitchen was stolen\n');
    await mint.reload();
    const r = await deviceMint();
    expect(r).toBeInstanceOf(PttError);
    expect(r).toMatchObject({ code: 'DEVICE_TOKEN_REFUSED', message: expect.stringContaining('unknown or revoked device token') });
    expect((r as PttError).hint).toMatch(/ask the owner for a new one/);
  });

  it('reads the token from the credential first, then realtime.deviceTokenFile, and registers it as a secret', () => {
    const creds = join(dir, 'creds');
    mkdirSync(creds);
    const file = join(dir, 'device-token');
    writeFileSync(file, 'rtd_from_the_file_0123456789\n');
    expect(resolveDeviceToken(file, {})).toBe('rtd_from_the_file_0123456789');
    expect(redact('token rtd_from_the_file_0123456789')).toBe('token [redacted]');
    // The credential wins when present; its absence falls back to the file.
    expect(resolveDeviceToken(file, { CREDENTIALS_DIRECTORY: creds })).toBe('rtd_from_the_file_0123456789');
    writeFileSync(join(creds, 'device-token'), 'rtd_from_the_credential_0123\n');
    expect(resolveDeviceToken(file, { CREDENTIALS_DIRECTORY: creds })).toBe('rtd_from_the_credential_0123');
    const none = resolveDeviceToken(null, {});
    expect(none).toMatchObject({ code: 'NO_DEVICE_TOKEN' });
    expect(resolveDeviceToken(join(dir, 'absent'), {})).toMatchObject({ code: 'DEVICE_TOKEN_UNREADABLE' });
  });
});
