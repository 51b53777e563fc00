/**
 * Idle cost: CPU per minute of the real daemon against the floor, in one run, on the test
 * sandbox's ALSA `file` devices (real libasound, no sound card):
 *
 *   npx tsx bench/idle.ts [--seconds 15] [--rounds 1] [--settle 20] [--warmup 30] [--hold 1000] [--reply 1500]
 *                         [--append-ms 100] [--cpu-prof DIR] [--node-options "..."] [--peer OTHER/dist/cli.js]
 *                         [--idle-only | --turns-only]   (npm run bench:idle)
 *
 * The floor and the daemon run side by side (each on its own sandbox devices) and are read at
 * the same moments, so a machine that speeds up or slows down does so for both.
 * - idle: the daemon (`dist/cli.js run`, session verified, nobody talking) against the floor
 *   `arecord | aplay` moving the same bytes on equal devices (capture at real time, played);
 * - turns: the daemon doing push-to-talk turns back to back (after --warmup seconds of them)
 *   against the floor plus a bare `ws` client sending the same audio in the same appends
 *   (--append-ms, also the daemon's audio.input.batchMs; --floor-append-ms for another size) to
 *   the same simulator: append at real time, commit, ask, wait for the answer and its playing time.
 * CPU is user+system of the whole process tree (the daemon and its aplay child; the floor's
 * arecord and aplay; the ws client), read from /proc/<pid>/stat: each live process's own time
 * plus what its reaped children used, in 10 ms ticks. The microphone feeder and the simulator
 * run in this process and count for neither side. `--cpu-prof DIR` runs the daemon with
 * `node --cpu-prof` (the profile covers the measured windows and is written when it exits);
 * `--node-options` sets NODE_OPTIONS for the daemon (a preloaded GC observer, say). `--peer` runs
 * another build (an earlier commit's worktree) beside it on its own devices, doing the same turns
 * in the same windows: its ratio to the daemon is an A/B that this machine's drift cannot skew.
 * Build first: `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { parseConfig } from '../src/config/index.js';
import { DaemonProcess } from '../src/demo/daemon-process.js';
import { RealtimeSimulator } from '../src/simulator/index.js';
import { type AlsaSandbox, createAlsaSandbox, testPcm } from '../test/support/alsa.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    hold: { type: 'string', default: '1000' },
    reply: { type: 'string', default: '1500' },
    'cpu-prof': { type: 'string' },
    'idle-only': { type: 'boolean', default: false },
    'turns-only': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '30' },
    settle: { type: 'string', default: '20' },
    'append-ms': { type: 'string', default: '100' },
    'floor-append-ms': { type: 'string' },
    'node-options': { type: 'string' },
    peer: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const HOLD_MS = Number(values.hold);
const REPLY_MS = Number(values.reply);
const ROUNDS = Number(values.rounds);
const WARMUP_S = Number(values.warmup);
/** Seconds after the first verification before anything is measured. */
const SETTLE_S = Number(values.settle);
/** The daemon's audio.input.batchMs, and the bare client's append size: the same audio in the same appends. */
const APPEND_MS = Number(values['append-ms']);
/** A floor client that appends more often than the daemon (20: this benchmark's floor before the daemon batched). */
const FLOOR_APPEND_MS = Number(values['floor-append-ms'] ?? APPEND_MS);
/** The daemon's audio.input.preRollMs (the schema's default, as the bench runs it): the floor client sends it too. */
const PRE_ROLL_MS = (() => {
  const parsed = parseConfig('', {});
  if (!parsed.ok) throw new Error('the default config does not validate');
  return parsed.config.audio.input.preRollMs;
})();
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

/** CPU ms per command of the floor's processes (arecord, aplay, the ws client), minus an earlier reading. */
function floorParts(pids: number[], before?: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  const ppid = parents();
  for (const root of pids) {
    for (const pid of [root, ...[...ppid].filter(([, p]) => p === root).map(([c]) => c)]) {
      const stat = statFields(`/proc/${pid}/stat`);
      if (!stat) continue;
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm === 'sh') continue;
      const name = comm === 'node' ? 'ws client' : comm;
      out.set(name, (out.get(name) ?? 0) + ((Number(stat[11]) + Number(stat[12])) * 1000) / CLK_TCK);
    }
  }
  return before ? diff(out, before) : out;
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
}

/** arecord | aplay on the sandbox devices: the bytes the daemon's capture and speaker move. */
function startFloor(env: NodeJS.ProcessEnv, capture: string, playback: string): ChildProcess {
  const q = (args: string[]) => args.map((a) => `'${a}'`).join(' ');
  const pipeline = `arecord -q -D ${q([capture])} ${q(PCM_ARGS)} | aplay -q -D ${q([playback])} ${q(PCM_ARGS)} --buffer-time=60000`;
  // The shell waits on a pipe from this process and kills its group when the pipe closes: a bench
  // that dies any way at all (even SIGKILL) takes its floor with it. An orphaned floor whose mic
  // feeder is gone spins and fills its sandbox's output file (80 GB of /tmp in minutes, once).
  const cmd = `${pipeline} & read -r _; kill 0`;
  return spawn('sh', ['-c', cmd], { env, stdio: ['pipe', 'ignore', 'ignore'], detached: true });
}

/**
 * The bare client, sending the audio the daemon sends in the appends it sends them in: at each
 * turn the pre-roll in one append (the daemon's audio.input.preRollMs), then HOLD_MS at real
 * time, commit, ask; waits for the answer and its playing time.
 */
const WS_CLIENT = `
const WebSocket = require('ws');
const [url, key, holdMs, replyMs, appendMs, preRollMs] = process.argv.slice(1).map((a, i) => (i < 2 ? a : Number(a)));
const pcm = (ms) => { const b = Buffer.alloc(48 * ms); for (let i = 0; i < b.length / 2; i++) b.writeInt16LE(((i * 37 + 7 * 1013) % 20000) - 10000, i * 2); return b; };
const frame = pcm(appendMs);
const preRoll = pcm(preRollMs);
const ws = new WebSocket(url, { headers: { Authorization: 'Bearer ' + key } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const append = (b) => ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: b.toString('base64') }));
let done;
ws.on('message', (data) => { const e = JSON.parse(data); if (e.type === 'response.done' && done) done(); });
ws.on('open', async () => {
  ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: null } } } }));
  for (;;) {
    if (preRoll.length > 0) append(preRoll);
    const t0 = performance.now();
    for (let n = 0; n < holdMs / appendMs; n++) {
      await sleep(t0 + (n + 1) * appendMs - performance.now()); // each append carries what was just spoken
      append(frame);
    }
    const answered = new Promise((r) => (done = r));
    ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
    ws.send(JSON.stringify({ type: 'response.create' }));
    await answered;
    await sleep(replyMs);
  }
});`;

/** Starts the inspector's CPU profiler in the daemon and writes the profile when it exits. */
function cpuProfPreload(file: string): string {
  return `
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
session.post('Profiler.setSamplingInterval', { interval: 250 });
session.post('Profiler.enable');
// The bench sends SIGUSR2 when its measured windows start: start-up and warm-up stay out of the profile.
process.once('SIGUSR2', () => session.post('Profiler.start'));
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

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(1)}x` : 'n/a';
}

/** A daemon under measurement: the build in this checkout, or a peer build (--peer). */
interface Contender {
  label: string;
  daemon: DaemonProcess;
  pid: number;
  socketPath: string;
  alsa: AlsaSandbox;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ptt-idle-'));
  // Own sandboxes: the floor and each daemon run at the same time, each on its own devices, so
  // all see the same machine in every window (this machine's speed drifts from minute to minute).
  const alsaFloor = await createAlsaSandbox({ periodMs: 20, keepWritten: false });
  const sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: REPLY_MS, deltaMs: 100, maxRecordedFrames: 1000 });
  const envFor = (alsa: { env: Record<string, string> }): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...alsa.env };
    delete env.OPENAI_API_KEY;
    return env;
  };
  const contenders: Contender[] = [];
  const sandboxes: AlsaSandbox[] = [alsaFloor];
  const children: ChildProcess[] = [];
  // Interrupted (Ctrl-C, SIGTERM): the ws client's detached group and the daemons must not outlive the bench.
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const c of children) killQuietly(-c.pid!);
    for (const c of contenders) killQuietly(c.pid);
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const profDir = values['cpu-prof'];
  writeFileSync(join(dir, 'key'), KEY);
  chmodSync(join(dir, 'key'), 0o600);

  const startContender = async (label: string, entry: 'dist' | { cli: string }, nodeOptions: string[]): Promise<Contender> => {
    const alsa = await createAlsaSandbox({ periodMs: 20, keepWritten: false });
    sandboxes.push(alsa);
    alsa.mic.start();
    const home = join(dir, label);
    mkdirSync(home);
    const configPath = join(home, 'config.yaml');
    const socketPath = join(home, 'control.sock');
    writeFileSync(
      configPath,
      stringify({
        realtime: { url: sim.url, apiKeyFile: join(dir, 'key') },
        audio: { input: { device: alsa.captureDevice, batchMs: APPEND_MS }, output: { device: alsa.playbackDevice } },
        gpio: { backend: 'virtual' },
        control: { socket: socketPath },
        // As installed: the state directory is not the config's (its watcher would wake at every line).
        log: { level: 'info', format: 'json', transcriptFile: join(home, 'state', 'transcripts.jsonl') },
      }),
    );
    const env = envFor(alsa);
    if (nodeOptions.length > 0) env.NODE_OPTIONS = nodeOptions.join(' ');
    const daemon = new DaemonProcess({ configPath, socketPath, env, entry });
    const contender = { label, daemon, pid: daemon.child.pid!, socketPath, alsa };
    contenders.push(contender);
    await daemon.waitForControl(20_000);
    await daemon.waitFor((r) => r.msg === 'profile verified', 'the first verification', 10_000);
    return contender;
  };

  try {
    alsaFloor.mic.start();
    await sim.start();
    console.log(
      `idle bench: ${ROUNDS} x ${SECONDS} s per measurement, floor and daemon${values.peer ? ' and peer' : ''} side by side; hold ${HOLD_MS} ms + pre-roll ${PRE_ROLL_MS} ms, reply ${REPLY_MS} ms, appends of ${APPEND_MS} ms (floor client ${FLOOR_APPEND_MS} ms), node ${process.version}`,
    );
    const floor = startFloor(envFor(alsaFloor), alsaFloor.captureDevice, alsaFloor.playbackDevice);
    children.push(floor);

    const nodeOptions = values['node-options'] ? [values['node-options']] : [];
    if (profDir) {
      // `--cpu-prof` is refused in NODE_OPTIONS; a preloaded module runs the same V8 profiler.
      mkdirSync(profDir, { recursive: true });
      const preload = join(dir, 'cpu-prof.mjs');
      writeFileSync(preload, cpuProfPreload(resolve(profDir, `daemon-${Date.now()}.cpuprofile`)));
      nodeOptions.push(`--import=${preload}`);
    }
    await startContender('daemon', 'dist', nodeOptions);
    if (values.peer) await startContender('peer', { cli: resolve(values.peer) }, []);
    // Start-up's one-off work is not idle cost: compiling, first allocations, and the full GC that
    // V8's memory reducer runs about 15 s after start.
    await sleep(SETTLE_S * 1000);

    const fmt = (s: number) => `${s.toFixed(2)} s`;
    const byPart = (m: Map<string, number>, wallS: number) =>
      [...m]
        .filter(([, ms]) => ms > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([k, ms]) => `${k} ${((ms / 1000) * (60 / wallS)).toFixed(2)} s`)
        .join(', ');
    /** ROUNDS windows of SECONDS, every side read at the same moments; prints each and the total. */
    const compare = async (label: string, floorPids: () => number[]): Promise<void> => {
      const floorCpu = () => floorPids().reduce((sum, p) => sum + treeCpuMs(p), 0);
      const used = contenders.map(() => 0);
      let floorMs = 0;
      let wallMs = 0;
      const parts0 = contenders.map((c) => breakdown(c.pid));
      const floor0 = floorParts(floorPids());
      if (profDir) process.kill(contenders[0]!.pid, 'SIGUSR2');
      for (let round = 1; round <= ROUNDS; round++) {
        const c0 = contenders.map((c) => treeCpuMs(c.pid));
        const f0 = floorCpu();
        const t0 = performance.now();
        await sleep(SECONDS * 1000);
        const c = contenders.map((x, i) => treeCpuMs(x.pid) - c0[i]!);
        const f = floorCpu() - f0;
        const w = performance.now() - t0;
        c.forEach((ms, i) => (used[i]! += ms));
        floorMs += f;
        wallMs += w;
        const perMin = (ms: number) => ms / 1000 / (w / 60_000);
        if (ROUNDS > 1)
          console.log(
            `    ${label} window ${round}: ${contenders.map((x, i) => `${x.label} ${fmt(perMin(c[i]!))}  `).join('')}floor ${fmt(perMin(f))}  ratio ${ratio(c[0]!, f)}${c.length > 1 ? `  daemon/peer ${ratio(c[0]!, c[1]!)}` : ''}`,
          );
      }
      const perMin = (ms: number) => ms / 1000 / (wallMs / 60_000);
      const floorName = label === 'idle' ? 'arecord | aplay' : 'arecord | aplay + ws client';
      for (const [i, x] of contenders.entries())
        console.log(
          `  ${label}: ${x.label} ${fmt(perMin(used[i]!))}  floor (${floorName}) ${fmt(perMin(floorMs))}  ratio ${ratio(used[i]!, floorMs)}`,
        );
      if (contenders.length > 1) console.log(`  ${label}: daemon/peer ${ratio(used[0]!, used[1]!)}`);
      for (const [i, x] of contenders.entries())
        console.log(`         ${x.label} by part: ${byPart(diff(breakdown(x.pid), parts0[i]!), wallMs / 1000) || 'nothing measurable'}`);
      console.log(`         floor by part: ${byPart(floorParts(floorPids(), floor0), wallMs / 1000)}`);
    };

    console.log('CPU per minute (user+sys, whole process tree, 10 ms ticks):');
    if (!values['turns-only']) await compare('idle', () => [floor.pid!]);

    if (!values['idle-only']) {
      const client = spawn(
        process.execPath,
        ['-e', WS_CLIENT, sim.url, KEY, String(HOLD_MS), String(REPLY_MS), String(FLOOR_APPEND_MS), String(PRE_ROLL_MS)],
        {
          env: envFor(alsaFloor),
          stdio: 'ignore',
          detached: true,
          cwd: resolve(import.meta.dirname, '..'),
        },
      );
      children.push(client);
      let talking = true;
      const speech = testPcm(HOLD_MS, 7);
      const turns = contenders.map(() => 0);
      const loops = contenders.map(async (c, i) => {
        // The button as on a Pi: one long-lived line of events (gpiomon's pipe), not a connection per press.
        const button = connect(c.socketPath);
        const answers = createInterface({ input: button })[Symbol.asyncIterator]();
        const control = async (cmd: string) => {
          button.write(`${cmd}\n`);
          await answers.next();
        };
        while (talking) {
          const next = c.daemon.nextTurn(20_000);
          await control('press');
          void c.alsa.mic.feed(speech);
          await sleep(HOLD_MS);
          await control('release');
          await next;
          turns[i]!++;
        }
        button.end();
      });
      // Both sides' code gets hot, and start-up's one-off work is done (V8's memory reducer runs a
      // full GC about 15 s after start): a daemon runs for days, the steady state is what it costs.
      await sleep(WARMUP_S * 1000);
      const before = [...turns];
      await compare('turns', () => [floor.pid!, client.pid!]);
      console.log(`         turns measured: ${contenders.map((x, i) => `${x.label} ${turns[i]! - before[i]!}`).join(', ')}`);
      talking = false;
      await Promise.all(loops);
    }
    for (const c of contenders.splice(0)) {
      const exit = await c.daemon.stop('SIGTERM');
      console.log(`${c.label} exit on SIGTERM: code ${exit.code} in ${exit.ms} ms`);
    }
    if (profDir) console.log(`CPU profile in ${profDir}`);
  } finally {
    for (const c of contenders) await c.daemon.stop('SIGKILL');
    for (const c of children) await stopGroup(c);
    await sim.stop();
    for (const a of sandboxes) await a.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
