/**
 * RealtimeSession against a server that sends what it should not (malformed, unknown or
 * out-of-place frames) and against the bound of the gate that holds audio until a session is
 * verified. Same checks as faults.test.ts: the wire log's order and content, never durations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultPlan } from '../../src/simulator/index.js';
import {
  all,
  appendedOn,
  commitAndWait,
  errorsOf,
  expectConformingFrames,
  expectGateHeld,
  expectSamePcm,
  firstOnly,
  pcm,
  startRig,
  stopRigs,
  verifiedOn,
  type Rig,
} from './harness.js';

afterEach(stopRigs);

describe('malformed and unexpected server frames', () => {
  /** A full turn with a reply on the first connection: nothing the fault sends may disturb it. */
  async function turnWithReply(rig: Rig): Promise<{ audioBytes: number; status: string; transcript: string }> {
    rig.append(pcm(1));
    await verifiedOn(rig, 0);
    rig.append(pcm(2, 120));
    await commitAndWait(rig);
    let audioBytes = 0;
    let transcript = '';
    rig.session.on('audio', (a) => (audioBytes += a.pcm.length));
    rig.session.on('transcript', (t) => t.role === 'assistant' && t.final && (transcript = t.text));
    const done = rig.session.next('responseDone', 5000);
    rig.session.createResponse();
    const [{ status }] = await done;
    expectGateHeld(rig);
    expectConformingFrames(rig);
    expectSamePcm(appendedOn(rig, 0), all(rig.accepted));
    expect(rig.sim.connections).toHaveLength(1);
    expect(rig.errors).toEqual([]);
    return { audioBytes, status, transcript };
  }

  it.each<[string, FaultPlan]>([
    ['malformedJson', { malformedJson: true }],
    ['unknownEvents', { unknownEvents: true }],
    ['betaEventNames', { betaEventNames: true }],
    ['all three', { malformedJson: true, unknownEvents: true, betaEventNames: true }],
  ])('%s: ignored or understood; verified on the first connection, the turn and the reply complete, no error', async (_name, plan) => {
    const rig = await startRig({ faults: plan, sim: { replyMs: 300, replyText: () => 'Timer set.' } });
    const { audioBytes, status, transcript } = await turnWithReply(rig);
    expect(status).toBe('completed');
    expect(audioBytes).toBe(300 * 48);
    expect(transcript).toBe('Timer set.');
    if (plan.malformedJson || plan.unknownEvents)
      expect(rig.sim.sent.some((f) => f.deliberate === 'malformed' || f.deliberate === 'unknown')).toBe(true);
  });
});

describe('append frames', () => {
  it('audio handed over at once goes out as one append (a 300 ms pre-roll is one frame); a held backlog goes out in 100 ms frames', async () => {
    const rig = await startRig({ sim: { replyMs: 200 } });
    const sizesOn = (connection: number) =>
      rig.wire
        .filter((e) => e.dir === 'in' && e.connection === connection && e.type === 'input_audio_buffer.append')
        .map((e) => Buffer.from(String(e.event.audio), 'base64').length / 48);
    // Held until verified: the backlog is coalesced into 100 ms frames.
    rig.append(pcm(1, 150));
    rig.append(pcm(2, 150));
    await verifiedOn(rig, 0);
    await commitAndWait(rig);
    expect(sizesOn(0)).toEqual([100, 100, 100]);
    // Verified: a press's pre-roll and each live batch are one frame each.
    rig.append(pcm(3, 300));
    rig.append(pcm(4, 100));
    await commitAndWait(rig);
    expect(sizesOn(0)).toEqual([100, 100, 100, 300, 100]);
    expectSamePcm(appendedOn(rig, 0), Buffer.concat([pcm(1, 150), pcm(2, 150), pcm(3, 300), pcm(4, 100)]));
    expectConformingFrames(rig);
  });
});

describe('the gate bound', () => {
  it('before start: appendAudio is refused with an error, not held', async () => {
    const rig = await startRig({ noStart: true });
    expect(rig.append(pcm(1))).toBe(false);
    expect(rig.errors.map((e) => e.code)).toEqual(['REALTIME_STOPPED']);
    expect(rig.errors[0]!.message).toBe('appendAudio refused: the Realtime session is not started');
  });

  it('past maxQueuedMs while not verified: refused with false and an error per overflow episode; what was accepted arrives whole, the refused audio never', async () => {
    const rig = await startRig({
      faults: firstOnly({ sessionUpdate: 'ignore' }),
      session: { maxQueuedMs: 200, timeouts: { verifyMs: 500 } },
    });
    expect(rig.append(pcm(1, 120))).toBe(true);
    expect(rig.append(pcm(2, 120))).toBe(false);
    expect(rig.errors.map((e) => e.code)).toEqual(['REALTIME_GATE_OVERFLOW']);
    expect(rig.errors[0]!.message).toBe('audio refused: 120 ms would pass the 200 ms held while the session is not ready');
    // The same episode: refused again, no second error.
    expect(rig.append(pcm(3, 120))).toBe(false);
    expect(rig.errors).toHaveLength(1);
    // Room for a small one ends the episode; the next refusal is reported again.
    expect(rig.append(pcm(4, 40))).toBe(true);
    expect(rig.append(pcm(5, 80))).toBe(false);
    expect(rig.errors.map((e) => e.code)).toEqual(['REALTIME_GATE_OVERFLOW', 'REALTIME_GATE_OVERFLOW']);
    expect(rig.session.queuedMs).toBe(160);

    await verifiedOn(rig, 1);
    rig.append(pcm(6, 40));
    await commitAndWait(rig);
    expectSamePcm(appendedOn(rig, 1), Buffer.concat([pcm(1, 120), pcm(4, 40), pcm(6, 40)]));
    expectGateHeld(rig);
    expectConformingFrames(rig);
  });

  it('a dropped connection whose unsent turn no longer fits: the oldest part is refused with an error naming how much', async () => {
    // Event 3 on the first connection (response.created) ends it, with 450 ms of the turn uncommitted.
    const rig = await startRig({ faults: firstOnly({ dropAfterEvents: 3 }), session: { maxQueuedMs: 300 } });
    await verifiedOn(rig, 0);
    rig.append(pcm(1, 250));
    rig.append(pcm(2, 200));
    const overflow = errorsOf(rig, 'REALTIME_GATE_OVERFLOW', 1);
    rig.session.createResponse();
    const [error] = await overflow;
    expect(error!.message).toBe('audio refused: 150 ms would pass the 300 ms held while the session is not ready');
    expect(error!.context).toMatchObject({ maxQueuedMs: 300, refusedMs: 150 });
    await verifiedOn(rig, 1);
    await commitAndWait(rig);
    // The end of the turn is what is kept.
    const turn = Buffer.concat([pcm(1, 250), pcm(2, 200)]);
    expectSamePcm(appendedOn(rig, 1), turn.subarray(turn.length - 300 * 48));
    expectGateHeld(rig);
    expectConformingFrames(rig);
  });

  it('a new overflow after the session was verified in between is reported again, never dropped silently', async () => {
    const rig = await startRig({ faults: firstOnly({ dropAfterEvents: 3 }), session: { maxQueuedMs: 200 } });
    expect(rig.append(pcm(1, 120))).toBe(true);
    expect(rig.append(pcm(2, 120))).toBe(false);
    expect(rig.errors.map((e) => e.code)).toEqual(['REALTIME_GATE_OVERFLOW']);
    await verifiedOn(rig, 0);
    // Verified: audio flows straight to the server.
    expect(rig.append(pcm(3, 40))).toBe(true);
    const done = rig.session.next('responseDone', 5000);
    rig.session.createResponse();
    expect((await done)[0]).toMatchObject({ status: 'disconnected' });
    // 160 ms of the turn went back into the gate; 120 ms more does not fit.
    expect(rig.session.verified).toBe(false);
    expect(rig.append(pcm(4, 120))).toBe(false);
    expect(rig.errors.map((e) => e.code)).toEqual(['REALTIME_GATE_OVERFLOW', 'REALTIME_CONNECTION_LOST', 'REALTIME_GATE_OVERFLOW']);
    await verifiedOn(rig, 1);
    await commitAndWait(rig);
    expectSamePcm(appendedOn(rig, 1), Buffer.concat([pcm(1, 120), pcm(3, 40)]));
  });
});
