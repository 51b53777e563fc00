/**
 * RealtimeSession under every fault the simulator offers. Each test appends audio before the
 * session is verified and while it recovers, then checks, from the simulator's causal wire log:
 *   - no append (or turn command) reached a connection before that connection's profile was verified;
 *   - the session recovered (verified on a later connection) or failed with its own clear message;
 *   - the audio arrived complete and in order (byte-for-byte, distinct pattern per chunk);
 *   - every client frame still conforms to the published schema.
 * No durations are asserted: order and content only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { WebSocket as WsClient } from 'ws';
import { bytesToMs } from '../../src/core/pcm-format.js';
import { DEFAULT_INSTRUCTIONS, type FaultPlan } from '../../src/simulator/index.js';
import {
  PROFILE,
  all,
  appendedOn,
  commitAndWait,
  connectionsWith,
  errorsOf,
  expectConformingFrames,
  expectGateHeld,
  expectSamePcm,
  feedDuringRecovery,
  firstOnly,
  pcm,
  startRig,
  stopRigs,
  verifiedOn,
  type Rig,
} from './harness.js';

afterEach(stopRigs);

/**
 * The common run: audio before the socket opens and during recovery, verified on `finalConnection`,
 * one more chunk, a commit there; then the gate, conformance and byte-for-byte checks.
 */
async function recoverOn(rig: Rig, finalConnection: number): Promise<void> {
  const stopFeeding = feedDuringRecovery(rig);
  expect(rig.append(pcm(1))).toBe(true);
  expect(rig.append(pcm(2))).toBe(true);
  await verifiedOn(rig, finalConnection);
  stopFeeding();
  rig.append(pcm(3));
  const committed = rig.session.next('inputCommitted', 5000);
  expect(rig.session.commit()).toMatchObject({ committed: true });
  await committed;
  expectGateHeld(rig);
  expectConformingFrames(rig);
  // The whole uncommitted turn is on the connection that committed it, once, in order.
  expectSamePcm(appendedOn(rig, finalConnection), all(rig.accepted), `audio on connection ${finalConnection}`);
  expect(connectionsWith(rig, 'input_audio_buffer.commit')).toEqual([finalConnection]);
  expect(rig.sim.framesOf('input_audio_buffer.commit')).toHaveLength(1);
}

describe('handshake faults', () => {
  it.each([401, 403] as const)(
    'rejectHandshake %i: a key error that names the status, a slow retry, then the held audio on the next connection',
    async (status) => {
      const rig = await startRig({ faults: firstOnly({ rejectHandshake: status }) });
      await recoverOn(rig, 1);
      const [error] = await errorsOf(rig, 'REALTIME_BAD_KEY', 1);
      expect(error!.message).toBe(`the server refused the API key (HTTP ${status} at the WebSocket handshake)`);
      expect(rig.sim.connections[0]).toMatchObject({ rejectedWith: status });
    },
  );

  it('rejectHandshake 500: a handshake error, backoff, then the held audio on the next connection', async () => {
    const rig = await startRig({ faults: firstOnly({ rejectHandshake: 500 }) });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_HANDSHAKE_FAILED', 1);
    expect(error!.message).toBe('the WebSocket handshake failed with HTTP 500');
  });

  it('refuseBetaHeader: a socket that carried OpenAI-Beta (a proxy adding it) is closed with 4000; the error says so and the next connection works', async () => {
    let sockets = 0;
    const webSocketFactory = (url: string, headers: Record<string, string>): WebSocket => {
      sockets += 1;
      const h = sockets === 1 ? { ...headers, 'OpenAI-Beta': 'realtime=v1' } : headers;
      return new WsClient(url, { headers: h, perMessageDeflate: false });
    };
    const rig = await startRig({ session: { webSocketFactory } });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_BETA_REFUSED', 1);
    expect(error!.message).toContain('code 4000');
    expect(rig.sim.connections.map((c) => c.betaHeader)).toEqual([true, false]);
  });
});

describe('session.update faults', () => {
  it('stall: no session.created or session.updated; the verify timeout has its own message and the next connection gets the audio', async () => {
    const rig = await startRig({ faults: firstOnly({ stall: true }), session: { timeouts: { verifyMs: 500 } } });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_VERIFY_TIMEOUT', 1);
    expect(error!.message).toBe('timed out after 500 ms waiting for session.updated; the profile is not confirmed, so no audio was sent');
    expect(appendedOn(rig, 0)).toHaveLength(0);
  });

  it('stall with pings on: the dead peer is found by its missing pong, then the next connection gets the audio', async () => {
    const rig = await startRig({ faults: firstOnly({ stall: true }), session: { timeouts: { pingMs: 200, verifyMs: 10_000 } } });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_DEAD_PEER', 1);
    expect(error!.message).toBe('no pong from the server within 200 ms; the connection is dead');
  });

  it('ignore: session.update is never answered; verify timeout, then recovery', async () => {
    const rig = await startRig({ faults: firstOnly({ sessionUpdate: 'ignore' }), session: { timeouts: { verifyMs: 500 } } });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_VERIFY_TIMEOUT', 1);
    expect(error!.message).toContain('waiting for session.updated');
    expect(rig.sim.framesOf('session.update', 0)).toHaveLength(1);
  });

  it('sessionUpdateDelayMs under the timeout: verified late on the same connection; audio from the verifying window waits for session.updated', async () => {
    const rig = await startRig({ faults: { sessionUpdateDelayMs: 150 }, noStart: true });
    // Nothing held before the socket opens: the first audio arrives while the update is unanswered.
    const verifying = rig.session.next('state').then(function wait([state]): Promise<unknown> | undefined {
      return state === 'verifying' ? undefined : rig.session.next('state').then(wait);
    });
    await rig.session.start();
    await verifying;
    expect(rig.session.verified).toBe(false);
    expect(rig.append(pcm(1))).toBe(true);
    expect(rig.append(pcm(2))).toBe(true);
    const info = await verifiedOn(rig, 0);
    expect(info).toMatchObject({ attempts: 1, updatesSent: 1 });
    rig.append(pcm(3));
    await commitAndWait(rig);
    expectGateHeld(rig);
    expectConformingFrames(rig);
    expectSamePcm(appendedOn(rig, 0), all(rig.accepted));
    expect(rig.errors).toEqual([]);
  });

  it('sessionUpdateDelayMs past the timeout: timeout, the late session.updated of the old socket is ignored, recovery on the next', async () => {
    const rig = await startRig({ faults: firstOnly({ sessionUpdateDelayMs: 1500 }), session: { timeouts: { verifyMs: 500 } } });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_VERIFY_TIMEOUT', 1);
    expect(error!.message).toBe('timed out after 500 ms waiting for session.updated; the profile is not confirmed, so no audio was sent');
  });

  it('error: the server answers session.update with an error naming its event_id; the failure says so and recovery follows', async () => {
    const rig = await startRig({ faults: firstOnly({ sessionUpdate: 'error' }) });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_PROFILE_REJECTED', 1);
    const update = rig.sim.framesOf('session.update', 0)[0]!;
    expect(error!.message).toBe(
      "the server rejected the profile's session.update: The server had an error while processing your request. Sorry about that!",
    );
    expect(error!.context).toMatchObject({ clientEvent: 'session.update', eventId: update.event.event_id, serverCode: 'server_error' });
    expect(rig.sim.sentOf('error', 0)[0]!.event).toMatchObject({ error: { event_id: update.event.event_id } });
    // Rejected, not retried on that socket.
    expect(rig.sim.framesOf('session.update', 0)).toHaveLength(1);
  });

  it('partial (default: turn_detection kept): re-sent once, then a mismatch naming the field, wanted and got; recovery on the next connection', async () => {
    const rig = await startRig({ faults: firstOnly({ sessionUpdate: 'partial' }) });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_PROFILE_MISMATCH', 1);
    expect(rig.sim.framesOf('session.update', 0)).toHaveLength(2);
    expect(error!.message).toMatch(
      /^the server did not apply the profile after 2 session\.update\(s\): audio\.input\.turn_detection: wanted null, got \{"type":"server_vad",/,
    );
    expect(error!.context).toMatchObject({
      fields: ['audio.input.turn_detection'],
      updatesSent: 2,
      mismatches: [
        { field: 'audio.input.turn_detection', wanted: null, got: { type: 'server_vad', create_response: true, interrupt_response: true } },
      ],
    });
  });

  it('partial with partialFields: the mismatch names each field with what was wanted and what the server kept', async () => {
    const rig = await startRig({
      faults: firstOnly({ sessionUpdate: 'partial', partialFields: ['instructions', 'audio.output.voice', 'audio.output.speed'] }),
    });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_PROFILE_MISMATCH', 1);
    expect(error!.context).toMatchObject({
      fields: ['instructions', 'audio.output.voice', 'audio.output.speed'],
      mismatches: [
        { field: 'instructions', wanted: PROFILE.instructions, got: DEFAULT_INSTRUCTIONS },
        { field: 'audio.output.voice', wanted: 'cedar', got: 'alloy' },
        { field: 'audio.output.speed', wanted: 1.1, got: 1 },
      ],
    });
    expect(error!.message).toContain(
      `instructions: wanted ${JSON.stringify(PROFILE.instructions)}, got "Your knowledge cutoff is 2023-10.`,
    );
    expect(error!.message).toContain('audio.output.voice: wanted "cedar", got "alloy"');
    expect(error!.message).toContain('audio.output.speed: wanted 1.1, got 1');
  });

  it('partial on every connection: it keeps failing with the mismatch and never lets audio through; the gate still holds all of it', async () => {
    const rig = await startRig({ faults: { sessionUpdate: 'partial' } });
    const stopFeeding = feedDuringRecovery(rig);
    rig.append(pcm(1));
    rig.append(pcm(2));
    await errorsOf(rig, 'REALTIME_PROFILE_MISMATCH', 3);
    stopFeeding();
    expect(rig.session.verified).toBe(false);
    expect(rig.sim.connections.length).toBeGreaterThanOrEqual(3);
    expect(rig.sim.frames.filter((f) => f.type !== 'session.update')).toEqual([]);
    expectGateHeld(rig);
    expectConformingFrames(rig);
    expect(rig.session.queuedMs).toBeCloseTo(bytesToMs(all(rig.accepted).length), 6);
  });
});

describe('connection faults', () => {
  it.each([0, 1, 2])('dropAfterEvents %i: the connection dies around the bootstrap; the turn arrives whole on the next one', async (n) => {
    const rig = await startRig({ faults: firstOnly({ dropAfterEvents: n }) });
    await recoverOn(rig, 1);
    expect(rig.sim.connections[0]!.closedWith).toMatchObject({ by: 'server' });
    expect(rig.errors.length).toBeGreaterThan(0);
  });

  it('dropAfterEvents on two connections in a row: still recovers, with everything on the third', async () => {
    const rig = await startRig({ faults: firstOnly({ dropAfterEvents: 1 }, 2) });
    await recoverOn(rig, 2);
  });

  it('dropAfterEvents 2 with a whole turn held (audio, commit, response.create): a socket that dies as it verifies loses nothing; the turn is replayed with its commit and response', async () => {
    const rig = await startRig({ faults: firstOnly({ dropAfterEvents: 2 }) });
    rig.append(pcm(1, 120));
    rig.append(pcm(2, 120));
    expect(rig.session.commit()).toMatchObject({ committed: true });
    rig.session.createResponse();
    const answered = Promise.all([rig.session.next('inputCommitted', 5000), rig.session.next('responseDone', 5000)]);
    await verifiedOn(rig, 1);
    const [, [done]] = await answered;
    expect(done).toMatchObject({ status: 'completed' });
    const gated = (c: number) => rig.sim.frames.filter((f) => f.connection === c && f.type !== 'session.update').map((f) => f.type);
    expect(gated(0)).toEqual([]);
    expect(gated(1)).toEqual([
      'input_audio_buffer.append',
      'input_audio_buffer.append',
      'input_audio_buffer.append',
      'input_audio_buffer.commit',
      'response.create',
    ]);
    expectSamePcm(appendedOn(rig, 1), all(rig.accepted));
    expectGateHeld(rig);
    expectConformingFrames(rig);
  });

  it('dropAfterEvents 3 (at input_audio_buffer.committed): neither the committed turn nor the next one, already streaming, is lost', async () => {
    const rig = await startRig({ faults: firstOnly({ dropAfterEvents: 3 }) });
    await verifiedOn(rig, 0);
    let acked = 0;
    rig.session.on('inputCommitted', () => (acked += 1));
    rig.append(pcm(1, 120));
    rig.session.commit();
    // The next turn starts before the server has answered the commit.
    rig.append(pcm(2, 120));
    const turn1 = pcm(1, 120);
    await verifiedOn(rig, 1);
    const ackedOnFirst = acked;
    rig.append(pcm(3, 40));
    await commitAndWait(rig);
    const turn2 = Buffer.concat([pcm(2, 120), pcm(3, 40)]);
    expectSamePcm(appendedOn(rig, 0).subarray(0, turn1.length), turn1, 'turn 1 on the first connection');
    if (ackedOnFirst === 1) {
      // Turn 1 was committed there; only turn 2 goes again.
      expectSamePcm(appendedOn(rig, 1), turn2, 'turn 2');
      expect(rig.sim.framesOf('input_audio_buffer.commit', 1)).toHaveLength(1);
    } else {
      // The commit was never acknowledged: turn 1 is replayed, committed, then turn 2.
      expectSamePcm(appendedOn(rig, 1), Buffer.concat([turn1, turn2]), 'turns 1 and 2');
      expect(rig.sim.framesOf('input_audio_buffer.commit', 1)).toHaveLength(2);
    }
    expectGateHeld(rig);
    expectConformingFrames(rig);
  });

  it('dropMidResponse: the response ends as disconnected; the next turn, spoken while reconnecting, arrives whole on the new connection', async () => {
    const rig = await startRig({ faults: firstOnly({ dropMidResponse: true }) });
    rig.append(pcm(1));
    await verifiedOn(rig, 0);
    rig.append(pcm(2, 120));
    await commitAndWait(rig);
    const turn1 = all(rig.accepted);
    expectSamePcm(appendedOn(rig, 0), turn1, 'turn 1');

    const done = rig.session.next('responseDone', 5000);
    rig.session.createResponse();
    expect((await done)[0]).toMatchObject({ status: 'disconnected', usage: null });
    // Turn 2 begins while the socket is gone.
    expect(rig.session.verified).toBe(false);
    const stopFeeding = feedDuringRecovery(rig);
    rig.append(pcm(3));
    await verifiedOn(rig, 1);
    stopFeeding();
    rig.append(pcm(4));
    await commitAndWait(rig);

    expectSamePcm(appendedOn(rig, 1), all(rig.accepted).subarray(turn1.length), 'turn 2');
    expect(connectionsWith(rig, 'input_audio_buffer.commit')).toEqual([0, 1]);
    expect(rig.sim.framesOf('response.create')).toHaveLength(1);
    expectGateHeld(rig);
    expectConformingFrames(rig);
    const [lost] = await errorsOf(rig, 'REALTIME_CONNECTION_LOST', 1);
    expect(lost!.message).toContain('code 1006');
  });

  it.each([
    [1001, undefined],
    [1011, 'REALTIME_CONNECTION_LOST'],
    [4000, 'REALTIME_BETA_REFUSED'],
  ] as const)(
    'closeAfterMs with code %i: audio sent on the closed socket and audio held meanwhile arrive whole on the next',
    async (code, errorCode) => {
      const rig = await startRig({ faults: firstOnly({ closeAfterMs: { ms: 150, code, reason: 'simulated close' } }) });
      // If the first connection verifies before the close, audio goes out on it and must be sent again.
      rig.session.once('verified', () => setImmediate(() => rig.append(pcm(50))));
      await recoverOn(rig, 1);
      expect(rig.sim.connections[0]!.closedWith).toMatchObject({ code, by: 'server' });
      if (errorCode) expect((await errorsOf(rig, errorCode, 1))[0]!.message).toContain(`${code}`);
      else expect(rig.errors).toEqual([]);
    },
  );

  it('expiresInS: the session ends (error + 1001) mid-turn; the whole uncommitted turn is sent again on the next connection', async () => {
    const rig = await startRig({ faults: firstOnly({ expiresInS: 0.3 }) });
    rig.session.once('verified', () => setImmediate(() => rig.append(pcm(50))));
    await recoverOn(rig, 1);
    expect(rig.sim.connections[0]!.closedWith).toMatchObject({ code: 1001, by: 'server' });
    const [expired] = await errorsOf(rig, 'REALTIME_SERVER_ERROR', 1);
    expect(expired!.message).toBe('the server reported invalid_request_error: Your session hit the maximum duration of 60 minutes.');
  });
});

describe('faults while a changed profile is applied live', () => {
  /** On `connection`, the wire entries from the live apply's session.update (the second one) on. */
  function afterApplyUpdate(rig: Rig, connection: number): { type: string; dir: string }[] {
    const entries = rig.wire.filter((e) => e.connection === connection);
    const updates = entries.flatMap((e, i) => (e.dir === 'in' && e.type === 'session.update' ? [i] : []));
    expect(updates.length).toBeGreaterThanOrEqual(2);
    return entries.slice(updates[1]!).map((e) => ({ type: e.type, dir: e.dir }));
  }

  it('sessionUpdateDelayMs: audio spoken while the change is unconfirmed waits for its session.updated, then flows', async () => {
    const rig = await startRig({ faults: { sessionUpdateDelayMs: 100 } });
    rig.append(pcm(1, 120));
    await verifiedOn(rig, 0);
    const changed = { ...PROFILE, instructions: 'You are a kitchen timer. Be terse.' };
    const applying = rig.session.applyProfile(changed);
    expect(rig.session.verified).toBe(false);
    rig.append(pcm(2));
    rig.append(pcm(3));
    expect(await applying).toMatchObject({ ok: true, mode: 'live' });
    await commitAndWait(rig);
    const after = afterApplyUpdate(rig, 0);
    const answered = after.findIndex((e) => e.dir === 'out' && e.type === 'session.updated');
    const firstAppend = after.findIndex((e) => e.dir === 'in' && e.type === 'input_audio_buffer.append');
    expect(answered).toBeGreaterThan(0);
    expect(firstAppend).toBeGreaterThan(answered);
    expectSamePcm(appendedOn(rig, 0), all(rig.accepted));
    expectConformingFrames(rig);
    expect(rig.errors).toEqual([]);
  });

  it('partial: the change is refused with a mismatch naming the field; the old profile is kept on a new connection, where the held audio arrives whole', async () => {
    const { speed: _speed, ...output } = PROFILE.audio!.output!;
    const base = { ...PROFILE, audio: { ...PROFILE.audio, output } };
    const faster = { ...base, audio: { ...base.audio, output: { ...output, speed: 1.25 } } };
    const rig = await startRig({
      faults: firstOnly({ sessionUpdate: 'partial', partialFields: ['audio.output.speed'] }),
      session: { session: base },
    });
    rig.append(pcm(1, 120));
    await verifiedOn(rig, 0);
    const applying = rig.session.applyProfile(faster);
    rig.append(pcm(2));
    const result = await applying;
    expect(result.ok).toBe(false);
    const error = !result.ok ? result.error : undefined;
    expect(error?.code).toBe('REALTIME_PROFILE_MISMATCH');
    expect(error?.message).toBe('the server did not apply the profile after 2 session.update(s): audio.output.speed: wanted 1.25, got 1');
    rig.append(pcm(3));
    await verifiedOn(rig, 1);
    await commitAndWait(rig);
    // Nothing but the two tries of the change went out on the old connection after it began.
    expect(
      afterApplyUpdate(rig, 0)
        .filter((e) => e.dir === 'in')
        .map((e) => e.type),
    ).toEqual(['session.update', 'session.update']);
    // The new connection is bootstrapped with the profile that worked.
    expect(rig.sim.framesOf('session.update', 1)[0]!.event.session).toEqual(base);
    expectGateHeld(rig, [base]);
    expectConformingFrames(rig);
    expectSamePcm(appendedOn(rig, 1), all(rig.accepted));
  });
});

describe('faults under the client-secret bootstrap (verified by session.created)', () => {
  /** Counts the mints; the first `failFirst` fail before reaching the simulator. */
  function countingFetch(failFirst = 0): { fetchImpl: typeof fetch; mints: () => number } {
    let calls = 0;
    const fetchImpl: typeof fetch = async (input, init) => {
      calls += 1;
      if (calls <= failFirst) throw new TypeError('fetch failed (simulated network error)');
      return fetch(input, init);
    };
    return { fetchImpl, mints: () => calls };
  }

  it('stall: the verify timeout names session.created; a new connection on the same secret gets the audio', async () => {
    const { fetchImpl, mints } = countingFetch();
    const rig = await startRig({
      faults: firstOnly({ stall: true }),
      session: { bootstrap: 'client-secret', fetchImpl, timeouts: { verifyMs: 500 } },
    });
    await recoverOn(rig, 1);
    const [error] = await errorsOf(rig, 'REALTIME_VERIFY_TIMEOUT', 1);
    expect(error!.message).toBe('timed out after 500 ms waiting for session.created; the profile is not confirmed, so no audio was sent');
    expect(mints()).toBe(1);
    expect(rig.sim.framesOf('session.update')).toEqual([]);
  });

  it('rejectHandshake 401: the refused secret is dropped and a fresh one minted for the next connection', async () => {
    const { fetchImpl, mints } = countingFetch();
    const rig = await startRig({ faults: firstOnly({ rejectHandshake: 401 }), session: { bootstrap: 'client-secret', fetchImpl } });
    await recoverOn(rig, 1);
    expect((await errorsOf(rig, 'REALTIME_BAD_KEY', 1))[0]!.message).toContain('HTTP 401');
    expect(mints()).toBe(2);
    expect(rig.sim.connections[1]).toMatchObject({ clientSecret: true, authMatched: true, query: {} });
  });

  it.each<[string, FaultPlan]>([
    ['dropAfterEvents 1', { dropAfterEvents: 1 }],
    ['closeAfterMs 1001', { closeAfterMs: { ms: 150, code: 1001 } }],
    ['malformedJson + unknownEvents', { malformedJson: true, unknownEvents: true }],
  ])('%s: audio never before session.created on any connection, and whole on the last', async (_name, plan) => {
    const rig = await startRig({ faults: firstOnly(plan), session: { bootstrap: 'client-secret' } });
    const final = plan.malformedJson ? 0 : 1;
    await recoverOn(rig, final);
    expect(rig.sim.framesOf('session.update')).toEqual([]);
  });

  it('a failed mint: the error says so, the retry mints again, and the audio held meanwhile arrives whole', async () => {
    const { fetchImpl, mints } = countingFetch(2);
    const rig = await startRig({ session: { bootstrap: 'client-secret', fetchImpl } });
    await recoverOn(rig, 0);
    const errors = await errorsOf(rig, 'REALTIME_CLIENT_SECRET_FAILED', 2);
    expect(errors[0]!.message).toBe(
      `could not reach ${rig.sim.httpUrl}/realtime/client_secrets to mint a client secret: fetch failed (simulated network error)`,
    );
    expect(mints()).toBe(3);
  });
});

describe("audio from inside the session's own events", () => {
  it('appended from error and responseDone listeners while a connection is lost: held for the reconnect, no extra socket, none orphaned', async () => {
    const rig = await startRig({ faults: (i) => (i === 0 ? { rejectHandshake: 500 } : i === 1 ? { dropMidResponse: true } : {}) });
    let n = 10;
    // Listeners that append at once, inside the emit (a conductor reacting to the event).
    rig.session.on('error', () => rig.append(pcm(n++)));
    rig.session.on('responseDone', () => rig.append(pcm(n++)));
    rig.append(pcm(1, 120));
    await verifiedOn(rig, 1);
    await commitAndWait(rig);
    const turn1 = all(rig.accepted);
    expectSamePcm(appendedOn(rig, 1), turn1, 'turn 1');

    const done = rig.session.next('responseDone', 5000);
    rig.session.createResponse();
    expect((await done)[0]).toMatchObject({ status: 'disconnected' });
    rig.append(pcm(2, 120));
    await verifiedOn(rig, 2);
    await commitAndWait(rig);
    expectSamePcm(appendedOn(rig, 2), all(rig.accepted).subarray(turn1.length), 'turn 2');

    // One socket at a time: the refused one, the dropped one, the current one; nothing left open behind.
    expect(rig.sim.connections.map((c) => ({ refused: c.rejectedWith, closed: c.closedWith?.by }))).toEqual([
      { refused: 500, closed: undefined },
      { refused: undefined, closed: 'server' },
      { refused: undefined, closed: undefined },
    ]);
    expectGateHeld(rig);
    expectConformingFrames(rig);
  });
});
