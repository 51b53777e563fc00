/**
 * Idle cost: CPU per minute of the real daemon against the floor, in one run, on the test
 * sandbox's ALSA `file` devices (real libasound, no sound card):
 *
 *   npx tsx bench/idle.ts [--seconds 15] [--hold 1000] [--reply 1500] [--cpu-prof DIR] [--idle-only]   (npm run bench:idle)
 *
 * - idle: the daemon (`dist/cli.js run`, session verified, nobody talking) against the floor
 *   `arecord | aplay` moving the same bytes on the same devices (capture at real time, played);
 * - turns: the daemon doing push-to-talk turns back to back against the floor plus a bare `ws`
 *   client sending the same audio to the same simulator (append at real time, commit, answer).
 * CPU is user+system of the whole process tree (the daemon and its aplay child; the floor's
 * arecord and aplay; the ws client), read from /proc/<pid>/stat: each live process's own time
 * plus what its reaped children used, in 10 ms ticks. The microphone feeder and the simulator
 * run in this process and count for neither side. `--cpu-prof DIR` runs the daemon with
 * `node --cpu-prof` (the profile is written when it exits). Build first: `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { DaemonProcess } from '../src/demo/daemon-process.js';
import { RealtimeSimulator } from '../src/simulator/index.js';
import { createAlsaSandbox, testPcm } from '../test/support/alsa.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    hold: { type: 'string', default: '1000' },
    reply: { type: 'string', default: '1500' },
    'cpu-prof': { type: 'string' },
    'idle-only': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const HOLD_MS = Number(values.hold);
const REPLY_MS = Number(values.reply);
const KEY = 'sk-bench-0123456789abcdefghijklmnop';
const CLK_TCK = 100; // Linux USER_HZ
const PCM_ARGS = ['-t', 'raw', '-f', 'S16_LE', '-r', '24000', '-c', '1', '--period-time=20000'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is the state. */
function statFields(path: string): string[] | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // it exited meanwhile
  }
}

/** Parent pid of every live process. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(`/proc/${name}/stat`);
    if (f) out.set(Number(name), Number(f[1]));
  }
  return out;
}

/**
 * CPU milliseconds of a process tree: every live member's utime+stime plus cutime+cstime (the
 * children it has reaped, such as an aplay killed by an interrupt). Descendants only grow, so
 * a difference of two readings is what the tree used in between.
 */
function treeCpuMs(root: number): number {
  const ppid = parents();
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of ppid) {
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let ticks = 0;
  for (const pid of tree) {
    const f = statFields(`/proc/${pid}/stat`);
    if (f) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return (ticks * 1000) / CLK_TCK;
}

/** CPU ms per thread name of one process (main thread, libuv workers, V8 helpers) and per child command. */
function breakdown(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  const add = (k: string, ms: number) => out.set(k, (out.get(k) ?? 0) + ms);
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = statFields(`/proc/${pid}/task/${tid}/stat`);
    if (!f) continue;
    const comm = Number(tid) === pid ? 'main thread' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    add(comm, ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK);
  }
  const own = statFields(`/proc/${pid}/stat`);
  if (own) add('reaped children', ((Number(own[13]) + Number(own[14])) * 1000) / CLK_TCK);
  for (const [child, parent] of parents()) {
    if (parent !== pid) continue;
    const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
    const f = statFields(`/proc/${child}/stat`);
    if (f) add(`child ${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`, ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK);
  }
  return out;
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
}

/** Runs `during` for SECONDS and returns the tree's CPU seconds per minute of wall time. */
async function measure(root: number, during: (until: number) => Promise<void>): Promise<{ perMin: number; wallS: number }> {
  const cpu0 = treeCpuMs(root);
  const t0 = performance.now();
  await during(t0 + SECONDS * 1000);
  const wallMs = performance.now() - t0;
  const cpuMs = treeCpuMs(root) - cpu0;
  return { perMin: cpuMs / 1000 / (wallMs / 60_000), wallS: wallMs / 1000 };
}

const idleFor = async (until: number) => {
  await sleep(until - performance.now());
};

/** arecord | aplay on the sandbox devices: the bytes the daemon's capture and speaker move. */
function startFloor(env: NodeJS.ProcessEnv, capture: string, playback: string): ChildProcess {
  const q = (args: string[]) => args.map((a) => `'${a}'`).join(' ');
  const cmd = `arecord -q -D ${q([capture])} ${q(PCM_ARGS)} | aplay -q -D ${q([playback])} ${q(PCM_ARGS)} --buffer-time=60000`;
  return spawn('sh', ['-c', cmd], { env, stdio: 'ignore', detached: true });
}

/** The bare client: append HOLD_MS at real time in 20 ms frames, commit, ask, wait for the answer and its playing time. */
const WS_CLIENT = `
const WebSocket = require('ws');
const [url, key, holdMs, replyMs] = process.argv.slice(1);
const frame = Buffer.alloc(960); for (let i = 0; i < 480; i++) frame.writeInt16LE(((i * 37 + 7 * 1013) % 20000) - 10000, i * 2);
const ws = new WebSocket(url, { headers: { Authorization: 'Bearer ' + key } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let done;
ws.on('message', (data) => { const e = JSON.parse(data); if (e.type === 'response.done' && done) done(); });
ws.on('open', async () => {
  ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } }));
  for (;;) {
    const t0 = performance.now();
    for (let n = 0; n < holdMs / 20; n++) {
      ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: frame.toString('base64') }));
      await sleep(t0 + (n + 1) * 20 - performance.now());
    }
    const answered = new Promise((r) => (done = r));
    ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
    ws.send(JSON.stringify({ type: 'response.create' }));
    await answered;
    await sleep(Number(replyMs));
  }
});`;

/** Starts the inspector's CPU profiler in the daemon and writes the profile when it exits. */
function cpuProfPreload(file: string): string {
  return `
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
session.post('Profiler.setSamplingInterval', { interval: 1000 });
session.post('Profiler.enable');
session.post('Profiler.start');
process.on('exit', () => {
  // Same-thread inspector sessions answer synchronously, so this runs before the process ends.
  session.post('Profiler.stop', (err, r) => { if (!err) writeFileSync(${JSON.stringify(file)}, JSON.stringify(r.profile)); });
});
`;
}

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      done(); // the group is gone already
    }
  });
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(1)}x` : 'n/a';
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ptt-idle-'));
  const alsa = await createAlsaSandbox({ periodMs: 20 });
  const sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: REPLY_MS, deltaMs: 100, maxRecordedFrames: 1000 });
  const env: NodeJS.ProcessEnv = { ...process.env, ...alsa.env };
  delete env.OPENAI_API_KEY;
  let daemon: DaemonProcess | undefined;
  const children: ChildProcess[] = [];
  try {
    alsa.mic.start();
    await sim.start();
    console.log(`idle bench: ${SECONDS} s per run, hold ${HOLD_MS} ms, reply ${REPLY_MS} ms, node ${process.version}`);

    // ---- the floor ----
    const floor = startFloor(env, alsa.captureDevice, alsa.playbackDevice);
    children.push(floor);
    await sleep(1000);
    const floorIdle = await measure(floor.pid!, idleFor);
    const client = spawn(process.execPath, ['-e', WS_CLIENT, sim.url, KEY, String(HOLD_MS), String(REPLY_MS)], {
      env,
      stdio: 'ignore',
      detached: true,
      cwd: resolve(import.meta.dirname, '..'),
    });
    children.push(client);
    await sleep(1000);
    const floorTurns0 = treeCpuMs(floor.pid!) + treeCpuMs(client.pid!);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const floorTurns = (treeCpuMs(floor.pid!) + treeCpuMs(client.pid!) - floorTurns0) / 1000 / ((performance.now() - t0) / 60_000);
    await stopGroup(client);
    await stopGroup(floor);

    // ---- the daemon ----
    writeFileSync(join(dir, 'key'), KEY);
    chmodSync(join(dir, 'key'), 0o600);
    const configPath = join(dir, 'config.yaml');
    const socketPath = join(dir, 'control.sock');
    writeFileSync(
      configPath,
      stringify({
        realtime: { url: sim.url, apiKeyFile: join(dir, 'key') },
        audio: { input: { device: alsa.captureDevice, periodMs: 20 }, output: { device: alsa.playbackDevice, periodMs: 20, bufferMs: 60 } },
        gpio: { backend: 'virtual' },
        control: { socket: socketPath },
        log: { level: 'info', format: 'json', transcriptFile: join(dir, 'transcripts.jsonl') },
      }),
    );
    const profDir = values['cpu-prof'];
    let daemonEnv = env;
    if (profDir) {
      // `--cpu-prof` is refused in NODE_OPTIONS; a preloaded module runs the same V8 profiler.
      mkdirSync(profDir, { recursive: true });
      const preload = join(dir, 'cpu-prof.mjs');
      writeFileSync(preload, cpuProfPreload(resolve(profDir, `daemon-${Date.now()}.cpuprofile`)));
      daemonEnv = { ...env, NODE_OPTIONS: `--import=${preload}` };
    }
    daemon = new DaemonProcess({ configPath, socketPath, env: daemonEnv });
    await daemon.waitForControl(20_000);
    await daemon.waitFor((r) => r.msg === 'profile verified', 'the first verification', 10_000);
    const pid = daemon.child.pid!;
    await sleep(2000); // start-up work (JIT, first allocations) is not idle cost
    const parts0 = breakdown(pid);
    const daemonIdle = await measure(pid, idleFor);
    const idleParts = diff(breakdown(pid), parts0);

    let turns = 0;
    const d = daemon;
    const speech = testPcm(HOLD_MS, 7);
    const turnParts0 = breakdown(pid);
    const daemonTurns = await measure(pid, async (until) => {
      while (performance.now() < until && !values['idle-only']) {
        const next = d.nextTurn(20_000);
        await d.control('press');
        void alsa.mic.feed(speech);
        await sleep(HOLD_MS);
        await d.control('release');
        await next;
        turns++;
      }
    });
    const turnParts = diff(breakdown(pid), turnParts0);
    const exit = await daemon.stop('SIGTERM');
    daemon = undefined;

    const fmt = (s: number) => `${s.toFixed(2)} s`;
    const byPart = (m: Map<string, number>, wallS: number) =>
      [...m]
        .filter(([, ms]) => ms > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([k, ms]) => `${k} ${((ms / 1000) * (60 / wallS)).toFixed(2)} s`)
        .join(', ');
    const parts = byPart(idleParts, daemonIdle.wallS);
    console.log('CPU per minute (user+sys, whole process tree, 10 ms ticks):');
    console.log(
      `  idle:  daemon ${fmt(daemonIdle.perMin)}  floor (arecord | aplay) ${fmt(floorIdle.perMin)}  ratio ${ratio(daemonIdle.perMin, floorIdle.perMin)}`,
    );
    console.log(`         daemon by part: ${parts || 'nothing measurable'}`);
    if (!values['idle-only'])
      console.log(
        `  turns: daemon ${fmt(daemonTurns.perMin)} (${turns} turns)  floor (arecord | aplay + ws client) ${fmt(floorTurns)}  ratio ${ratio(daemonTurns.perMin, floorTurns)}`,
      );
    if (turns > 0) console.log(`         daemon by part: ${byPart(turnParts, daemonTurns.wallS) || 'nothing measurable'}`);
    console.log(`daemon exit on SIGTERM: code ${exit.code} in ${exit.ms} ms${profDir ? `; CPU profile in ${profDir}` : ''}`);
  } finally {
    if (daemon) await daemon.stop('SIGKILL');
    for (const c of children) await stopGroup(c);
    await sim.stop();
    await alsa.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
