/**
 * Daemon benchmark: the real `realtime-ptt run` process (dist/, so `npm run bench:daemon` builds
 * first) against the simulator, with real libasound through the file-plugin sandbox and the
 * virtual button. Runs N push-to-talk turns (default 200) and prints, per turn and summarised,
 * the timings of the turn log line, then the daemon's RSS and CPU.
 *
 *   npx tsx bench/daemon.ts [--turns 200] [--hold 250] [--reply 200] [--no-earcons] [--entry dist|tsx] [--quiet]
 *
 * With earcons (the default config) the release chime plays before the answer, so
 * firstDeltaToDacMs includes the rest of it; --no-earcons shows the bare pipeline.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { DaemonProcess, type LogRecord } from '../src/demo/daemon-process.js';
import { RealtimeSimulator } from '../src/simulator/index.js';
import { createAlsaSandbox, testPcm } from '../test/support/alsa.js';

const { values } = parseArgs({
  options: {
    turns: { type: 'string', default: '200' },
    hold: { type: 'string', default: '250' },
    reply: { type: 'string', default: '200' },
    entry: { type: 'string', default: 'dist' },
    quiet: { type: 'boolean', default: false },
    'no-earcons': { type: 'boolean', default: false },
  },
});
const TURNS = Number(values.turns);
const HOLD_MS = Number(values.hold);
const REPLY_MS = Number(values.reply);
const KEY = 'sk-bench-0123456789abcdefghijklmnop';
const TIMINGS = ['pressToFirstAppendMs', 'releaseToCommitMs', 'commitToFirstDeltaMs', 'firstDeltaToDacMs', 'playedMs'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = 100; // Linux USER_HZ

/** RSS (kB) and user+system CPU seconds of a process, from /proc. */
function usage(pid: number): { rssKb: number; cpuS: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  // Fields after the command name (which may contain spaces) start at ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  return { rssKb, cpuS };
}

function summary(values: number[]): string {
  if (values.length === 0) return 'n/a';
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return `p50 ${at(0.5)}  p95 ${at(0.95)}  max ${sorted.at(-1)}  mean ${mean.toFixed(1)}`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ptt-bench-'));
  const alsa = await createAlsaSandbox({ periodMs: 20 });
  const sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: REPLY_MS, deltaMs: 100 });
  let daemon: DaemonProcess | undefined;
  try {
    alsa.mic.start();
    await sim.start();
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
        conversation: { earcons: !values['no-earcons'] },
      }),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, ...alsa.env };
    delete env.OPENAI_API_KEY;
    daemon = new DaemonProcess({ configPath, socketPath, env, entry: values.entry === 'tsx' ? 'tsx' : 'dist' });
    const started = performance.now();
    await daemon.waitForControl(20_000);
    await daemon.waitFor((r) => r.msg === 'profile verified', 'the first verification', 10_000);
    const pid = daemon.child.pid!;
    const startup = Math.round(performance.now() - started);
    const atStart = usage(pid);

    const records: LogRecord[] = [];
    const speech = testPcm(HOLD_MS, 7);
    let baseline: { rssKb: number; cpuS: number; at: number } | undefined;
    const wall = performance.now();
    for (let i = 1; i <= TURNS; i++) {
      const next = daemon.nextTurn(20_000);
      await daemon.control('press');
      void alsa.mic.feed(speech);
      await sleep(HOLD_MS);
      await daemon.control('release');
      const r = await next;
      records.push(r);
      if (!values.quiet) {
        process.stdout.write(
          `turn ${String(i).padStart(3)} ${String(r.outcome).padEnd(8)} ` +
            TIMINGS.map((t) => `${t.replace(/Ms$/, '')}=${r[t] ?? '-'}`).join(' ') +
            '\n',
        );
      }
      // Steady state is measured after the first ten turns (JIT warm-up, first allocations).
      if (i === 10) baseline = { ...usage(pid), at: performance.now() };
    }
    const end = usage(pid);
    const wallS = (performance.now() - wall) / 1000;

    const complete = records.filter((r) => r.outcome === 'complete').length;
    console.log(
      `\n${TURNS} turns in ${wallS.toFixed(1)} s (hold ${HOLD_MS} ms, reply ${REPLY_MS} ms, earcons ${values['no-earcons'] ? 'off' : 'on'}, output lead 60 ms), ${complete} complete, ${TURNS - complete} other`,
    );
    console.log(`daemon startup to first verified session: ${startup} ms`);
    for (const t of TIMINGS) {
      const vals = records.map((r) => r[t]).filter((v): v is number => typeof v === 'number');
      console.log(`  ${t.padEnd(22)} ${summary(vals)}  (ms, ${vals.length} turns)`);
    }
    console.log(
      `daemon RSS: ${(atStart.rssKb / 1024).toFixed(1)} MB after start, ${baseline ? (baseline.rssKb / 1024).toFixed(1) : '?'} MB after 10 turns, ${(end.rssKb / 1024).toFixed(1)} MB after ${TURNS} turns`,
    );
    console.log(
      `daemon CPU: ${end.cpuS.toFixed(2)} s total; ${(((end.cpuS - atStart.cpuS) / wallS) * 100).toFixed(1)}% of one core during the turns`,
    );
    if (baseline) {
      const s = (performance.now() - baseline.at) / 1000;
      console.log(
        `  steady state (turns 11-${TURNS}): ${(((end.cpuS - baseline.cpuS) / s) * 100).toFixed(1)}% of one core, RSS ${((end.rssKb - baseline.rssKb) / 1024).toFixed(1)} MB growth`,
      );
    }
    const exit = await daemon.stop('SIGTERM');
    console.log(`SIGTERM to exit: ${exit.ms} ms (code ${exit.code})`);
    daemon = undefined;
  } finally {
    if (daemon) await daemon.stop('SIGKILL');
    await sim.stop();
    await alsa.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
