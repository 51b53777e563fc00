/**
 * End to end in the home: the real daemon process with its MQTT bridge on a real Mosquitto (with
 * a password file), state hooks, and the device commands from MQTT, the control socket and the
 * CLI. Assertions are on what a person or Home Assistant sees: retained topics, what the simulator
 * received, what reached the output device, the log, the hook's file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scaleVolume } from '../../src/audio/pcm.js';
import { BYTES_PER_MS } from '../../src/core/pcm-format.js';
import type { LogRecord } from '../../src/demo/daemon-process.js';
import { testPcm } from '../support/alsa.js';
import { type DaemonRig, decodeAppends, sleep, startDaemonRig, until } from '../support/daemon-rig.js';
import { type Broker, startBroker } from '../support/mosquitto.js';
import { validateAgainst, validateClientEvent } from '../support/realtime-schema.js';
import { Observer } from '../home/mqtt-helpers.js';

const KEY = 'sk-home-e2e-0123456789abcdefghijkl';
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const ROOT = 'realtime-ptt/parlour';

let broker: Broker;
let rig: DaemonRig;
let ha: Observer;
let hookFile: string;

beforeAll(async () => {
  broker = await startBroker({ users: { parlour: 'parlour-pass-1234', ha: 'ha-pass-5678' } });
  rig = await startDaemonRig({
    key: KEY,
    simulator: { replyMs: 1_200, deltaMs: 100 },
    config: (dir) => {
      writeFileSync(join(dir, 'mqtt-password'), 'parlour-pass-1234\n');
      hookFile = join(dir, 'hook-states');
      return {
        realtime: { reconnect: { minMs: 100, maxMs: 400 } },
        log: { transcriptFile: join(dir, 'transcripts.jsonl') },
        mqtt: { url: broker.url, nodeId: 'parlour', username: 'parlour', passwordFile: join(dir, 'mqtt-password') },
        hooks: {
          timeoutMs: 300,
          on: {
            // Runs on every listening and idle: writes what it was told (a person's music pause script).
            listening: ['/bin/sh', '-c', `echo "$REALTIME_PTT_PREVIOUS_STATE>$REALTIME_PTT_STATE" >> ${hookFile}`],
            idle: ['/bin/sh', '-c', `echo "$REALTIME_PTT_PREVIOUS_STATE>$REALTIME_PTT_STATE" >> ${hookFile}`],
            thinking: ['/bin/sh', '-c', 'echo no such mixer >&2; exit 3'],
            speaking: ['/bin/sleep', '5'],
          },
        },
      };
    },
  });
  ha = await Observer.connect(broker, { username: 'ha', password: 'ha-pass-5678' }, [`${ROOT}/#`, 'homeassistant/device/parlour/config']);
}, 40_000);

afterAll(async () => {
  await ha?.close();
  await rig?.stop();
  await broker?.close();
});

const latest = (topic: string) => ha.seen.filter((m) => m.topic === topic).at(-1)?.payload;
const waitState = (state: string, from = 0) =>
  ha.waitFor((m) => m.topic === `${ROOT}/state` && m.payload === state, `state ${state}`, from);
const nextTurn = (mode: string, from = rig.daemon.records.length) =>
  rig.daemon.waitFor((r) => r.msg === 'turn' && r.mode === mode, `a ${mode} turn`, 20_000, from);
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args, '--socket', rig.socketPath], { encoding: 'utf8' });

describe('the device on MQTT', () => {
  it('announces itself: availability online, discovery, its state and the verified profile, all retained', async () => {
    await ha.waitFor((m) => m.topic === `${ROOT}/availability` && m.payload === 'online', 'online');
    const disc = await ha.waitFor((m) => m.topic === 'homeassistant/device/parlour/config', 'discovery');
    expect(disc.retain).toBe(true);
    expect(JSON.parse(disc.payload)).toMatchObject({ dev: { ids: ['realtime-ptt_parlour'] }, o: { name: 'realtime-ptt' } });
    await waitState('idle');
    const profile = await ha.waitFor((m) => m.topic === `${ROOT}/profile`, 'profile');
    expect(JSON.parse(profile.payload)).toEqual({ profile: 'main', model: 'gpt-realtime', voice: 'marin' });
  });

  it('say from MQTT: an out-of-band response with the text in its instructions, spoken to the device, logged', async () => {
    const from = rig.daemon.records.length;
    const turn = nextTurn('say', from);
    await ha.publish(`${ROOT}/command`, 'say The washing machine is done');
    const record = await turn;
    expect(record).toMatchObject({ outcome: 'complete', mode: 'say' });
    const create = rig.sim.framesOf('response.create').at(-1)!.event;
    const response = create.response as Record<string, unknown>;
    expect(response.conversation).toBe('none');
    expect(response.instructions).toContain('"The washing machine is done"');
    // The published schema cannot validate conversation none (overlapping oneOf): the rest can.
    const { conversation: _c, ...rest } = response;
    expect(validateClientEvent({ ...create, response: rest })).toEqual([]);
    // The quirk itself: either documented value matches both branches of the oneOf.
    expect(validateAgainst('RealtimeResponseCreateParams', { conversation: 'none' })).toEqual([
      expect.stringContaining('must match exactly one schema in oneOf'),
    ]);
    expect(rig.heardOf(rig.lastReply())).toBeGreaterThan(1_100);
    const t = await ha.waitFor((m) => m.topic === `${ROOT}/turn` && JSON.parse(m.payload).mode === 'say', 'turn on MQTT');
    expect(JSON.parse(t.payload)).toMatchObject({ outcome: 'complete', assistant: expect.any(String) });
  });

  it('ask from the CLI: a user input_text item, then a response; the question is in the transcript file', async () => {
    const turn = nextTurn('ask');
    const r = cli('ask', 'Is', 'the', 'door', 'locked?');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok\n');
    expect(await turn).toMatchObject({ outcome: 'complete', mode: 'ask' });
    const item = rig.sim.framesOf('conversation.item.create').at(-1)!.event;
    expect(validateClientEvent(item)).toEqual([]);
    expect(item.item).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Is the door locked?' }] });
    const afterItem = rig.sim.framesOf('response.create').at(-1)!;
    expect(afterItem.event.response).toBeUndefined();
    const lines = readFileSync(join(rig.dir, 'transcripts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toContainEqual(expect.objectContaining({ role: 'user', text: 'Is the door locked?' }));
  });

  it('stop from the control socket cuts an announcement playing; a press also cuts one (barge-in)', async () => {
    let turn = nextTurn('say');
    let seen = ha.seen.length;
    // Failures here print the daemon's last lines: this test has failed twice in about twelve runs under load, unexplained.
    const done = rig.sim.sentOf('response.done').length;
    const cancels = rig.sim.framesOf('response.cancel').length;
    expect(await rig.daemon.control('say a long announcement'), rig.daemon.tail(30)).toBe('ok');
    await waitState('speaking', seen);
    // The simulator streams faster than real time: the reply may be fully sent before the stop.
    const streaming = rig.sim.sentOf('response.done').length === done;
    expect(await rig.daemon.control('stop'), rig.daemon.tail(30)).toBe('ok');
    expect(await turn, rig.daemon.tail(30)).toMatchObject({ outcome: 'cut', mode: 'say', reason: 'stop command' });
    // Still streaming at the stop: the server is told to cancel (unless its last delta crossed the stop on the wire).
    if (streaming) {
      await until(() => rig.sim.sentOf('response.done').length > done, 'the end of the reply');
      const status = (rig.sim.sentOf('response.done').at(-1)!.event.response as { status: string }).status;
      expect(status === 'cancelled' ? rig.sim.framesOf('response.cancel').length > cancels : status === 'completed').toBe(true);
    }

    turn = nextTurn('say');
    seen = ha.seen.length;
    await ha.publish(`${ROOT}/command/say`, 'another announcement');
    await waitState('speaking', seen);
    const manual = nextTurn('manual');
    await rig.daemon.control('press');
    expect(await turn).toMatchObject({ outcome: 'cut', mode: 'say', reason: 'barge-in' });
    await rig.daemon.control('release');
    await manual;
  });

  it('volume from the CLI changes the gain of what reaches the device', async () => {
    expect(cli('volume', '0.25').stdout).toBe('ok\n');
    await ha.waitFor((m) => m.topic === `${ROOT}/volume` && m.payload === '0.25', 'volume on MQTT');
    const turn = nextTurn('say');
    await rig.daemon.control('say quietly now');
    expect(await turn).toMatchObject({ outcome: 'complete' });
    const reply = rig.lastReply();
    expect(rig.heardOf(reply)).toBe(0);
    expect(rig.heardOf(scaleVolume(reply, 0.25))).toBeGreaterThan(1_100);
    await rig.daemon.control('volume 1');
  });

  it('mute on stops the appends of a press; talk from MQTT makes a turn released by the end of speech', async () => {
    await ha.publish(`${ROOT}/command/mute`, 'on');
    await ha.waitFor((m) => m.topic === `${ROOT}/mute` && m.payload === 'on', 'mute on MQTT');
    const before = rig.sim.framesOf('input_audio_buffer.append').length;
    const muted = await rig.turn(testPcm(500, 4), 600);
    expect(muted).toMatchObject({ mode: 'manual', outcome: 'tap' });
    expect(rig.sim.framesOf('input_audio_buffer.append').length).toBe(before);
    expect(cli('mute', 'off').stdout).toBe('ok\n');

    const from = rig.sim.framesOf('input_audio_buffer.append').length;
    const turn = nextTurn('manual');
    await ha.publish(`${ROOT}/command/talk`, 'PRESS');
    void rig.alsa.mic.feed(testPcm(700, 5));
    const record = await turn;
    expect(record).toMatchObject({ outcome: 'complete' });
    // Released by the silence after the speech, not at a fixed time.
    expect(record.heldMs).toBeGreaterThan(1_000);
    expect(record.heldMs).toBeLessThan(3_500);
    expect(decodeAppends(rig.sim.framesOf('input_audio_buffer.append').slice(from)).length).toBeGreaterThan(700 * BYTES_PER_MS);
  });

  it('a timer set by voice is published on the timers topic', async () => {
    const from = ha.seen.length;
    rig.sim.queueToolCalls([{ name: 'set_timer', arguments: { name: 'bread', seconds: 600 } }]);
    expect(await rig.turn(testPcm(400, 3), 500)).toMatchObject({ outcome: 'complete' });
    const m = await ha.waitFor((s) => s.topic === `${ROOT}/timers` && s.payload.includes('bread'), 'the timers topic', from);
    expect(JSON.parse(m.payload)).toEqual([expect.objectContaining({ name: 'bread', kind: 'timer' })]);
  });

  it('bad payloads: a clear error on the error topic and in the log, nothing changes', async () => {
    const from = ha.seen.length;
    const appends = rig.sim.framesOf('response.create').length;
    await ha.publish(`${ROOT}/command/volume`, 'loud');
    await ha.publish(`${ROOT}/command`, 'dance now');
    await ha.publish(`${ROOT}/command/say`, 'x'.repeat(1_001));
    const errors: LogRecord[] = [];
    for (const code of ['COMMAND_BAD_VALUE', 'COMMAND_UNKNOWN', 'COMMAND_TOO_LONG']) {
      const m = await ha.waitFor((s) => s.topic === `${ROOT}/error` && JSON.parse(s.payload).code === code, code, from);
      expect(JSON.parse(m.payload).message).toMatch(/command|volume|say/);
      errors.push(await rig.daemon.waitFor((r) => r.msg.startsWith('refused an MQTT command') && JSON.stringify(r).includes(code), code));
    }
    expect(errors).toHaveLength(3);
    // The profile switch of the control socket, reached from MQTT: an unknown profile is refused there too.
    await ha.publish(`${ROOT}/command`, 'profile nobody');
    const refused = await ha.waitFor(
      (s) => s.topic === `${ROOT}/error` && JSON.parse(s.payload).code === 'PROFILE_UNKNOWN',
      'PROFILE_UNKNOWN',
      from,
    );
    expect(JSON.parse(refused.payload).message).toMatch(/there is no profile "nobody"; the profile "main" stays active/);
    expect(latest(`${ROOT}/volume`)).toBe('1');
    expect(rig.sim.framesOf('response.create').length).toBe(appends);
    const r = cli('volume', '7');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/7 is above 1/);
  });

  it('hooks ran on the state changes; a failing and a hanging hook are logged and the turns went on', async () => {
    await until(() => existsSync(hookFile) && readFileSync(hookFile, 'utf8').includes('>listening'), 'the listening hook');
    const lines = readFileSync(hookFile, 'utf8').trim().split('\n');
    expect(lines).toContain('idle>listening');
    expect(lines.some((l) => l.endsWith('>idle'))).toBe(true);
    expect(rig.daemon.find((r) => /hook for thinking failed \(exit 3\)/.test(r.msg))[0]).toMatchObject({ stderr: 'no such mixer' });
    expect(rig.daemon.find((r) => /hook for speaking was killed after 300 ms/.test(r.msg)).length).toBeGreaterThan(0);
  });

  it('a broker restart in the middle of an answer: the turn completes, state and availability come back', async () => {
    const turn = nextTurn('say');
    const seen = ha.seen.length;
    await rig.daemon.control('say the broker goes away now');
    await waitState('speaking', seen);
    await ha.close();
    await broker.stop();
    expect(await turn).toMatchObject({ outcome: 'complete' });
    await broker.start();
    ha = await Observer.connect(broker, { username: 'ha', password: 'ha-pass-5678' }, [`${ROOT}/#`]);
    // Retained values as the daemon re-published them after reconnecting.
    await ha.waitFor((m) => m.topic === `${ROOT}/availability` && m.payload === 'online', 'online again', 0, 20_000);
    await ha.waitFor((m) => m.topic === `${ROOT}/state` && m.payload === 'idle', 'state again', 0, 20_000);
    await ha.waitFor((m) => m.topic === `${ROOT}/turn` && JSON.parse(m.payload).outcome === 'complete', 'last turn again', 0, 20_000);
  });

  it('killed (SIGKILL): the broker publishes the Last Will, offline', async () => {
    const from = ha.seen.length;
    rig.daemon.child.kill('SIGKILL');
    await rig.daemon.exited;
    await ha.waitFor((m) => m.topic === `${ROOT}/availability` && m.payload === 'offline', 'the Last Will', from);
    await sleep(50);
  });

  it('mqtt-forget removes the device from Home Assistant: its retained discovery config is gone', async () => {
    const DISCOVERY = 'homeassistant/device/parlour/config';
    const before = await Observer.connect(broker, { username: 'ha', password: 'ha-pass-5678' }, [DISCOVERY]);
    await before.waitFor((m) => m.topic === DISCOVERY && m.retain && m.payload !== '', 'the retained discovery config');
    await before.close();
    const r = spawnSync(process.execPath, [CLI, 'mqtt-forget', '--config', rig.configPath], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^removed parlour from Home Assistant \(\d+ retained topics emptied on mqtt:/);
    expect(r.status).toBe(0);
    const after = await Observer.connect(broker, { username: 'ha', password: 'ha-pass-5678' }, [DISCOVERY, `${ROOT}/state`]);
    await sleep(300);
    expect(
      after.seen.filter((m) => m.payload !== ''),
      'nothing retained for the device',
    ).toEqual([]);
    await after.close();
  });
});
