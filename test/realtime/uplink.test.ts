/**
 * Back-pressure from the microphone to the socket (issue 10, fault 3): an uplink slower than the
 * audio must not grow the socket's buffer without bound. A real TCP relay in front of the
 * simulator stops reading, so the session's socket really fills up; the relay reading again is
 * the uplink recovering.
 */
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import type { UplinkReport } from '../../src/realtime/index.js';
import {
  appendedOn,
  expectConformingFrames,
  expectGateHeld,
  expectSamePcm,
  nextError,
  pcm,
  startRelay,
  startRig,
  stopRigs,
  verifiedOn,
} from './harness.js';

afterEach(stopRigs);

const MAX_BUFFERED = 64 * 1024;
/** One input_audio_buffer.append of 100 ms as JSON: 4800 bytes of PCM in base64 plus the envelope. */
const ONE_FRAME = Math.ceil((4800 * 4) / 3) + 200;

describe('a slow uplink', () => {
  it('bounds what the socket buffers, refuses audio past the gate with one error, keeps the commit after its audio, and answers the turn once the uplink recovers', async () => {
    const sockets: WebSocket[] = [];
    const log = memoryLogger('info');
    let relay!: Awaited<ReturnType<typeof startRelay>>;
    const rig = await startRig({
      via: async (sim) => (relay = await startRelay(sim.port)).url,
      session: {
        maxBufferedBytes: MAX_BUFFERED,
        maxQueuedMs: 2_000,
        logger: log,
        webSocketFactory: (url, headers) => {
          const ws = new WebSocket(url, { headers, perMessageDeflate: false });
          sockets.push(ws);
          return ws;
        },
      },
    });
    const uplink: UplinkReport[] = [];
    rig.session.on('uplink', (r) => uplink.push(r));
    await verifiedOn(rig, 0);
    const ws = sockets[0]!;

    relay.stall();
    // The microphone keeps delivering; the kernel's buffers fill first, then the socket's own.
    const refused = nextError(rig, 'REALTIME_UPLINK_SLOW', 60_000);
    let maxBuffered = 0;
    let n = 0;
    let refusals = 0;
    while (refusals < 20 && n < 20_000) {
      for (let i = 0; i < 20; i++) if (!rig.append(pcm(n++, 100))) refusals += 1;
      maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
      await new Promise((r) => setImmediate(r));
    }
    const error = await refused;
    expect(refusals).toBeGreaterThan(0);
    expect(uplink[0]).toMatchObject({ state: 'slow' });
    expect(rig.errors.filter((e) => e.code === 'REALTIME_UPLINK_SLOW')).toHaveLength(1);
    expect(error.message).toMatch(
      /^audio refused: the uplink is slower than the microphone \(\d+ KiB waiting on the socket, \d+ ms held, at most 2000 ms\)$/,
    );
    expect(error.context).toMatchObject({ maxQueuedMs: 2000 });
    // Bounded: the socket holds at most its bound plus the frame that crossed it.
    expect(maxBuffered).toBeGreaterThanOrEqual(MAX_BUFFERED);
    expect(maxBuffered).toBeLessThanOrEqual(MAX_BUFFERED + ONE_FRAME);
    expect(rig.session.queuedMs).toBeLessThanOrEqual(2_000);

    // The release comes while the uplink is still stalled.
    const committed = rig.session.next('inputCommitted', 30_000);
    const done = rig.session.next('responseDone', 30_000);
    expect(rig.session.commit()).toMatchObject({ committed: true });
    rig.session.createResponse();
    expect(ws.bufferedAmount).toBeLessThanOrEqual(MAX_BUFFERED + ONE_FRAME);

    relay.resume();
    await committed;
    expect((await done)[0]).toMatchObject({ status: 'completed' });
    // Recovery is declared once the backlog is gone and the socket has drained to half its bound.
    if (!uplink.some((r) => r.state === 'recovered')) await rig.session.next('uplink', 5_000);
    const recovered = uplink.find((r) => r.state === 'recovered');
    expect(recovered).toMatchObject({ state: 'recovered', maxBufferedBytes: expect.any(Number), refusedMs: refusals * 100 });
    expect(uplink.map((r) => r.state)).toEqual(['slow', 'recovered']);

    // Everything accepted arrived, in order, before the commit; nothing refused did.
    const frames = rig.sim.frames.filter((f) => f.connection === 0).map((f) => f.type);
    expect(frames.slice(-2)).toEqual(['input_audio_buffer.commit', 'response.create']);
    expectSamePcm(appendedOn(rig, 0), Buffer.concat(rig.accepted));
    const logged = log.records().map((r) => r.msg);
    expect(logged).toContain('uplink slower than the microphone: audio waits before the socket');
    expect(logged).toContain('uplink recovered: audio goes straight to the socket again');
    expectGateHeld(rig);
    expectConformingFrames(rig);
  }, 90_000);
});
