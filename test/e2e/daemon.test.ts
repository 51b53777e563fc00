/**
 * End to end: the real daemon process (`realtime-ptt run`, from the sources through tsx) against
 * the simulator on 127.0.0.1, real libasound through `file`-plugin devices (the mic is a FIFO fed
 * at real time, the speaker a file) and the virtual button on its control socket. Every
 * assertion is on what the simulator received and what reached the output device.
 *
 * One daemon lives through the scenarios in order, as a person would use it: the first turn
 * while the profile is still being verified, a tap, a barge-in, a config edit, a dropped
 * connection mid-turn, a broken edit, and SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BYTES_PER_MS } from '../../src/core/pcm-format.js';
import type { DaemonProcess } from '../../src/demo/daemon-process.js';
import type { FaultPlan, RealtimeSimulator } from '../../src/simulator/index.js';
import { type AlsaSandbox, testPcm } from '../support/alsa.js';
import { stringify } from 'yaml';
import { type DaemonRig, decodeAppends, PERIOD_MS, sleep, startDaemonRig, until } from '../support/daemon-rig.js';

const KEY = 'sk-e2e-0123456789abcdefghijklmnop';
const INSTRUCTIONS_1 = 'You are the end-to-end test assistant. Answer in one short sentence.';
const INSTRUCTIONS_2 = 'You are the edited assistant. Answer in two words.';

let rig: DaemonRig;
let dir: string;
let alsa: AlsaSandbox;
let sim: RealtimeSimulator;
let daemon: DaemonProcess;
let transcriptPath: string;
/** Fault plan per connection index (0-based); the tests fill it in before a connection opens. */
const faults = new Map<number, FaultPlan>();

const config = (session: Record<string, unknown>) => rig.config({ session: { instructions: INSTRUCTIONS_1, voice: 'marin', ...session } });
const saveConfig = (body: Record<string, unknown> | string) => rig.save(body);
const turn = (speech: Buffer, holdMs: number) => rig.turn(speech, holdMs);
const heardOf = (reply: Buffer, from: number) => rig.heardOf(reply, from);
const lastReply = () => rig.lastReply();

beforeAll(async () => {
  rig = await startDaemonRig({
    key: KEY,
    simulator: { replyMs: 800, deltaMs: 100 },
    config: (at) => ({
      realtime: { reconnect: { minMs: 100, maxMs: 400 }, timeouts: { sessionUpdateMs: 5_000 } },
      session: { instructions: INSTRUCTIONS_1, voice: 'marin' },
      log: { transcriptFile: join(at, 'state', 'transcripts.jsonl') },
      // Memory off: the drop below counts a connection's events, and restored items would come
      // first (memory across reconnects has its own end-to-end tests in profiles-memory.test.ts).
      conversation: { earcons: false, memoryTurns: 0 },
    }),
    beforeDaemon: (s) => {
      s.setFaults((i) => faults.get(i) ?? {});
      // The first profile is confirmed only after a second: the first press lands before that.
      faults.set(0, { sessionUpdateDelayMs: 1_000 });
    },
    waitVerified: false,
  });
  ({ dir, alsa, sim, daemon } = rig);
  transcriptPath = join(dir, 'state', 'transcripts.jsonl');
}, 30_000);

afterEach((ctx) => {
  // A failing scenario shows what the daemon was doing.
  if (ctx.task.result?.state === 'fail') process.stderr.write(`daemon log tail:\n${daemon.tail(40)}\n${daemon.other}`);
});

afterAll(async () => {
  await rig?.stop();
});

describe('realtime-ptt run, end to end', () => {
  it('sends no audio before the profile is verified, then runs a full manual turn', async () => {
    const speech = testPcm(600, 1);
    const record = await turn(speech, 900);
    expect(record).toMatchObject({ outcome: 'complete', bargeIn: false });

    const updated = sim.sentOf('session.updated', 0)[0];
    expect(updated, 'the simulator confirmed the profile').toBeDefined();
    const appends = sim.framesOf('input_audio_buffer.append', 0);
    expect(appends.length).toBeGreaterThan(0);
    expect(appends[0]!.at, 'first audio frame was sent only after session.updated').toBeGreaterThanOrEqual(updated!.at);
    const update = sim.framesOf('session.update', 0)[0]!;
    expect(update.event.session).toMatchObject({ type: 'realtime', instructions: INSTRUCTIONS_1, audio: { output: { voice: 'marin' } } });

    // What was said went out whole, then commit and response.create, in that order.
    const sent = decodeAppends(sim.frames.filter((f) => f.connection === 0));
    expect(sent.indexOf(speech), 'the spoken audio reached the server unchanged').toBeGreaterThanOrEqual(0);
    const types = sim.frames.filter((f) => f.connection === 0).map((f) => f.type);
    const lastAppend = types.lastIndexOf('input_audio_buffer.append');
    expect(types.slice(lastAppend + 1)).toEqual(['input_audio_buffer.commit', 'response.create']);

    // The answer reached the speaker exactly.
    const reply = Buffer.concat(sim.sentOf('response.output_audio.delta', 0).map((f) => Buffer.from(String(f.event.delta), 'base64')));
    expect(reply.length).toBe(800 * BYTES_PER_MS);
    await until(() => heardOf(reply, 0) === 800, 'the whole answer at the device, unchanged', 2_000);

    // The turn line has every timing; the transcript file has both sides.
    for (const field of ['pressToFirstAppendMs', 'releaseToCommitMs', 'commitToFirstDeltaMs', 'firstDeltaToDacMs', 'playedMs']) {
      expect(record[field], field).toEqual(expect.any(Number));
    }
    expect(record.playedMs).toBe(800);
    expect(record.pressToFirstAppendMs as number, 'the press waited for verification').toBeGreaterThan(0);
    await until(() => readFileSync(transcriptPath, 'utf8').split('\n').filter(Boolean).length >= 2, 'two transcript lines');
    const lines = readFileSync(transcriptPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.turn, l.role])).toEqual([
      [1, 'user'],
      [1, 'assistant'],
    ]);
    expect(lines[1]!.text).toBe('This is simulated reply number 1. The local simulator is speaking.');
  });

  it('treats a short tap as nothing asked: the input is cleared, nothing is committed', async () => {
    const commits = sim.framesOf('input_audio_buffer.commit').length;
    const responses = sim.framesOf('response.create').length;
    const next = daemon.nextTurn();
    await daemon.control('tap 60');
    const record = await next;
    expect(record.outcome).toBe('tap');
    await sleep(200);
    expect(sim.framesOf('input_audio_buffer.commit')).toHaveLength(commits);
    expect(sim.framesOf('response.create')).toHaveLength(responses);
    expect(sim.frames.at(-1)!.type).toBe('input_audio_buffer.clear');
  });

  it('barge-in: a press while it speaks stops playback at once and truncates at what reached the device', async () => {
    const before = alsa.readOutput().length;
    const answered = daemon.nextTurn(); // the turn whose answer gets cut
    await daemon.control('press');
    void alsa.mic.feed(testPcm(400, 2));
    await sleep(600);
    const responses = sim.sentOf('response.created').length;
    await daemon.control('release');
    await until(() => sim.sentOf('response.created').length > responses, 'the answer');
    await until(() => sim.sentOf('response.done').length > responses, 'the whole answer sent');
    const reply = lastReply();
    // Let about 300 ms of the answer reach the device, then press.
    await until(() => heardOf(reply, before) >= 300, '300 ms of the answer at the device');
    await daemon.control('press');
    const cut = await answered;
    expect(cut).toMatchObject({ outcome: 'cut' });
    await sim.waitForFrame((f) => f.type === 'conversation.item.truncate');
    await sleep(150); // the player is stopped; nothing more may reach the device
    const heardMs = heardOf(reply, before);
    const truncate = sim.framesOf('conversation.item.truncate').at(-1)!;
    const audioEndMs = truncate.event.audio_end_ms as number;
    expect(Math.abs(audioEndMs - heardMs), `audio_end_ms ${audioEndMs} vs ${heardMs} ms at the device`).toBeLessThanOrEqual(PERIOD_MS);
    expect(cut.playedMs).toBe(audioEndMs);
    expect(heardMs).toBeLessThan(800);
    expect(sim.sentOf('conversation.item.truncated').at(-1)!.event.audio_end_ms).toBe(audioEndMs);

    // The press that cut it is a new turn: it is answered.
    void alsa.mic.feed(testPcm(400, 3));
    await sleep(600);
    const next = daemon.nextTurn();
    await daemon.control('release');
    expect(await next).toMatchObject({ outcome: 'complete', bargeIn: true });
  });

  it('applies an edit of voice and instructions live and verifies it', async () => {
    const connectionsBefore = sim.connections.length;
    const mark = daemon.records.length;
    // The voice is fixed after the first audio answer, so the session reconnects for it: that
    // next connection will drop in the middle of the next turn (see the following test).
    faults.set(connectionsBefore, { dropAfterEvents: 3 });
    saveConfig(config({ instructions: INSTRUCTIONS_2, voice: 'cedar' }));
    await daemon.waitFor((r) => r.msg === 'config reloaded', 'the reload', 10_000, mark);
    const updated = await until(
      () =>
        sim
          .sentOf('session.updated')
          .some((f) => (f.event.session as { audio?: { output?: { voice?: string } } }).audio?.output?.voice === 'cedar'),
      'a session.updated with voice cedar',
    ).then(() =>
      sim.sentOf('session.updated').filter((f) => (f.event.session as { instructions?: string }).instructions === INSTRUCTIONS_2),
    );
    expect(updated.length).toBeGreaterThan(0);
    const lastUpdate = sim.framesOf('session.update').at(-1)!;
    expect(lastUpdate.event.session).toMatchObject({ instructions: INSTRUCTIONS_2, audio: { output: { voice: 'cedar' } } });
    await daemon.waitFor((r) => r.msg === 'changed profile applied', 'the profile applied', 10_000, mark);
    await daemon.waitFor((r) => r.msg === 'profile verified', 'verification on the new connection', 10_000, mark);
  });

  it('loses nothing said when the connection drops mid-turn: the turn is re-sent once verified again', async () => {
    const dropped = sim.connections.length - 1; // drops after its third event (the press's clear)
    const speech = testPcm(500, 4);
    const record = await turn(speech, 900);
    expect(record).toMatchObject({ outcome: 'complete' });
    const resent = sim.connections.length - 1;
    expect(resent).toBeGreaterThan(dropped);
    expect(sim.connections[dropped]!.closedWith).toBeDefined();
    const frames = sim.frames.filter((f) => f.connection === resent);
    expect(decodeAppends(frames).indexOf(speech), 'the whole utterance reached the new connection').toBeGreaterThanOrEqual(0);
    const types = frames.map((f) => f.type);
    expect(types.indexOf('session.update')).toBeLessThan(types.indexOf('input_audio_buffer.append'));
    expect(types).toContain('input_audio_buffer.commit');
    expect(daemon.find((r) => String(r.msg).startsWith('connection lost during a turn'))).not.toHaveLength(0);
  });

  it('keeps the config in force when an edit is invalid', async () => {
    const updates = sim.framesOf('session.update').length;
    saveConfig(stringify(config({ instructions: 'never applied', voice: 'not-a-voice' })));
    const invalid = await daemon.waitFor(
      (r) => r.msg === 'the edited config is invalid; the config in force is kept',
      'the invalid edit',
      10_000,
    );
    expect(String(invalid.problems)).toMatch(/session\.voice/);
    await sleep(300);
    expect(sim.framesOf('session.update')).toHaveLength(updates);
    expect(await daemon.control('status')).toMatch(/idle/);

    // SIGHUP (systemctl reload) re-reads the file: still invalid, still kept out.
    const mark = daemon.records.length;
    daemon.child.kill('SIGHUP');
    await daemon.waitFor((r) => r.msg === 'the edited config is invalid; the config in force is kept', 'the SIGHUP re-read', 10_000, mark);
    expect(sim.framesOf('session.update')).toHaveLength(updates);
    expect(await daemon.control('status')).toMatch(/idle/);
  });

  it('shuts down cleanly within 2 s on SIGTERM, and never showed the key', async () => {
    const live = sim.connections.at(-1)!;
    const exit = await daemon.stop('SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(2_000);
    expect(daemon.find((r) => r.msg === 'daemon stopped')).toHaveLength(1);
    await until(() => live.closedWith !== undefined, 'the socket closed');
    expect(live.closedWith).toMatchObject({ by: 'client', code: 1000 });
    const everything = JSON.stringify(daemon.records) + daemon.other + readFileSync(transcriptPath, 'utf8');
    expect(everything.includes(KEY)).toBe(false);
  });
});
