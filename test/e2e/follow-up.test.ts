/**
 * Follow-up without pressing, end to end on the real daemon (dist/cli.js) with the simulator's
 * server VAD and ALSA file-plugin devices: after an answer the microphone stays open under VAD for
 * session.followUp.windowMs; a question in the window is answered without a press, silence closes
 * it, a press in it is push to talk. Every append on the wire is checked against the turn
 * detection in force at that moment (never between a session.update and its session.updated).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../../src/demo/daemon-process.js';
import { testPcm } from '../support/alsa.js';
import { type DaemonRig, sleep, startDaemonRig } from '../support/daemon-rig.js';
import { validateClientEvent } from '../support/realtime-schema.js';

const WINDOW_MS = 1_500;

let rig: DaemonRig;

async function manualTurn(seed: number): Promise<LogRecord> {
  return rig.turn(testPcm(400, seed), 600);
}

type Mode = 'manual' | 'server_vad' | 'semantic_vad';
const modeOf = (session: unknown): Mode =>
  ((session as { audio?: { input?: { turn_detection?: { type?: Mode } | null } } }).audio?.input?.turn_detection?.type ?? 'manual') as Mode;

type Entry = { at: number; from: 'client' | 'server'; f: { type: string; event: Record<string, unknown> } };

/**
 * The connection's frames in time order. Each side keeps its own recorded order (two client frames
 * in one millisecond stay as they were sent). At a tie across sides a client session.update goes before
 * the server's frames (the simulator stamps its answer before it records the frame it answers) and
 * other client frames after them (the milliseconds cannot tell more).
 */
function timeline(conn: number): Entry[] {
  const client: Entry[] = rig.sim.frames.filter((f) => f.connection === conn).map((f) => ({ at: f.at, from: 'client', f }));
  const server: Entry[] = rig.sim.sent.filter((f) => f.connection === conn).map((f) => ({ at: f.at, from: 'server', f }));
  const out: Entry[] = [];
  let i = 0;
  let j = 0;
  while (i < client.length || j < server.length) {
    const c = client[i];
    const v = server[j];
    const takeClient = c !== undefined && (v === undefined || c.at < v.at || (c.at === v.at && c.f.type === 'session.update'));
    if (takeClient) i++;
    else j++;
    out.push((takeClient ? c : v)!);
  }
  return out;
}

/**
 * Walks the connection's frames in time order: each append must fall where no session.update is
 * waiting for its session.updated; returns the mode each append was sent under.
 */
function appendModes(conn: number): Mode[] {
  let mode: Mode = 'manual';
  let pendingSince: number | undefined;
  const modes: Mode[] = [];
  for (const e of timeline(conn)) {
    if (e.from === 'client' && e.f.type === 'session.update') pendingSince = e.at;
    else if (e.from === 'server' && e.f.type === 'session.updated') {
      pendingSince = undefined;
      mode = modeOf(e.f.event.session);
    } else if (e.from === 'client' && e.f.type === 'input_audio_buffer.append') {
      expect(pendingSince, `an append at ${e.at} ms while a session.update (${pendingSince} ms) was unconfirmed`).toBeUndefined();
      modes.push(mode);
    } else if (e.from === 'client' && e.f.type === 'input_audio_buffer.commit') {
      expect(mode, 'the client commits only under manual turn detection').toBe('manual');
    }
  }
  return modes;
}

beforeAll(async () => {
  rig = await startDaemonRig({
    key: 'sk-followup-0123456789abcdefghijklmnop',
    simulator: { replyMs: 400, deltaMs: 100, pace: 'realtime' },
    config: {
      realtime: { reconnect: { minMs: 100, maxMs: 400 } },
      session: { instructions: 'follow-up tests', followUp: { windowMs: WINDOW_MS, turnDetection: 'server_vad' } },
    },
  });
}, 30_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`daemon log tail:\n${rig.daemon.tail(40)}\n${rig.daemon.other}`);
});

afterAll(async () => {
  await rig?.stop();
});

describe('follow-up without pressing', () => {
  it('after an answer the window opens under a verified VAD update; silence closes it back to push to talk', async () => {
    const mark = rig.daemon.records.length;
    expect(await manualTurn(1)).toMatchObject({ outcome: 'complete', mode: 'manual' });
    await rig.daemon.waitFor((r) => r.msg === 'follow-up window open', 'the window', 5_000, mark);
    expect(await rig.daemon.control('status')).toBe('listening');
    const closed = await rig.daemon.waitFor((r) => r.msg === 'follow-up window closed', 'the window closed', 5_000, mark);
    expect(closed.reason).toBe(`${WINDOW_MS} ms without speech`);
    await sleep(300);
    expect(await rig.daemon.control('status')).toBe('idle');
    const updated = rig.sim.sentOf('session.updated', 0).map((f) => modeOf(f.event.session));
    expect(updated.slice(-2)).toEqual(['server_vad', 'manual']);
    const modes = appendModes(0);
    expect(modes).toContain('server_vad'); // the microphone streamed in the window
    expect(rig.sim.sentOf('input_audio_buffer.speech_started', 0)).toHaveLength(0);
  });

  it('a question in the window is answered without a press; a press in the window is push to talk again', async () => {
    let mark = rig.daemon.records.length;
    expect(await manualTurn(2)).toMatchObject({ outcome: 'complete' });
    await rig.daemon.waitFor((r) => r.msg === 'follow-up window open', 'the window', 5_000, mark);
    mark = rig.daemon.records.length;
    const handsFree = rig.daemon.nextTurn(20_000);
    await rig.alsa.mic.feed(testPcm(500, 3));
    expect(await handsFree).toMatchObject({ outcome: 'complete', mode: 'hands-free' });
    expect(rig.sim.sentOf('input_audio_buffer.speech_started', 0).length).toBeGreaterThan(0);
    expect(rig.sim.framesOf('input_audio_buffer.commit', 0).at(-1)!.at, 'the server committed, not the client').toBeLessThan(
      rig.sim.sentOf('input_audio_buffer.committed', 0).at(-1)!.at,
    );

    // The window runs again after that answer; a press in it is an ordinary push-to-talk turn.
    await sleep(300);
    const updatesBefore = rig.sim.framesOf('session.update', 0).length;
    expect(await manualTurn(4)).toMatchObject({ outcome: 'complete', mode: 'manual' });
    const update = rig.sim.framesOf('session.update', 0)[updatesBefore]!;
    expect(modeOf(update.event.session), 'the press switched back to manual first').toBe('manual');
    // Client frames in the order received: after that update, the press's clear and pre-roll.
    const after = rig.sim.frames
      .slice(rig.sim.frames.indexOf(update) + 1)
      .filter((f) => f.connection === 0)
      .map((f) => f.type);
    expect(after.slice(0, 2)).toEqual(['input_audio_buffer.clear', 'input_audio_buffer.append']);
    await rig.daemon.waitFor(
      (r) => r.msg === 'follow-up window closed' && r.reason === 'a press during the follow-up window',
      'the press',
      5_000,
      mark,
    );
    const modes = appendModes(0);
    expect(modes).toContain('manual');
    expect(modes).toContain('server_vad');
  });

  it('every client frame is valid against the published schema', async () => {
    await rig.daemon.waitFor(
      (r) => r.msg === 'follow-up window closed' && String(r.reason).endsWith('without speech'),
      'the last window closed',
    );
    const invalid = rig.sim.frames.map((f) => ({ type: f.type, errors: validateClientEvent(f.event) })).filter((r) => r.errors.length > 0);
    expect(invalid).toEqual([]);
  });
});
