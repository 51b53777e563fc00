/**
 * Realtime session benchmark against the project's simulator (figures only, no assertions):
 *
 *   npx tsx bench/session.ts [--runs 50] [--appends 2000] [--audio-s 60] [--turn-s 10] [--mode both|paced|unpaced] [--quick]
 *   (npm run bench:session -- --quick)
 *
 * 1. connect-to-verified, per bootstrap (session-update, client-secret): start() to the
 *    `verified` event, N runs after 3 warm-up runs, fresh session each run. The simulator runs
 *    in this process (so its work is part of the figure), on 127.0.0.1.
 * 2. gate latency once verified: appendAudio() of one 20 ms chunk to that frame arriving at the
 *    simulator, one at a time; and the same frame sent by a bare `ws` client, so the difference
 *    is what the session (gate, chunker, base64, JSON) adds.
 * 3. CPU per minute of audio, both ways: the session streams mic audio (PCM16 24 kHz, 20 ms
 *    chunks) in push-to-talk turns and the simulator answers each with as much audio. The
 *    simulator runs in a child process so process.cpuUsage() is the session's alone.
 *    paced: mic at real time and reply audio at real time (what a device does);
 *    unpaced: both as fast as they go (the cost of the bytes, without idle wake-ups).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { parseConfig, profileToSession } from '../src/config/index.js';
import { RealtimeSession, type Bootstrap, type GaSessionConfig } from '../src/realtime/index.js';
import { RealtimeSimulator } from '../src/simulator/index.js';
import { BYTES_PER_MS } from '../src/core/pcm-format.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    appends: { type: 'string' },
    'audio-s': { type: 'string' },
    'turn-s': { type: 'string' },
    mode: { type: 'string', default: 'both' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick;
const RUNS = Number(values.runs ?? (QUICK ? 15 : 50));
const APPENDS = Number(values.appends ?? (QUICK ? 300 : 2000));
const AUDIO_S = Number(values['audio-s'] ?? (QUICK ? 10 : 60));
const TURN_S = Math.min(AUDIO_S, Number(values['turn-s'] ?? (QUICK ? 5 : 10)));
const MODE = values.mode;
if (!['both', 'paced', 'unpaced'].includes(MODE)) throw new Error(`--mode must be both, paced or unpaced, got '${MODE}'`);
const WARMUP = 3;
const KEY = 'sk-bench-session-0123456789abcdefghij';
const CHUNK_MS = 20;

/** The daemon's own default device profile, as `print-session` shows it. */
const PROFILE = defaultProfile();
function defaultProfile(): GaSessionConfig {
  const loaded = parseConfig('', {});
  if (!loaded.ok) throw new Error('the default config does not validate');
  return profileToSession(loaded.config);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function chunk(seed: number): Buffer {
  const out = Buffer.alloc(CHUNK_MS * BYTES_PER_MS);
  for (let i = 0; i < out.length / 2; i++) out.writeInt16LE(Math.round(6000 * Math.sin((i + seed * 7) / 5)) || 1, i * 2);
  return out;
}

function summary(values: number[], digits = 1): string {
  if (values.length === 0) return 'n/a';
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return `p50 ${at(0.5).toFixed(digits)}  p95 ${at(0.95).toFixed(digits)}  p99 ${at(0.99).toFixed(digits)}  max ${s.at(-1)!.toFixed(digits)}  mean ${mean.toFixed(digits)}  (n=${s.length})`;
}

function newSession(url: string, bootstrap: Bootstrap): RealtimeSession {
  return new RealtimeSession({
    url,
    model: 'gpt-realtime',
    provider: 'openai',
    apiKey: KEY,
    bootstrap,
    connection: 'persistent',
    session: PROFILE,
    timeouts: { pingMs: 0, closeMs: 500 },
  });
}

async function verifiedSession(
  url: string,
  bootstrap: Bootstrap,
): Promise<{ session: RealtimeSession; startToVerifiedMs: number; socketToVerifiedMs: number }> {
  const session = newSession(url, bootstrap);
  const failed = new Promise<never>((_, reject) => session.once('error', (e) => reject(e)));
  const t0 = performance.now();
  const verified = session.next('verified', 10_000);
  await session.start();
  const [info] = await Promise.race([verified, failed]);
  return { session, startToVerifiedMs: performance.now() - t0, socketToVerifiedMs: info.ms };
}

// ---- 1. connect-to-verified -----------------------------------------------------------------

async function connectToVerified(sim: RealtimeSimulator): Promise<void> {
  console.log(`\n1. connect-to-verified (start() to 'verified', ${RUNS} runs after ${WARMUP} warm-up, simulator in-process on 127.0.0.1)`);
  for (const bootstrap of ['session-update', 'client-secret'] as const) {
    const total: number[] = [];
    const socket: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const r = await verifiedSession(sim.url, bootstrap);
      await r.session.stop();
      if (i < WARMUP) continue;
      total.push(r.startToVerifiedMs);
      socket.push(r.socketToVerifiedMs);
    }
    const what =
      bootstrap === 'session-update'
        ? 'handshake + session.created + session.update/updated'
        : 'mint (HTTP POST) + handshake + session.created';
    console.log(`  ${bootstrap.padEnd(15)} start->verified  ${summary(total)} ms   [${what}]`);
    console.log(`  ${''.padEnd(15)} socket->verified ${summary(socket.map(Math.round), 0)} ms   (VerifiedInfo.ms, whole ms)`);
  }
}

// ---- 2. gate latency ------------------------------------------------------------------------

async function gateLatency(sim: RealtimeSimulator): Promise<void> {
  console.log(
    `\n2. gate latency once verified (one ${CHUNK_MS} ms chunk at a time, ${APPENDS} chunks after 100 warm-up; frame received = simulator's 'message')`,
  );
  let arrived: (() => void) | undefined;
  const onFrame = (f: { type: string }) => {
    if (f.type === 'input_audio_buffer.append') arrived?.();
  };
  sim.on('frame', onFrame);
  const roundTrip = async (send: () => void): Promise<{ total: number; call: number }> => {
    const got = new Promise<number>((resolve) => (arrived = () => resolve(performance.now())));
    const t0 = performance.now();
    send();
    const call = performance.now() - t0;
    const at = await got;
    arrived = undefined;
    return { total: at - t0, call };
  };
  const pcm = chunk(1);

  // The session, verified (appendAudio goes straight through the empty gate), and beside it a
  // bare ws client sending the same frame: the floor. Sent alternately, so machine noise and
  // JIT warm-up fall on both alike.
  const { session } = await verifiedSession(sim.url, 'session-update');
  const ws = new WebSocket(`${sim.url}?model=gpt-realtime`, { headers: { Authorization: `Bearer ${KEY}` }, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const viaSession: number[] = [];
  const callCost: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 100 + APPENDS; i++) {
    const r = await roundTrip(() => session.appendAudio(pcm));
    const b = await roundTrip(() =>
      ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.toString('base64'), event_id: `b_${i}` })),
    );
    if (i >= 100) {
      viaSession.push(r.total);
      callCost.push(r.call);
      bare.push(b.total);
    }
    // Keep the server's input buffers small: clear every 10 s of audio.
    if (i % 500 === 499) {
      session.clearInput();
      ws.send(JSON.stringify({ type: 'input_audio_buffer.clear' }));
    }
  }
  await session.stop();
  ws.close();
  sim.off('frame', onFrame);

  const p = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.floor(q * (v.length - 1))]!;
  console.log(`  session.appendAudio -> frame at server  ${summary(viaSession, 3)} ms`);
  console.log(`  bare ws.send        -> frame at server  ${summary(bare, 3)} ms`);
  console.log(
    `  added by the session (difference)       p50 ${(p(viaSession, 0.5) - p(bare, 0.5)).toFixed(3)} ms  p99 ${(p(viaSession, 0.99) - p(bare, 0.99)).toFixed(3)} ms`,
  );
  console.log(
    `  appendAudio() call itself (synchronous) ${summary(
      callCost.map((v) => v * 1000),
      1,
    )} us`,
  );
}

// ---- 3. CPU per minute of audio ----------------------------------------------------------------

/** The simulator as a child process (its CPU is not ours); resolves with its URL. */
async function childSimulator(replyMs: number, realtime: boolean): Promise<{ url: string; child: ChildProcess }> {
  const cli = new URL('../src/cli.ts', import.meta.url).pathname;
  const args = [
    '--import',
    import.meta.resolve('tsx'),
    cli,
    'simulator',
    '--reply-ms',
    String(replyMs),
    '--delta-ms',
    '100',
    '--log-level',
    'warn',
    // The unpaced run wants the cost of the bytes alone: the reply as fast as it goes.
    ...(realtime ? ['--pace', 'realtime'] : ['--pace', 'instant']),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, SIMULATOR_API_KEY: KEY }, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      const line = out.split('\n').find((l) => l.startsWith('ws://'));
      if (line) resolve(line.trim());
    });
    child.once('exit', (code) => reject(new Error(`the simulator exited (code ${code}) before printing its URL`)));
  });
  return { url, child };
}

function procCpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime+stime, USER_HZ 100
}

async function cpuPerMinute(paced: boolean): Promise<void> {
  const turnMs = TURN_S * 1000;
  const turns = Math.max(1, Math.round(AUDIO_S / TURN_S));
  const { url, child } = await childSimulator(turnMs, paced);
  try {
    const { session } = await verifiedSession(url, 'session-update');
    let replyBytes = 0;
    session.on('audio', (a) => void (replyBytes += a.pcm.length));
    const chunks = Array.from({ length: 50 }, (_, i) => chunk(i));
    const perTurn = turnMs / CHUNK_MS;
    let baseline = '';
    if (paced) {
      // The bench's own 20 ms pacing wake-ups, with the verified session idle: what a paced
      // figure includes that is not the session's work (a device has its capture wake-ups instead).
      const seconds = QUICK ? 5 : 10;
      const c0 = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < (seconds * 1000) / CHUNK_MS; i++) {
        const due = start + i * CHUNK_MS - performance.now();
        if (due > 0) await sleep(due);
      }
      const c = process.cpuUsage(c0);
      const min = (performance.now() - start) / 60_000;
      baseline = `${((c.user + c.system) / 1000 / min).toFixed(0)} ms per minute (${seconds} s measured)`;
    }
    const cpu0 = process.cpuUsage();
    const sim0 = procCpuMs(child.pid);
    const wall0 = performance.now();
    let micBytes = 0;
    for (let t = 0; t < turns; t++) {
      const start = performance.now();
      for (let i = 0; i < perTurn; i++) {
        if (paced) {
          // Against the turn's start, so timer lateness does not add up.
          const due = start + i * CHUNK_MS - performance.now();
          if (due > 0) await sleep(due);
        } else if (i % 50 === 0) {
          await new Promise((r) => setImmediate(r));
        }
        const c = chunks[i % chunks.length]!;
        session.appendAudio(c);
        micBytes += c.length;
      }
      const done = session.next('responseDone', turnMs * 3 + 10_000);
      session.commit();
      session.createResponse();
      await done;
    }
    const wallS = (performance.now() - wall0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const simCpuMs = procCpuMs(child.pid) - sim0;
    await session.stop();
    const micMin = micBytes / BYTES_PER_MS / 60_000;
    const replyMin = replyBytes / BYTES_PER_MS / 60_000;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const label = paced ? 'paced (mic and reply at real time)' : 'unpaced (as fast as possible)';
    console.log(
      `  ${label}: ${(micMin * 60).toFixed(0)} s mic up + ${(replyMin * 60).toFixed(0)} s reply down in ${turns} turns, ${wallS.toFixed(1)} s wall`,
    );
    console.log(
      `    session process CPU: ${cpuMs.toFixed(0)} ms total (user ${(cpu.user / 1000).toFixed(0)}, system ${(cpu.system / 1000).toFixed(0)}) = ${(cpuMs / micMin).toFixed(0)} ms per minute of mic audio (with a minute of reply audio), ${((cpuMs / 1000 / wallS) * 100).toFixed(2)}% of one core over the wall time`,
    );
    if (baseline) console.log(`    of which the pacing loop alone (20 ms timer wake-ups, session idle): ${baseline}`);
    console.log(`    simulator child CPU (for reference, 10 ms ticks): ${simCpuMs.toFixed(0)} ms`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function main(): Promise<void> {
  console.log(`session bench: node ${process.version}, ${QUICK ? 'quick' : 'full'} run`);
  const sim = new RealtimeSimulator({ apiKey: KEY, replyMs: 200 });
  await sim.start();
  try {
    await connectToVerified(sim);
    await gateLatency(sim);
  } finally {
    await sim.stop();
  }
  console.log(
    `\n3. CPU per minute of audio, both ways (${AUDIO_S} s of mic audio in ${TURN_S} s turns, each answered by ${TURN_S} s of reply audio; simulator in a child process)`,
  );
  if (MODE !== 'unpaced') await cpuPerMinute(true);
  if (MODE !== 'paced') await cpuPerMinute(false);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
