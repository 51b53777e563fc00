/**
 * Home and fleet benchmark, through a real Mosquitto and the project's simulator.
 *
 *   npx tsx bench/home.ts [--changes N] [--seconds N] [--mints N]
 *
 * 1. State change -> MQTT message latency: bridge.publishState() until an observer client on
 *    the same broker has the message, p50/p95; the floor is a bare MQTT.js client publishing
 *    the same payloads in the same run.
 * 2. What the bridge adds to a process: CPU and RSS of a child process running the bridge
 *    (connected, 10 state changes a second) against a child that only idles, same duration.
 * 3. Mint server for 20 devices: each device mints N times in a row, all 20 at once; latency
 *    p50/p95 and throughput, against the same requests sent straight to the upstream.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { memoryLogger } from '../src/core/logger.js';
import { MintServer } from '../src/fleet/mint-server.js';
import { generateToken, tokenLine } from '../src/fleet/tokens.js';
import { MqttBridge, type DeviceState } from '../src/home/mqtt-bridge.js';
import type { MqttSettings } from '../src/home/mqtt-settings.js';
import { RealtimeSimulator } from '../src/simulator/index.js';
import { startBroker } from '../test/support/mosquitto.js';

const { values } = parseArgs({
  options: {
    changes: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
    mints: { type: 'string', default: '25' },
    child: { type: 'string' },
    url: { type: 'string' },
  },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noop = () => undefined;
const COMMANDS = { say: noop, ask: noop, stop: noop, setVolume: noop, setMute: noop, talk: noop, switchProfile: noop, forget: noop };
const STATES: DeviceState[] = ['listening', 'thinking', 'speaking', 'idle'];

function settings(url: string, nodeId: string): MqttSettings {
  return {
    url,
    nodeId,
    username: undefined,
    password: undefined,
    ca: undefined,
    baseTopic: 'bench',
    discovery: true,
    discoveryPrefix: 'homeassistant',
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const f = (n: number, d = 2) => n.toFixed(d);

// ---- child mode: a process that idles, or runs the bridge, then reports its cost ----------
if (values.child) {
  const seconds = Number(values.seconds);
  let bridge: MqttBridge | undefined;
  if (values.child === 'bridge') {
    bridge = new MqttBridge({ settings: settings(values.url!, 'child'), commands: COMMANDS, logger: memoryLogger('warn') });
    const up = bridge.next('connected', 10_000);
    await bridge.start();
    await up;
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  const timer = bridge ? setInterval(() => bridge.publishState(STATES[i++ % 4]!), 100) : setInterval(noop, 1_000);
  await sleep(seconds * 1000);
  clearInterval(timer);
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  process.stdout.write(
    `${JSON.stringify({ cpuMs: (cpu.user + cpu.system) / 1000, wallMs: wall, rssMb: process.memoryUsage().rss / 1048576 })}\n`,
  );
  await bridge?.stop();
  process.exit(0);
}

async function childCost(kind: 'baseline' | 'bridge', url: string): Promise<{ cpuMs: number; wallMs: number; rssMb: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, '--child', kind, '--url', url, '--seconds', values.seconds!],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  return JSON.parse(out.trim()) as { cpuMs: number; wallMs: number; rssMb: number };
}

async function latencyMqtt(url: string): Promise<void> {
  const n = Number(values.changes);
  const observer = await connectAsync(url, { reconnectPeriod: 0 }, false);
  await observer.subscribeAsync(['bench/lat/state', 'bench/raw/state'], { qos: 0 });
  let wake: ((topic: string) => void) | undefined;
  observer.on('message', (topic) => wake?.(topic));
  const arrive = (topic: string) => new Promise<void>((resolve) => (wake = (t) => t === topic && resolve()));

  const bridge = new MqttBridge({ settings: settings(url, 'lat'), commands: COMMANDS, logger: memoryLogger('warn') });
  const up = bridge.next('connected', 10_000);
  await bridge.start();
  await up;
  const raw: MqttClient = await connectAsync(url, { reconnectPeriod: 0 }, false);
  await sleep(200); // retained messages of the connect go by first

  const bridgeMs: number[] = [];
  const rawMs: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = STATES[i % 4]!;
    let got = arrive('bench/lat/state');
    let t0 = performance.now();
    bridge.publishState(s);
    await got;
    bridgeMs.push(performance.now() - t0);
    got = arrive('bench/raw/state');
    t0 = performance.now();
    raw.publish('bench/raw/state', s, { retain: true, qos: 0 });
    await got;
    rawMs.push(performance.now() - t0);
  }
  await bridge.stop();
  await raw.endAsync(true);
  await observer.endAsync(true);
  console.log(`\n1. state change -> MQTT message at an observer (${n} changes, real Mosquitto on 127.0.0.1)`);
  console.log(`   bridge.publishState   p50 ${f(pct(bridgeMs, 50))} ms  p95 ${f(pct(bridgeMs, 95))} ms`);
  console.log(`   bare MQTT.js publish  p50 ${f(pct(rawMs, 50))} ms  p95 ${f(pct(rawMs, 95))} ms   (floor)`);
  console.log(`   ratio bridge/floor    p50 ${f(pct(bridgeMs, 50) / pct(rawMs, 50))}x  p95 ${f(pct(bridgeMs, 95) / pct(rawMs, 95))}x`);
}

async function bridgeCost(url: string): Promise<void> {
  const base = await childCost('baseline', url);
  const with_ = await childCost('bridge', url);
  const perMin = (c: { cpuMs: number; wallMs: number }) => (c.cpuMs / c.wallMs) * 60_000;
  console.log(`\n2. what the bridge adds to a process (${values.seconds} s, 10 state changes/s, connected)`);
  console.log(`   idle process      CPU ${f(perMin(base), 0)} ms/min  RSS ${f(base.rssMb, 1)} MB`);
  console.log(`   with the bridge   CPU ${f(perMin(with_), 0)} ms/min  RSS ${f(with_.rssMb, 1)} MB`);
  console.log(
    `   added             CPU ${f(perMin(with_) - perMin(base), 0)} ms/min (${f(((perMin(with_) - perMin(base)) / 60_000) * 100, 3)}% of a core)  RSS +${f(with_.rssMb - base.rssMb, 1)} MB`,
  );
}

async function mintFleet(): Promise<void> {
  const KEY = 'bench-key-0123456789abcdefghijklmnop';
  const perDevice = Number(values.mints);
  const sim = new RealtimeSimulator({ apiKey: KEY, logger: memoryLogger('warn') });
  await sim.start();
  const dir = mkdtempSync(join(tmpdir(), 'ptt-bench-mint-'));
  const names = Array.from({ length: 20 }, (_, i) => `device-${i}`);
  const tokens = names.map(() => generateToken());
  writeFileSync(join(dir, 'tokens'), `${names.map((n, i) => tokenLine(n, tokens[i]!)).join('\n')}\n`);
  const server = new MintServer({
    apiKey: KEY,
    upstream: sim.httpUrl,
    tokensFile: join(dir, 'tokens'),
    logger: memoryLogger('warn'),
    watchTokens: false,
    rate: { perMinute: 1e6, burst: 1e6 },
  });
  await server.start();
  const body = JSON.stringify({ session: { type: 'realtime', instructions: 'bench' } });
  async function run(url: string, auth: (i: number) => string): Promise<{ ms: number[]; wall: number }> {
    const ms: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      names.map(async (_, i) => {
        for (let k = 0; k < perDevice; k++) {
          const s = performance.now();
          const r = await fetch(url, {
            method: 'POST',
            headers: { Authorization: `Bearer ${auth(i)}`, 'Content-Type': 'application/json' },
            body,
          });
          await r.text();
          if (r.status !== 200) throw new Error(`mint failed: HTTP ${r.status}`);
          ms.push(performance.now() - s);
        }
      }),
    );
    return { ms, wall: performance.now() - t0 };
  }
  const direct = await run(`${sim.httpUrl}/realtime/client_secrets`, () => KEY);
  const via = await run(server.url, (i) => tokens[i]!);
  await server.stop();
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
  const total = names.length * perDevice;
  console.log(`\n3. mint server, 20 devices at once, ${perDevice} mints each (${total} requests; upstream = the simulator)`);
  console.log(
    `   via the mint server   p50 ${f(pct(via.ms, 50))} ms  p95 ${f(pct(via.ms, 95))} ms  ${f(total / (via.wall / 1000), 0)} mints/s`,
  );
  console.log(
    `   straight to upstream  p50 ${f(pct(direct.ms, 50))} ms  p95 ${f(pct(direct.ms, 95))} ms  ${f(total / (direct.wall / 1000), 0)} mints/s   (floor)`,
  );
  console.log(`   ratio via/floor       p50 ${f(pct(via.ms, 50) / pct(direct.ms, 50))}x  throughput ${f(direct.wall / via.wall)}x`);
}

const broker = await startBroker();
try {
  console.log(`bench/home.ts  node ${process.version}  mosquitto at ${broker.url}`);
  await latencyMqtt(broker.url);
  await bridgeCost(broker.url);
  await mintFleet();
} finally {
  await broker.close();
}
