import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PttError } from '../../src/core/errors.js';
import type { GaSessionConfig } from '../../src/realtime/index.js';
import { PROFILE, stopRigs, when } from './harness.js';
import { clientTypes, setup, sleep, tone, verifiedCount, waitingDelays, WRONG_KEY } from './lifecycle-helpers.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await stopRigs();
});

function withVoice(voice: string): GaSessionConfig {
  return { ...PROFILE, audio: { ...PROFILE.audio, output: { ...PROFILE.audio!.output, voice } } };
}

describe('client-secret bootstrap', () => {
  it('verifies session.created without a session.update, reuses the secret for reconnects, and mints a new one within secretMarginMs of its expiry', async () => {
    const h = await setup({ bootstrap: 'client-secret', timeouts: { secretMarginMs: 30_000 } });
    let offsetMs = 0;
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offsetMs);
    await h.session.start();
    const first = await verifiedCount(h, 1);
    expect(first).toMatchObject({ bootstrap: 'client-secret', updatesSent: 0, attempts: 1 });
    expect(h.mints).toBe(1);
    expect(clientTypes(h.sim, 0)).toEqual([]);
    expect(h.sim.connections[0]).toMatchObject({ clientSecret: true, authMatched: true });
    expect(h.sim.connections[0]!.query).not.toHaveProperty('model');

    h.sim.closeConnection(0, 1001, 'Session expired');
    await verifiedCount(h, 2);
    expect(h.mints).toBe(1);
    expect(h.sim.connections[1]).toMatchObject({ clientSecret: true });

    // The simulator's secrets last 600 s: 590 s later the cached one is inside the margin.
    offsetMs = 590_000;
    h.sim.closeConnection(1, 1001, 'Session expired');
    await verifiedCount(h, 3);
    expect(h.mints).toBe(2);
    expect(h.sim.connections[2]).toMatchObject({ clientSecret: true });
    expect(h.errors).toEqual([]);
  });

  it('a 401 at the handshake drops the cached secret: the next connection mints a new one', async () => {
    const h = await setup({ bootstrap: 'client-secret', timeouts: { slowRetryMs: 100 } });
    h.sim.setFaults((i) => (i === 1 ? { rejectHandshake: 401 } : {}));
    await h.session.start();
    await verifiedCount(h, 1);
    expect(h.mints).toBe(1);
    h.sim.closeConnection(0, 1001);
    const [e] = await when(h, 'error');
    expect(e.code).toBe('REALTIME_BAD_KEY');
    await verifiedCount(h, 2);
    expect(h.mints).toBe(2);
    expect(h.sim.connections.map((c) => c.rejectedWith)).toEqual([undefined, 401, undefined]);
  });

  it('a refused API key at minting is a bad key, retried slowly, and opens no WebSocket', async () => {
    const h = await setup({ bootstrap: 'client-secret', apiKey: WRONG_KEY, timeouts: { slowRetryMs: 60_000 } });
    await h.session.start();
    const [e] = await when(h, 'error');
    expect(e.code).toBe('REALTIME_BAD_KEY');
    expect(e.message).toBe('the API key was refused (HTTP 401) minting a client secret');
    await sleep(200);
    expect(h.mints).toBe(1);
    expect(h.sim.connections).toHaveLength(0);
    expect(waitingDelays(h)).toEqual([60_000]);
  });

  it('a profile changed while a secret is being minted is not verified against a secret minted with the old one', async () => {
    const h = await setup({ bootstrap: 'client-secret' });
    await h.session.start();
    // start() began minting under PROFILE; the change arrives before that secret is back.
    expect(h.session.state).toBe('connecting');
    const changed = { ...PROFILE, instructions: 'Answer in Spanish.' };
    const result = await h.session.applyProfile(changed);
    expect(result).toMatchObject({ ok: true, mode: 'next-connection' });
    const info = await verifiedCount(h, 1);
    // Started configured with the new profile: no session.update was needed to fix it up.
    expect(info.updatesSent).toBe(0);
    expect(h.sim.framesOf('session.update')).toEqual([]);
    expect(h.sim.sentOf('session.created').at(-1)!.event.session).toMatchObject({ instructions: 'Answer in Spanish.' });
    // And the cached secret is the new one: a reconnect starts configured too.
    h.sim.closeConnection(h.sim.connections.length - 1, 1001);
    const again = await verifiedCount(h, 2);
    expect(again.updatesSent).toBe(0);
    expect(h.sim.framesOf('session.update')).toEqual([]);
  });

  it('a changed profile is never sent under an old secret: applyProfile drops it and the next session is minted with the new profile', async () => {
    const h = await setup({ bootstrap: 'client-secret' });
    await h.session.start();
    await verifiedCount(h, 1);
    const changed = { ...PROFILE, instructions: 'Answer in French.' };
    const result = await h.session.applyProfile(changed);
    expect(result).toMatchObject({ ok: true, mode: 'live' });
    h.sim.closeConnection(0, 1001);
    await verifiedCount(h, 2);
    expect(h.mints).toBe(2);
    expect(h.sim.sentOf('session.created', 1)[0]!.event.session).toMatchObject({ instructions: 'Answer in French.' });
  });
});

// ---- applyProfile ------------------------------------------------------------------------------

describe('applyProfile', () => {
  it('applies a change live on the open session and verifies the session.updated', async () => {
    const h = await setup();
    await h.session.start();
    await verifiedCount(h, 1);
    const changed = { ...PROFILE, instructions: 'Answer like a pirate.' };
    const result = await h.session.applyProfile(changed);
    expect(result).toEqual({ ok: true, mode: 'live', deferred: [], message: 'applied live and verified' });
    const updates = h.sim.framesOf('session.update', 0);
    expect(updates).toHaveLength(2);
    expect(updates[1]!.event.session).toEqual(changed);
    expect(h.sim.sentOf('session.updated', 0).at(-1)!.event.session).toMatchObject({ instructions: 'Answer like a pirate.' });
    expect(h.states.slice(-2)).toEqual([
      ['verifying', 'applying a changed profile'],
      ['ready', 'changed profile verified'],
    ]);
    expect(h.sim.connections).toHaveLength(1);
    expect(h.verified).toHaveLength(1);
  });

  it('a voice change before any audio reply is applied live, voice included', async () => {
    const h = await setup();
    await h.session.start();
    await verifiedCount(h, 1);
    const result = await h.session.applyProfile(withVoice('marin'));
    expect(result).toMatchObject({ ok: true, mode: 'live', deferred: [] });
    expect(h.sim.framesOf('session.update', 0)[1]!.event.session).toMatchObject({ audio: { output: { voice: 'marin' } } });
    expect(h.sim.connections).toHaveLength(1);
  });

  it('a voice change after the first audio reply is applied by reconnecting when idle, and the result says so', async () => {
    const h = await setup();
    await h.session.start();
    await verifiedCount(h, 1);
    h.session.appendAudio(tone(300));
    h.session.commit();
    h.session.createResponse();
    await when(h, 'responseDone');
    expect(h.sim.sentOf('response.output_audio.delta', 0).length).toBeGreaterThan(0);

    const result = await h.session.applyProfile({ ...withVoice('marin'), instructions: 'Shorter answers.' });
    expect(result).toMatchObject({ ok: true, mode: 'reconnect-when-idle', deferred: ['audio.output.voice'] });
    expect(result.ok && result.message).toMatch(/audio\.output\.voice/);
    expect(result.ok && result.message).toMatch(/reconnecting when idle/);
    // The live part went out without the voice, so the server had nothing to refuse.
    const live = h.sim.framesOf('session.update', 0)[1]!.event.session as {
      instructions: string;
      audio: { output: Record<string, unknown> };
    };
    expect(live.instructions).toBe('Shorter answers.');
    expect(live.audio.output).not.toHaveProperty('voice');
    expect(h.sim.sentOf('error', 0)).toEqual([]);

    const info = await verifiedCount(h, 2);
    expect(info.updatesSent).toBe(1);
    expect(h.sim.framesOf('session.update', 1)[0]!.event.session).toMatchObject({
      instructions: 'Shorter answers.',
      audio: { output: { voice: 'marin' } },
    });
    expect(h.sim.sentOf('session.updated', 1)[0]!.event.session).toMatchObject({ audio: { output: { voice: 'marin' } } });
    expect(h.sim.connections[0]!.closedWith).toMatchObject({ code: 1000, by: 'client' });
    expect(h.errors).toEqual([]);
  });

  it('a live update the server refuses reports an error and keeps the old profile working', async () => {
    const h = await setup();
    await h.session.start();
    await verifiedCount(h, 1);
    const bad = { ...PROFILE, audio: { ...PROFILE.audio, output: { ...PROFILE.audio!.output, speed: 4 } } };
    const result = await h.session.applyProfile(bad);
    expect(result.ok).toBe(false);
    const error = (result as { ok: false; error: PttError }).error;
    expect(error.code).toBe('REALTIME_PROFILE_REJECTED');
    expect(error.message).toMatch(/^the server rejected the profile's session\.update: .*speed/);
    expect(h.errors.map((e) => e.code)).toContain('REALTIME_PROFILE_REJECTED');

    // The session carries on under the profile that worked, verified again.
    const info = await verifiedCount(h, 2);
    expect(info.updatesSent).toBe(1);
    const lastUpdate = h.sim.framesOf('session.update').at(-1)!;
    expect(lastUpdate.event.session).toEqual(PROFILE);
    h.session.appendAudio(tone(300));
    h.session.commit();
    const [committed] = await when(h, 'inputCommitted');
    expect(committed.audioMs).toBe(300);
    expect(h.sim.framesOf('input_audio_buffer.append', lastUpdate.connection).length).toBeGreaterThan(0);
  });
});

// ---- stop --------------------------------------------------------------------------------------
