/**
 * The wire half of bench/tools.ts: the real daemon process (dist/cli.js) on the simulator, with
 * file devices (a generated WAV as the microphone, a WAV file as the speaker). Each turn the
 * simulated model calls one tool; the figure is the time from the simulator sending
 * `response.function_call_arguments.done` to it receiving the `function_call_output` item, both
 * on the simulator's clock: what the daemon adds between the model's call and its answer
 * (receiving the rest of the response, running the call, sending the item).
 * Also the daemon's RSS (/proc) with no MCP server, then with two connected (added by a reload).
 */
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { encodeWav } from '../src/audio/index.js';
import { FILE_INPUT_PREFIX, WAV_OUTPUT_PREFIX } from '../src/daemon/audio-parts.js';
import { DaemonProcess } from '../src/demo/daemon-process.js';
import { synthesizeSpeech } from '../src/demo/speech.js';
import { RealtimeSimulator } from '../src/simulator/index.js';

const KEY = 'sk-bench-tools-wire-0123456789abcdefghij';
const HOLD_MS = 250;

export interface WireFigures {
  rows: Array<{ label: string; p50: number; p95: number; n: number }>;
  rssNoneMb: number;
  rssTwoMb: number;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export async function measureOnTheWire(o: { calls: number; stdioServer: string; haUrl: string; tokenFile: string }): Promise<WireFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'ptt-bench-wire-'));
  const sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: 100, deltaMs: 100, pace: 'instant' });
  let daemon: DaemonProcess | undefined;
  try {
    await sim.start();
    const input = join(dir, 'mic.wav');
    writeFileSync(input, encodeWav(synthesizeSpeech(3 * o.calls * (HOLD_MS + 200) + 20_000)));
    writeFileSync(join(dir, 'key'), `${KEY}\n`);
    chmodSync(join(dir, 'key'), 0o600);
    const configPath = join(dir, 'config.yaml');
    const socketPath = join(dir, 'control.sock');
    const config = (servers: unknown[]) =>
      stringify({
        realtime: { url: sim.url, apiKeyFile: join(dir, 'key') },
        audio: { input: { device: `${FILE_INPUT_PREFIX}${input}` }, output: { device: `${WAV_OUTPUT_PREFIX}${join(dir, 'out.wav')}` } },
        gpio: { backend: 'virtual' },
        control: { socket: socketPath },
        state: { dir: join(dir, 'state') },
        log: { level: 'info', format: 'json', transcriptFile: null },
        conversation: { earcons: false },
        tools: { mcpServers: servers },
      });
    const save = (body: string) => {
      writeFileSync(`${configPath}.swp`, body);
      renameSync(`${configPath}.swp`, configPath);
    };
    save(config([]));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.OPENAI_API_KEY;
    daemon = new DaemonProcess({ configPath, socketPath, env, entry: 'dist' });
    await daemon.waitForControl(20_000);
    await daemon.waitFor((r) => r.msg === 'profile verified', 'the profile verified', 20_000);
    const pid = daemon.child.pid!;
    await sleep(2_000);
    const rssNoneMb = rssMb(pid);
    const since = daemon.records.length;
    save(
      config([
        { name: 'box', transport: 'stdio', command: process.execPath, args: ['--import', 'tsx', o.stdioServer] },
        { name: 'ha', transport: 'http', url: o.haUrl, tokenFile: o.tokenFile },
      ]),
    );
    for (const server of ['box', 'ha'])
      await daemon.waitFor((r) => r.msg === 'MCP server' && r.server === server && r.state === 'ready', `MCP ${server}`, 20_000, since);
    await daemon.waitFor((r) => r.msg === 'profile applied with the changed tools', 'the tools applied', 20_000, since);
    await sleep(2_000);
    const rssTwoMb = rssMb(pid);

    const measure = async (label: string, name: string, args: Record<string, unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < o.calls + 3; i++) {
        sim.queueToolCalls([{ name, arguments: args }]);
        const next = daemon!.nextTurn(20_000);
        await daemon!.control('press');
        await sleep(HOLD_MS);
        await daemon!.control('release');
        const turn = await next;
        if (turn.outcome !== 'complete') throw new Error(`${label}: turn ${turn.outcome} (${String(turn.reason)})`);
        const done = sim.sentOf('response.function_call_arguments.done').at(-1)!;
        const callId = done.event.call_id;
        const output = sim.frames.find(
          (f) => f.type === 'conversation.item.create' && (f.event.item as { call_id?: string } | undefined)?.call_id === callId,
        );
        if (!output) throw new Error(`${label}: no function_call_output for ${String(callId)}`);
        if (i >= 3) times.push(output.at - done.at); // after 3 warm-up calls
      }
      times.sort((a, b) => a - b);
      return { label, p50: pct(times, 50), p95: pct(times, 95), n: times.length };
    };
    const rows = [
      await measure('built-in get_local_time', 'get_local_time', {}),
      await measure('stdio MCP echo', 'box_echo', { text: 'hello' }),
      await measure('HTTP MCP GetDateTime (HA stand-in)', 'ha_GetDateTime', {}),
    ];
    return { rows, rssNoneMb, rssTwoMb };
  } finally {
    await daemon?.stop('SIGTERM');
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
