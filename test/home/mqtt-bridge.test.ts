import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { MAX_TEXT_CHARS } from '../../src/home/commands.js';
import { MqttBridge } from '../../src/home/mqtt-bridge.js';
import type { MqttSettings } from '../../src/home/mqtt-settings.js';
import { HOOK_STATES } from '../../src/config/schema.js';
import { VERSION } from '../../src/core/version.js';
import { startBroker, type Broker } from '../support/mosquitto.js';
import { Observer, recordingCommands, settingsFor } from './mqtt-helpers.js';

const USERS = { kitchen: 'kitchen-pass-1234', ha: 'ha-pass-5678' };
const HA = { username: 'ha', password: USERS.ha };

let broker: Broker;
const cleanup: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  broker = await startBroker({ users: USERS });
});
afterAll(async () => broker.close());
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function observer(topics?: string[]): Promise<Observer> {
  const o = await Observer.connect(broker, HA, topics);
  cleanup.push(() => o.close());
  return o;
}

function bridgeOn(over: Partial<MqttSettings> = {}, b: Broker = broker, maxQueued?: number) {
  const commands = recordingCommands();
  const logger = memoryLogger();
  const bridge = new MqttBridge({
    ...(maxQueued ? { maxQueued } : {}),
    settings: settingsFor(b, { username: 'kitchen', password: USERS.kitchen, ...over }),
    commands,
    logger,
    reconnect: { minMs: 50, maxMs: 200 },
    connectTimeoutMs: 3_000,
  });
  cleanup.push(() => bridge.stop());
  return { bridge, commands, logger };
}

async function connected(bridge: MqttBridge): Promise<void> {
  const p = bridge.next('connected', 10_000);
  await bridge.start();
  await p;
}

/** What HA would send for an entity: the payload, or the command template filled with the value. */
function haCommand(component: Record<string, unknown>, value?: string | number): string {
  if (component.p === 'button') return String(component.payload_press ?? 'PRESS');
  if (component.p === 'switch') return String(value === 'ON' ? (component.payload_on ?? 'ON') : (component.payload_off ?? 'OFF'));
  const tpl = component.command_template;
  return typeof tpl === 'string' ? tpl.replace(/\{\{\s*value\s*\}\}/g, String(value)) : String(value);
}

/** The checks Home Assistant's device-discovery schema makes (required keys per platform). */
function checkDiscoverySchema(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const dev = config.dev as Record<string, unknown> | undefined;
  if (!dev || !(Array.isArray(dev.ids) && dev.ids.length)) problems.push('dev.ids is required');
  const o = config.o as Record<string, unknown> | undefined;
  if (!o || typeof o.name !== 'string') problems.push('o.name is required for device discovery');
  const cmps = config.cmps as Record<string, Record<string, unknown>>;
  const ids = new Set<string>();
  for (const [key, c] of Object.entries(cmps)) {
    if (!['sensor', 'button', 'number', 'switch', 'text'].includes(String(c.p)))
      problems.push(`${key}: unexpected platform ${String(c.p)}`);
    if (typeof c.unique_id !== 'string') problems.push(`${key}: unique_id is required in device discovery`);
    else if (ids.has(c.unique_id)) problems.push(`${key}: unique_id repeated`);
    else ids.add(c.unique_id);
    if (c.p === 'sensor' && typeof c.state_topic !== 'string') problems.push(`${key}: sensor needs state_topic`);
    if (c.p === 'sensor' && c.device_class === 'enum' && !Array.isArray(c.options)) problems.push(`${key}: enum sensor needs options`);
    if (c.p !== 'sensor' && typeof c.command_topic !== 'string') problems.push(`${key}: ${String(c.p)} needs command_topic`);
    if (c.p === 'number' && !(Number(c.min) < Number(c.max) && Number(c.step) >= 0.001)) problems.push(`${key}: bad min/max/step`);
    if (c.p === 'text' && !(Number(c.min) >= 0 && Number(c.max) <= 255 && Number(c.min) <= Number(c.max)))
      problems.push(`${key}: text min/max out of 0..255`);
    for (const t of ['state_topic', 'command_topic'])
      if (typeof c[t] === 'string' && /[+#]/.test(c[t] as string)) problems.push(`${key}: ${t} has a wildcard`);
  }
  return problems;
}

describe('MQTT bridge on a real Mosquitto', () => {
  it('announces itself to Home Assistant with a valid device discovery, and every entity works as HA would use it', async () => {
    const ha = await observer(['homeassistant/#', 'realtime-ptt/#']);
    const { bridge, commands } = bridgeOn();
    bridge.publishState('idle');
    await connected(bridge);
    const disc = await ha.waitFor((m) => m.topic === 'homeassistant/device/kitchen/config', 'discovery');
    const config = JSON.parse(disc.payload) as Record<string, unknown>;
    expect(checkDiscoverySchema(config)).toEqual([]);
    expect(config.dev).toEqual({
      ids: ['realtime-ptt_kitchen'],
      name: 'kitchen',
      mf: 'realtime-ptt',
      mdl: 'Push-to-talk voice assistant',
      sw: VERSION,
    });
    expect(config.o).toMatchObject({ name: 'realtime-ptt', sw: VERSION });
    expect(config.availability_topic).toBe('realtime-ptt/kitchen/availability');
    const cmps = config.cmps as Record<string, Record<string, unknown>>;
    expect(Object.fromEntries(Object.entries(cmps).map(([k, c]) => [k, c.p]))).toEqual({
      state: 'sensor',
      last_question: 'sensor',
      last_answer: 'sensor',
      stop: 'button',
      talk: 'button',
      volume: 'number',
      mute: 'switch',
      say: 'text',
    });
    expect(cmps.state!.options).toEqual([...HOOK_STATES]);

    // Availability and the state sensor read what HA reads.
    await ha.waitFor((m) => m.topic === config.availability_topic && m.payload === 'online', 'online');
    await ha.waitFor((m) => m.topic === cmps.state!.state_topic && m.payload === 'idle', 'state idle');
    bridge.publishTranscript('user', 'q'.repeat(400));
    const q = await ha.waitFor((m) => m.topic === cmps.last_question!.state_topic, 'question');
    expect(q.payload.length).toBeLessThanOrEqual(255);

    // Press, slide, switch and type as HA would.
    const press = async (key: string, value?: string | number) =>
      ha.publish(cmps[key]!.command_topic as string, haCommand(cmps[key]!, value));
    await press('stop');
    expect(await commands.next()).toBe('stop');
    await press('talk');
    expect(await commands.next()).toBe('talk');
    await press('volume', 0.35);
    expect(await commands.next()).toBe('volume:0.35');
    await ha.waitFor((m) => m.topic === cmps.volume!.state_topic && m.payload === '0.35', 'volume state');
    await press('mute', 'ON');
    expect(await commands.next()).toBe('mute:true');
    await ha.waitFor((m) => m.topic === cmps.mute!.state_topic && m.payload === cmps.mute!.state_on, 'mute state on');
    await press('mute', 'OFF');
    expect(await commands.next()).toBe('mute:false');
    await press('say', 'the washing machine is done');
    expect(await commands.next()).toBe('say:the washing machine is done');
  });

  it('re-sends discovery when Home Assistant says online on its status topic', async () => {
    const { bridge } = bridgeOn();
    await connected(bridge);
    const ha = await observer(['homeassistant/device/+/config']);
    await ha.waitFor((m) => m.retain, 'the retained discovery');
    const from = ha.seen.length;
    await ha.publish('homeassistant/status', 'online');
    const again = await ha.waitFor((m) => !m.retain, 'a fresh discovery', from);
    expect(JSON.parse(again.payload)).toHaveProperty('cmps.say.p', 'text');
  });

  it('takes every command on the line topic and on per-command topics; bad payloads go to the error topic and change nothing', async () => {
    const ha = await observer(['realtime-ptt/kitchen/error']);
    const { bridge, commands, logger } = bridgeOn();
    await connected(bridge);
    const root = 'realtime-ptt/kitchen';
    for (const line of ['say hello', 'ask what time is it', 'stop', 'volume 0.5', 'mute on', 'talk'])
      await ha.publish(`${root}/command`, line);
    for (const [name, arg] of [
      ['say', 'hi'],
      ['ask', 'why'],
      ['stop', ''],
      ['volume', '1'],
      ['mute', 'off'],
      ['talk', 'PRESS'],
    ] as const) {
      await ha.publish(`${root}/command/${name}`, arg);
    }
    for (let i = 0; i < 12; i++) await commands.next();
    expect(commands.calls).toEqual([
      'say:hello',
      'ask:what time is it',
      'stop',
      'volume:0.5',
      'mute:true',
      'talk',
      'say:hi',
      'ask:why',
      'stop',
      'volume:1',
      'mute:false',
      'talk',
    ]);

    const bad = [
      `${root}/command`,
      'volume loud',
      `${root}/command/volume`,
      '2',
      `${root}/command`,
      'dance',
      `${root}/command/say`,
      'x'.repeat(MAX_TEXT_CHARS + 5),
    ];
    for (let i = 0; i < bad.length; i += 2) await ha.publish(bad[i]!, bad[i + 1]!);
    // A payload far over any command is refused before it is even decoded.
    await ha.publish(`${root}/command`, `say ${'y'.repeat(100_000)}`);
    await ha.waitFor(() => ha.seen.length >= 5, 'five errors');
    const errors = ha.seen.map((m) => JSON.parse(m.payload) as Record<string, unknown>);
    expect(errors.map((e) => e.code)).toEqual([
      'COMMAND_BAD_VALUE',
      'COMMAND_BAD_VALUE',
      'COMMAND_UNKNOWN',
      'COMMAND_TOO_LONG',
      'COMMAND_TOO_LONG',
    ]);
    expect(errors[4]!.message).toBe('command payload is 100004 bytes, over the limit of 16384');
    expect(errors[0]).toMatchObject({ command: 'volume', value: 'loud', allowed: 'volume LEVEL (a number from 0 to 1)' });
    expect(errors[2]).toMatchObject({ message: "unknown command 'dance'" });
    expect(commands.calls).toHaveLength(12);
    expect(logger.records().filter((r) => String(r.msg).startsWith('refused an MQTT command'))).toHaveLength(5);
  });

  it('a handler that fails is reported on the error topic, not thrown', async () => {
    const ha = await observer(['realtime-ptt/kitchen/error']);
    const { bridge, commands } = bridgeOn();
    commands.talk = () => Promise.reject(new Error('the microphone is muted'));
    await connected(bridge);
    await ha.publish('realtime-ptt/kitchen/command', 'talk');
    const e = JSON.parse((await ha.waitFor(() => true, 'error')).payload) as Record<string, unknown>;
    expect(e).toMatchObject({ code: 'COMMAND_FAILED', message: 'the microphone is muted', command: 'talk' });
  });

  it('the Last Will says offline when the process running the bridge is killed', async () => {
    const ha = await observer(['realtime-ptt/lastwill/availability']);
    const settings = settingsFor(broker, { nodeId: 'lastwill', username: 'kitchen', password: USERS.kitchen, discovery: false });
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/home/fixtures/bridge-child.ts', JSON.stringify(settings)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup.push(async () => void child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('connected') && resolve());
      child.once('exit', (code) => reject(new Error(`bridge child exited ${code}`)));
    });
    await ha.waitFor((m) => m.payload === 'online', 'online');
    const from = ha.seen.length;
    child.kill('SIGKILL');
    await ha.waitFor((m) => m.payload === 'offline', 'the Last Will', from);
    // Retained: a client that comes later (HA after a restart) also sees offline.
    const late = await observer(['realtime-ptt/lastwill/availability']);
    expect((await late.waitFor(() => true, 'retained availability')).payload).toBe('offline');
  });

  it('survives a broker restart: publishing never blocks, and state and queued errors are there after the reconnect', async () => {
    const b = await startBroker({ users: USERS });
    cleanup.push(() => b.close());
    const { bridge } = bridgeOn({}, b);
    await connected(bridge);
    bridge.publishState('listening');
    const lost = bridge.next('disconnected', 10_000);
    await b.stop();
    await lost;
    // While the broker is away: every call returns at once and changes what will be published.
    bridge.publishState('thinking');
    bridge.publishTranscript('assistant', 'it is noon');
    bridge.publishProfile({ profile: 'default', model: 'gpt-realtime', voice: 'marin' });
    bridge.publishError(new Error('the session dropped'));
    expect(bridge.connected).toBe(false);
    const back = bridge.next('connected', 15_000);
    await b.start();
    await back;
    const ha = await Observer.connect(b, HA, ['realtime-ptt/#']);
    cleanup.push(() => ha.close());
    // The broker restarted without persistence: these are the re-published values.
    await ha.waitFor((m) => m.topic.endsWith('/state') && m.payload === 'thinking' && m.retain, 'state re-published');
    await ha.waitFor((m) => m.topic.endsWith('/availability') && m.payload === 'online', 'online again');
    await ha.waitFor((m) => m.topic.endsWith('/transcript/assistant') && m.payload === 'it is noon', 'transcript');
    await ha.waitFor((m) => m.topic.endsWith('/profile') && JSON.parse(m.payload).voice === 'marin', 'profile');
  });

  it('errors raised while disconnected are queued (the oldest dropped past the bound) and go out redacted after the reconnect', async () => {
    const ha = await observer(['realtime-ptt/queue/error']);
    const { bridge } = bridgeOn({ nodeId: 'queue' }, broker, 3);
    await connected(bridge);
    // A client that takes over our client id makes the broker drop the bridge's connection;
    // while the bridge knows it is disconnected, errors can only be queued.
    bridge.once('disconnected', () => {
      for (let i = 1; i <= 5; i++) bridge.publishError(new Error(`failure ${i} (key sk-proj-abcdefghijklmnop)`));
    });
    const back = bridge.next('connected', 10_000);
    const imposter = await Observer.connect(broker, { username: 'kitchen', password: USERS.kitchen, clientId: 'realtime-ptt-queue' }, []);
    cleanup.push(() => imposter.close());
    await back;
    await ha.waitFor(() => ha.seen.length >= 3, 'three queued errors');
    expect(ha.seen.map((m) => JSON.parse(m.payload).message)).toEqual([3, 4, 5].map((i) => `failure ${i} (key [redacted])`));
  });

  it('a wrong password is a clear error naming the user, and start() does not wait for it', async () => {
    const { bridge, logger } = bridgeOn({ password: 'wrong-password-000' });
    const failed = bridge.next('error', 10_000);
    await bridge.start();
    expect(bridge.connected).toBe(false);
    const [e] = await failed;
    expect(e.code).toBe('MQTT_AUTH_REFUSED');
    expect(e.message).toMatch(/refused the login of user kitchen/);
    expect(e.hint).toMatch(/mqtt-password/);
    expect(logger.lines.join('\n')).not.toContain('wrong-password-000');
  });

  it('forget() removes the device from Home Assistant (empty retained config)', async () => {
    const { bridge } = bridgeOn({ nodeId: 'gone' });
    await connected(bridge);
    await bridge.forget();
    const late = await observer(['homeassistant/device/gone/config', 'realtime-ptt/gone/#']);
    await new Promise((r) => setTimeout(r, 300));
    // An empty retained payload deletes the retained message: nothing is delivered to a late subscriber.
    expect(late.seen).toEqual([]);
  });
});

describe('MQTT bridge against a broker that never answers', () => {
  it('start() returns at once, and stop() ends the attempt that is still connecting (no socket left)', async () => {
    const { createServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer((s) => {
      s.resume(); // read (and ignore) the CONNECT, so the client's close is seen
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => silent.close(r)));
    const port = (silent.address() as { port: number }).port;
    const { bridge } = bridgeOn({}, { ...broker, url: `mqtt://127.0.0.1:${port}` });
    await bridge.start();
    while (sockets.size === 0) await new Promise((r) => setTimeout(r, 10));
    bridge.publishState('listening');
    await bridge.stop();
    await new Promise((r) => setTimeout(r, 100));
    expect(sockets.size).toBe(0);
  });
});

describe('MQTT bridge over TLS', () => {
  let tls: Broker;
  beforeAll(async () => {
    tls = await startBroker({ users: USERS, tls: true });
  });
  afterAll(async () => tls.close());

  it('connects with the CA file and publishes availability', async () => {
    const { readFileSync } = await import('node:fs');
    const { bridge } = bridgeOn({ ca: readFileSync(tls.caFile!, 'utf8') }, tls);
    await connected(bridge);
    const ha = await Observer.connect(tls, { ...HA, ca: readFileSync(tls.caFile!) }, ['realtime-ptt/kitchen/availability']);
    cleanup.push(() => ha.close());
    expect((await ha.waitFor(() => true, 'availability')).payload).toBe('online');
  });

  it('without the CA the certificate is refused with a TLS error that names the fix', async () => {
    const { bridge } = bridgeOn({}, tls);
    const failed = bridge.next('error', 10_000);
    await bridge.start();
    const [e] = await failed;
    expect(e.code).toBe('MQTT_TLS_FAILED');
    expect(e.hint).toMatch(/mqtt.caFile/);
  });
});

describe('several devices on one broker', () => {
  it('each has its own topics and discovery, and a command reaches only its device', async () => {
    const names = ['kitchen', 'hall', 'office'];
    const devices = names.map((nodeId) => ({ nodeId, ...bridgeOn({ nodeId }) }));
    await Promise.all(devices.map((d) => connected(d.bridge)));
    const ha = await observer(names.map((n) => `homeassistant/device/${n}/config`));
    await ha.waitFor(() => new Set(ha.seen.map((m) => m.topic)).size === 3, 'three discoveries');
    expect(new Set(ha.seen.map((m) => (JSON.parse(m.payload) as { dev: { ids: string[] } }).dev.ids[0]))).toEqual(
      new Set(names.map((n) => `realtime-ptt_${n}`)),
    );
    for (const d of devices) await ha.publish(`realtime-ptt/${d.nodeId}/command`, `say hello ${d.nodeId}`);
    for (const d of devices) expect(await d.commands.next()).toBe(`say:hello ${d.nodeId}`);
    await new Promise((r) => setTimeout(r, 100));
    expect(devices.map((d) => d.commands.calls)).toEqual(names.map((n) => [`say:hello ${n}`]));
  });
});
