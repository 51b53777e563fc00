/**
 * A fleet end to end: three real daemon processes that hold no API key, one Mosquitto and one
 * mint server (the only holder of the key) in front of the simulator. Each device mints its
 * client secret through the mint server with its own token; each command reaches only its
 * device; a revoked token stops that device at its next session; neither the key nor a device
 * token shows in any log, argv or the player's environment.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { MintServer } from '../../src/fleet/mint-server.js';
import { generateToken, tokenLine } from '../../src/fleet/tokens.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';
import { type DaemonRig, startDaemonRig, until } from '../support/daemon-rig.js';
import { type Broker, startBroker } from '../support/mosquitto.js';
import { Observer } from '../home/mqtt-helpers.js';

const KEY = 'sk-owner-only-0123456789abcdefghijkl';
const ROOMS = ['kitchen', 'hall', 'study'] as const;
type Room = (typeof ROOMS)[number];
const tokens = Object.fromEntries(ROOMS.map((r) => [r, generateToken()])) as Record<Room, string>;

let dir: string;
let sim: RealtimeSimulator;
let mint: MintServer;
const mintLog = memoryLogger();
let broker: Broker;
let ha: Observer;
const rigs = {} as Record<Room, DaemonRig>;

const writeTokens = (rooms: readonly Room[]) =>
  writeFileSync(join(dir, 'tokens'), `${rooms.map((r) => tokenLine(r, tokens[r])).join('\n')}\n`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-fleet-'));
  sim = new RealtimeSimulator({ apiKey: KEY, replyMs: 600, deltaMs: 100, logger: memoryLogger() });
  await sim.start();
  writeTokens(ROOMS);
  mint = new MintServer({ apiKey: KEY, upstream: sim.httpUrl, tokensFile: join(dir, 'tokens'), logger: mintLog, watchTokens: false });
  await mint.start();
  broker = await startBroker();
  ha = await Observer.connect(
    broker,
    {},
    ROOMS.map((r) => `realtime-ptt/${r}/#`),
  );
  // Started one after the other: three ALSA sandboxes and daemons at once load a 2-core machine.
  for (const room of ROOMS) {
    rigs[room] = await startDaemonRig({
      key: KEY,
      noKey: true,
      sharedSimulator: sim,
      config: (at) => {
        writeFileSync(join(at, 'device-token'), `${tokens[room]}\n`);
        return {
          realtime: {
            bootstrap: 'client-secret',
            mintUrl: mint.url,
            deviceTokenFile: join(at, 'device-token'),
            reconnect: { minMs: 100, maxMs: 400 },
          },
          session: { instructions: `You are the ${room} speaker.` },
          mqtt: { url: broker.url, nodeId: room },
        };
      },
    });
  }
}, 90_000);

afterAll(async () => {
  for (const rig of Object.values(rigs)) await rig.stop();
  await ha?.close();
  await broker?.close();
  await mint?.stop();
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a fleet on one broker and one mint server', () => {
  it('every device got its session through the mint server with its own token, holding no key', () => {
    const minted = mintLog
      .records()
      .filter((r) => r.msg === 'client secret minted')
      .map((r) => r.device);
    expect(new Set(minted)).toEqual(new Set(ROOMS));
    for (const room of ROOMS) {
      const d = rigs[room].daemon;
      expect(d.find((r) => r.msg === 'device token found; client secrets come from the mint server')).toHaveLength(1);
      expect(d.find((r) => r.msg === 'API key found')).toHaveLength(0);
    }
    // Every WebSocket was opened with a minted ek_ secret, never the key.
    expect(sim.connections.every((c) => c.clientSecret && c.authMatched)).toBe(true);
  });

  it('each command reaches only its device', async () => {
    const from = Object.fromEntries(ROOMS.map((r) => [r, rigs[r].daemon.records.length])) as Record<Room, number>;
    const turns = ROOMS.map((r) => rigs[r].daemon.waitFor((rec) => rec.msg === 'turn' && rec.mode === 'say', `${r} say`, 20_000, from[r]));
    for (const room of ROOMS) await ha.publish(`realtime-ptt/${room}/command/say`, `dinner is ready in the ${room}`);
    await ha.publish('realtime-ptt/hall/command/volume', '0.5');
    for (const t of turns) expect(await t).toMatchObject({ outcome: 'complete' });
    for (const room of ROOMS) {
      const got = rigs[room].daemon.records
        .slice(from[room])
        .filter((r) => r.msg === 'command from MQTT')
        .map((r) => r.command);
      expect(got).toEqual(room === 'hall' ? [`say dinner is ready in the ${room}`, 'volume 0.5'] : [`say dinner is ready in the ${room}`]);
      // Each device played an answer on its own output device.
      expect(rigs[room].alsa.readOutput().length).toBeGreaterThan(0);
    }
    await ha.waitFor((m) => m.topic === 'realtime-ptt/hall/volume' && m.payload === '0.5', 'hall volume');
    expect(new Set(ha.seen.filter((m) => /^realtime-ptt\/\w+\/volume$/.test(m.topic) && m.payload === '0.5').map((m) => m.topic))).toEqual(
      new Set(['realtime-ptt/hall/volume']),
    );
  });

  it('neither the key nor a device token is in any log, argv or the player environment', () => {
    const secrets = [KEY, ...Object.values(tokens)];
    for (const room of ROOMS) {
      const d = rigs[room].daemon;
      const pid = d.child.pid!;
      const texts = [JSON.stringify(d.records), d.other, readFileSync(`/proc/${pid}/cmdline`, 'utf8')];
      const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
      const aplay = children.filter((c) => readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('aplay'));
      expect(aplay.length).toBeGreaterThan(0);
      for (const child of aplay) texts.push(readFileSync(`/proc/${child}/environ`, 'utf8'), readFileSync(`/proc/${child}/cmdline`, 'utf8'));
      for (const text of texts) for (const secret of secrets) expect(text.includes(secret)).toBe(false);
    }
    const mintText = JSON.stringify(mintLog.records());
    for (const secret of secrets) expect(mintText.includes(secret)).toBe(false);
  });

  it('a revoked token stops that device at its next session; the others come back', async () => {
    writeTokens(['hall', 'study']);
    await mint.reload();
    const from = ha.seen.length;
    // Every session ends (the server's 60-minute cap): each device mints again.
    for (const c of sim.connections) sim.closeConnection(c.index, 1001, 'session expired');
    await ha.waitFor((m) => m.topic === 'realtime-ptt/kitchen/state' && m.payload === 'error', 'kitchen in error', from, 20_000);
    const refused = await rigs.kitchen.daemon.waitFor((r) => r.code === 'DEVICE_TOKEN_REFUSED', 'the refusal in the log');
    expect(String(refused.hint)).toMatch(/ask the owner for a new one/);
    const err = await ha.waitFor((m) => m.topic === 'realtime-ptt/kitchen/error', 'the refusal on MQTT', from);
    expect(JSON.parse(err.payload)).toMatchObject({ code: 'DEVICE_TOKEN_REFUSED' });
    for (const room of ['hall', 'study'] as const) {
      await until(() => rigs[room].daemon.find((r) => r.msg === 'profile verified').length >= 2, `${room} verified again`, 20_000);
    }
    expect(
      ha.seen
        .slice(from)
        .filter((m) => m.topic.endsWith('/error'))
        .map((m) => m.topic),
    ).toEqual(['realtime-ptt/kitchen/error']);
  });
});
