import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RealtimeSimulator } from '../../src/simulator/index.js';
import { validateServerEvent } from '../support/realtime-schema.js';
import { TestClient } from './ws-client.js';

const KEY = 'sk-simulator-minting-key-42';
let sim: RealtimeSimulator;
const clients: TestClient[] = [];

beforeEach(async () => {
  sim = new RealtimeSimulator({ apiKey: KEY });
  await sim.start();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim.stop();
});

const PROFILE = {
  type: 'realtime',
  model: 'gpt-realtime',
  instructions: 'You are a kitchen helper. Answer briefly.',
  audio: { input: { turn_detection: null, transcription: { model: 'gpt-4o-mini-transcribe' } }, output: { voice: 'marin' } },
};

async function mint(
  body: unknown,
  auth: Record<string, string> = { Authorization: `Bearer ${KEY}` },
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sim.httpUrl}/realtime/client_secrets`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('POST /v1/realtime/client_secrets', () => {
  it('mints an ek_ secret whose connection starts already configured, without ?model=', async () => {
    const { status, json } = await mint({ session: PROFILE, expires_after: { anchor: 'created_at', seconds: 120 } });
    expect(status).toBe(200);
    expect(json.value).toMatch(/^ek_[A-Za-z0-9]{32}$/);
    const now = Math.floor(Date.now() / 1000);
    expect(json.expires_at).toBeGreaterThanOrEqual(now + 118);
    expect(json.expires_at).toBeLessThanOrEqual(now + 120);
    expect(json.session).toMatchObject({ object: 'realtime.session', instructions: PROFILE.instructions });

    const c = await TestClient.connect(sim.url, { Authorization: `Bearer ${json.value}` });
    clients.push(c);
    const created = await c.next('session.created');
    const s = created.session as Record<string, any>;
    expect(s.model).toBe('gpt-realtime');
    expect(s.instructions).toBe(PROFILE.instructions);
    expect(s.audio.input.turn_detection).toBeNull();
    expect(s.audio.input.transcription).toEqual({ model: 'gpt-4o-mini-transcribe' });
    expect(s.audio.output.voice).toBe('marin');
    expect(validateServerEvent(created)).toEqual([]);
    expect(sim.connections[0]).toMatchObject({ auth: 'bearer', authMatched: true, clientSecret: true, query: {} });
    // The secret never lands in the records.
    expect(JSON.stringify(sim.connections)).not.toContain(json.value);
  });

  it('refuses a session with a beta-era field, naming it, and mints nothing', async () => {
    const { status, json } = await mint({ session: { ...PROFILE, voice: 'marin' } });
    expect(status).toBe(400);
    expect(json.error).toEqual({
      message: "Unknown parameter: 'session.voice'.",
      type: 'invalid_request_error',
      param: 'session.voice',
      code: 'unknown_parameter',
    });
  });

  it.each([
    ['a wrong key', { Authorization: 'Bearer sk-not-the-right-key' }, 401],
    ['no key', {}, 401],
  ])('refuses %s with 401', async (_what, auth, status) => {
    expect((await mint({ session: PROFILE }, auth)).status).toBe(status);
  });

  it('an ephemeral secret cannot mint another one, and a bad body is a 400', async () => {
    const { json } = await mint({ session: PROFILE });
    expect((await mint({ session: PROFILE }, { Authorization: `Bearer ${json.value}` })).status).toBe(401);
    expect((await mint('{not json')).status).toBe(400);
    expect((await mint({ session: PROFILE, expires_after: { seconds: 5 } })).json.error.param).toBe('expires_after');
  });

  it('an expired ek_ is refused at the handshake with 401', async () => {
    const { json } = await mint({ session: PROFILE, expires_after: { anchor: 'created_at', seconds: 10 } });
    // Only the clock is faked: the sockets stay real.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 11_000);
      await expect(TestClient.connect(sim.url, { Authorization: `Bearer ${json.value}` })).rejects.toMatchObject({ status: 401 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('an unknown ek_ is refused at the handshake with 401', async () => {
    await expect(TestClient.connect(sim.url, { Authorization: 'Bearer ek_abcdefghijklmnopqrstuvwxyz012345' })).rejects.toMatchObject({
      status: 401,
    });
  });
});
