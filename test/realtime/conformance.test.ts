/**
 * Conformance of RealtimeSession on the wire, against the project's simulator: every client frame
 * validates against OpenAI's published RealtimeClientEvent schema with unknown properties refused,
 * for both bootstraps and every turn command; the GA shape of session.update; the auth header per
 * provider; the client-secret bootstrap (no ?model=, no session.update when session.created matches).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GaSessionConfig } from '../../src/realtime/index.js';
import { validateAgainst } from '../support/realtime-schema.js';
import {
  API_KEY,
  PROFILE,
  all,
  appendedOn,
  commitAndWait,
  expectConformingFrames,
  expectGateHeld,
  expectSamePcm,
  pcm,
  startRig,
  stopRigs,
  type Rig,
} from './harness.js';

afterEach(stopRigs);

const BETA_KEYS = [
  'modalities',
  'voice',
  'input_audio_format',
  'output_audio_format',
  'turn_detection',
  'input_audio_transcription',
  'temperature',
];

/** GA shape of every session.update the client sent. */
function expectGaUpdates(rig: Rig, atLeast: number): Record<string, unknown>[] {
  const updates = rig.sim.framesOf('session.update');
  expect(updates.length).toBeGreaterThanOrEqual(atLeast);
  return updates.map((f) => {
    const session = f.event.session as Record<string, unknown>;
    expect(session.type).toBe('realtime');
    expect(session.audio).toMatchObject({
      input: { format: { type: 'audio/pcm', rate: 24000 } },
      output: { format: { type: 'audio/pcm', rate: 24000 } },
    });
    for (const key of BETA_KEYS) expect(session, `beta-era key ${key}`).not.toHaveProperty(key);
    expect(typeof f.event.event_id).toBe('string');
    return session;
  });
}

/** A fetch that records the client-secret request before passing it on. */
function recordingFetch(): { fetchImpl: typeof fetch; requests: { url: string; headers: Record<string, string>; body: unknown }[] } {
  const requests: { url: string; headers: Record<string, string>; body: unknown }[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    requests.push({ url: String(input), headers: { ...(init?.headers as Record<string, string>) }, body: JSON.parse(String(init?.body)) });
    return fetch(input, init);
  };
  return { fetchImpl, requests };
}

describe('session-update bootstrap', () => {
  it.each([
    ['openai', 'bearer'],
    ['azure', 'api-key'],
  ] as const)(
    'provider %s: authenticates with %s, asks for the model in the URL, sends a GA session.update first and gates audio until session.updated',
    async (provider, auth) => {
      const rig = await startRig({ session: { provider } });
      // Before the socket is even open: held by the gate.
      expect(rig.append(pcm(1))).toBe(true);
      expect(rig.append(pcm(2))).toBe(true);
      const [info] = await rig.session.next('verified', 5000);
      expect(info).toMatchObject({ bootstrap: 'session-update', attempts: 1, updatesSent: 1 });
      rig.append(pcm(3));
      const committed = rig.session.next('inputCommitted', 5000);
      expect(rig.session.commit()).toMatchObject({ committed: true, shortTap: false });
      await committed;

      expect(rig.sim.connections).toHaveLength(1);
      expect(rig.sim.connections[0]).toMatchObject({
        path: '/v1/realtime',
        query: { model: 'gpt-realtime' },
        auth,
        authMatched: true,
        clientSecret: false,
        betaHeader: false,
      });
      expect(rig.sim.frames[0]!.type).toBe('session.update');
      const [session] = expectGaUpdates(rig, 1);
      expect(session).toEqual(PROFILE);
      expectConformingFrames(rig);
      expectGateHeld(rig);
      expectSamePcm(appendedOn(rig, 0), all(rig.accepted));
      expect(rig.errors).toEqual([]);
    },
  );
});

describe('client-secret bootstrap', () => {
  it.each([
    ['openai', 'authorization'],
    ['azure', 'api-key'],
  ] as const)(
    'provider %s: mints over HTTP with the %s header and the profile, connects without ?model= on the ek_ key, sends no session.update',
    async (provider, header) => {
      const { fetchImpl, requests } = recordingFetch();
      const rig = await startRig({ session: { provider, bootstrap: 'client-secret', fetchImpl } });
      rig.append(pcm(1));
      const [info] = await rig.session.next('verified', 5000);
      expect(info).toMatchObject({ bootstrap: 'client-secret', attempts: 1, updatesSent: 0 });
      rig.append(pcm(2, 120));
      await commitAndWait(rig);

      expect(requests).toHaveLength(1);
      expect(requests[0]!.url).toBe(`${rig.sim.httpUrl}/realtime/client_secrets`);
      const headerNames = Object.keys(requests[0]!.headers).map((h) => h.toLowerCase());
      expect(headerNames).toContain(header);
      expect(headerNames).not.toContain(header === 'api-key' ? 'authorization' : 'api-key');
      expect(validateAgainst('RealtimeCreateClientSecretRequest', requests[0]!.body)).toEqual([]);
      expect(requests[0]!.body).toEqual({ session: PROFILE });

      expect(rig.sim.connections).toHaveLength(1);
      expect(rig.sim.connections[0]).toMatchObject({ query: {}, auth: 'bearer', authMatched: true, clientSecret: true, betaHeader: false });
      expect(rig.sim.framesOf('session.update')).toEqual([]);
      expectConformingFrames(rig);
      expectGateHeld(rig);
      expectSamePcm(appendedOn(rig, 0), all(rig.accepted));
    },
  );

  it('sends one conforming session.update when session.created does not match what was asked (a secret minted elsewhere)', async () => {
    // The mint request loses the instructions on its way: session.created shows the server default.
    const { instructions: _dropped, ...withoutInstructions } = PROFILE;
    const fetchImpl: typeof fetch = (input, init) => fetch(input, { ...init, body: JSON.stringify({ session: withoutInstructions }) });
    const rig = await startRig({ session: { bootstrap: 'client-secret', fetchImpl } });
    rig.append(pcm(1));
    const [info] = await rig.session.next('verified', 5000);
    expect(info).toMatchObject({ bootstrap: 'client-secret', updatesSent: 1 });
    rig.append(pcm(2, 120));
    await commitAndWait(rig);
    const [session] = expectGaUpdates(rig, 1);
    expect(session).toEqual(PROFILE);
    expectConformingFrames(rig);
    expectGateHeld(rig);
    expectSamePcm(appendedOn(rig, 0), all(rig.accepted));
  });
});

describe('turn commands', () => {
  it('append, commit, short tap, response, cancel, truncate, clear and applyProfile all send conforming frames', async () => {
    // The simulator's default pace (4x real time, like the server): the reply is still running when it is cancelled.
    const rig = await startRig({ sim: { replyMs: 1500, deltaMs: 100 } });
    rig.append(pcm(1));
    await rig.session.next('verified', 5000);

    // A turn: audio (one append larger than a frame, one with an odd byte count), commit.
    rig.append(pcm(2, 250));
    rig.append(Buffer.concat([pcm(3, 30), Buffer.from([0x5a])]));
    rig.append(Buffer.concat([Buffer.from([0xa5]), pcm(4, 30)]));
    const committed = rig.session.next('inputCommitted', 5000);
    expect(rig.session.commit()).toMatchObject({ committed: true, shortTap: false });
    await committed;
    expectSamePcm(appendedOn(rig, 0), all(rig.accepted));

    // Response, cancelled after its first audio, then truncated to what was "played".
    const started = rig.session.next('responseStarted', 5000);
    const firstAudio = rig.session.next('audio', 5000);
    rig.session.createResponse();
    const [{ responseId }] = await started;
    const [chunk] = await firstAudio;
    const done = rig.session.next('responseDone', 5000);
    expect(rig.session.cancelResponse()).toBe(true);
    expect((await done)[0]).toMatchObject({ responseId, status: 'cancelled' });
    expect(rig.session.truncate(chunk.itemId, 40.4)).toBe(true);
    await rig.sim.waitForFrame((f) => f.type === 'conversation.item.truncate');
    expect(rig.sim.framesOf('conversation.item.truncate')[0]!.event).toMatchObject({
      item_id: chunk.itemId,
      content_index: 0,
      audio_end_ms: 40,
    });

    // A short tap (< 100 ms): the buffer is cleared, never committed.
    const commitsBefore = rig.sim.framesOf('input_audio_buffer.commit').length;
    rig.append(pcm(5, 50));
    const tap = rig.session.commit();
    expect(tap).toMatchObject({ committed: false, shortTap: true });
    expect(tap.audioMs).toBeCloseTo(50, 5);
    await rig.sim.waitForFrame((f) => f.type === 'input_audio_buffer.clear');

    // clearInput drops a turn in progress.
    rig.append(pcm(6, 200));
    rig.session.clearInput();
    await rig.sim.waitForFrame((f) => f.type === 'input_audio_buffer.clear' && rig.sim.framesOf('input_audio_buffer.clear').length === 2);
    expect(rig.sim.framesOf('input_audio_buffer.commit')).toHaveLength(commitsBefore);

    // A live profile change: GA session.update, verified.
    const changed: GaSessionConfig = { ...PROFILE, instructions: 'You are a kitchen timer. Be terse.' };
    const applied = await rig.session.applyProfile(changed);
    expect(applied).toMatchObject({ ok: true, mode: 'live', deferred: [] });

    // A voice change after an audio reply: live without the voice, then a reconnect while idle.
    const voiced: GaSessionConfig = { ...changed, audio: { ...changed.audio, output: { ...changed.audio!.output, voice: 'marin' } } };
    const reconnected = rig.session.next('verified', 5000);
    const deferred = await rig.session.applyProfile(voiced);
    expect(deferred).toMatchObject({ ok: true, mode: 'reconnect-when-idle', deferred: ['audio.output.voice'] });
    await reconnected;

    const updates = expectGaUpdates(rig, 4);
    expect(updates[0]).toEqual(PROFILE);
    expect(updates[1]).toEqual(changed);
    expect((updates[2]!.audio as { output: Record<string, unknown> }).output).not.toHaveProperty('voice');
    expect(updates[3]).toEqual(voiced);
    expect(rig.sim.framesOf('session.update', 1)).toHaveLength(1);

    const types = new Set(rig.sim.frames.map((f) => f.type));
    for (const t of [
      'session.update',
      'input_audio_buffer.append',
      'input_audio_buffer.commit',
      'input_audio_buffer.clear',
      'response.create',
      'response.cancel',
      'conversation.item.truncate',
    ]) {
      expect(types, t).toContain(t);
    }
    expectConformingFrames(rig);
    expectGateHeld(rig, [PROFILE, voiced]);
    expect(rig.errors).toEqual([]);
  });

  it('a short tap while the session is not yet verified is queued as a clear, sent after the held audio', async () => {
    const rig = await startRig({ faults: { sessionUpdateDelayMs: 50 } });
    rig.append(pcm(1, 60));
    const tap = rig.session.commit();
    expect(tap).toMatchObject({ committed: false, shortTap: true });
    await rig.session.next('verified', 5000);
    await rig.sim.waitForFrame((f) => f.type === 'input_audio_buffer.clear');
    const gated = rig.sim.frames.filter((f) => f.type !== 'session.update').map((f) => f.type);
    expect(gated).toEqual(['input_audio_buffer.append', 'input_audio_buffer.clear']);
    expect(rig.sim.framesOf('input_audio_buffer.commit')).toEqual([]);
    expectConformingFrames(rig);
    expectGateHeld(rig);
  });

  it('never sends the OpenAI-Beta header: the simulator refuses it with 4000 by default and still verifies', async () => {
    const rig = await startRig();
    await rig.session.next('verified', 5000);
    expect(rig.sim.connections.map((c) => c.betaHeader)).toEqual([false]);
    expect(rig.sim.connections[0]!.query).not.toHaveProperty('api-key');
    expect(JSON.stringify(rig.sim.frames)).not.toContain(API_KEY);
  });
});
