/**
 * One end-to-end rig for the real daemon process: a temp directory with the key file, the ALSA
 * file-plugin sandbox (mic FIFO fed at real time, speaker file) found through
 * `$XDG_CONFIG_HOME/alsa/asoundrc` as a person's setup would, the simulator on 127.0.0.1 and the
 * built daemon (`dist/cli.js run`) with the virtual button on its control socket.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BYTES_PER_MS } from '../../src/core/pcm-format.js';
import { DaemonProcess, type LogRecord } from '../../src/demo/daemon-process.js';
import { type RecordedFrame, RealtimeSimulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { type AlsaSandbox, createAlsaSandbox } from './alsa.js';

export const PERIOD_MS = 20;

export interface DaemonRig {
  dir: string;
  alsa: AlsaSandbox;
  sim: RealtimeSimulator;
  daemon: DaemonProcess;
  configPath: string;
  socketPath: string;
  /** The config the rig started with, with `overrides` applied: pass a variation to `save`. */
  config(overrides?: Record<string, unknown>): Record<string, unknown>;
  /** Saves like an editor does: a new file renamed over the old one. */
  save(body: Record<string, unknown> | string): void;
  /** Holds the button for `holdMs` while `speech` goes into the mic; resolves with the turn line. */
  turn(speech: Buffer, holdMs: number): Promise<LogRecord>;
  /** The answer audio the simulator sent for the latest response. */
  lastReply(): Buffer;
  /** Milliseconds of `reply` that reached the output device (its longest prefix found there, after `from`). */
  heardOf(reply: Buffer, from?: number): number;
  stop(): Promise<void>;
}

export interface RigOptions {
  key: string;
  simulator?: Omit<SimulatorOptions, 'port' | 'apiKey'>;
  /** Merged over the rig's base config (one level deep per section); a function gets the rig's directory. */
  config?: Record<string, unknown> | ((dir: string) => Record<string, unknown>);
  /** Called after the simulator started and before the daemon does (fault plans, ...). */
  beforeDaemon?: (sim: RealtimeSimulator) => void;
  /** A simulator shared by several rigs (started and stopped by the caller); `simulator` is then unused. */
  sharedSimulator?: RealtimeSimulator;
  /** No API key on this device (a fleet device with realtime.mintUrl): no key file, apiKeyFile null. */
  noKey?: boolean;
  /** Waits for `profile verified` before returning (default true). */
  waitVerified?: boolean;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `test()` holds, polling; fails with `what`. */
export async function until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export function decodeAppends(frames: RecordedFrame[]): Buffer {
  return Buffer.concat(
    frames.filter((f) => f.type === 'input_audio_buffer.append').map((f) => Buffer.from(String(f.event.audio), 'base64')),
  );
}

function mergeSections(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    out[k] = b && typeof b === 'object' && v && typeof v === 'object' && !Array.isArray(v) ? { ...b, ...v } : v;
  }
  return out;
}

export async function startDaemonRig(options: RigOptions): Promise<DaemonRig> {
  const dir = mkdtempSync(join(tmpdir(), 'ptt-rig-'));
  const keyPath = join(dir, 'key');
  if (!options.noKey) {
    writeFileSync(keyPath, `${options.key}\n`);
    chmodSync(keyPath, 0o600);
  }
  // The speaker plays in real time, like a Pi's: what reached it is what a listener heard.
  const alsa = await createAlsaSandbox({ periodMs: PERIOD_MS, dac: true });
  alsa.mic.start();
  const sim = options.sharedSimulator ?? new RealtimeSimulator({ port: 0, apiKey: options.key, ...options.simulator });
  if (!options.sharedSimulator) await sim.start();
  options.beforeDaemon?.(sim);
  const configPath = join(dir, 'config.yaml');
  const socketPath = join(dir, 'control.sock');
  const base = mergeSections(
    {
      realtime: { url: sim.url, apiKeyFile: options.noKey ? null : keyPath },
      audio: {
        input: { device: alsa.captureDevice, periodMs: PERIOD_MS, preRollMs: 200 },
        output: { device: alsa.playbackDevice, periodMs: PERIOD_MS, bufferMs: 60 },
      },
      gpio: { backend: 'virtual' },
      control: { socket: socketPath },
      state: { dir: join(dir, 'state') },
      log: { level: 'debug', format: 'json', transcriptFile: null },
      // Earcons off: what reaches the output device is exactly the answers.
      conversation: { earcons: false },
    },
    typeof options.config === 'function' ? options.config(dir) : (options.config ?? {}),
  );
  const save = (body: Record<string, unknown> | string) => {
    const tmp = `${configPath}.swp`;
    writeFileSync(tmp, typeof body === 'string' ? body : stringify(body));
    renameSync(tmp, configPath);
  };
  save(base);
  const env = daemonEnv(dir, alsa);
  const daemon = new DaemonProcess({ configPath, socketPath, env, entry: 'dist' });
  await daemon.waitForControl(20_000);
  if (options.waitVerified ?? true) await daemon.waitFor((r) => r.msg === 'profile verified', 'the profile verified', 20_000);

  const lastReply = () => {
    const created = sim.sentOf('response.created').at(-1)!;
    const id = (created.event.response as { id: string }).id;
    return Buffer.concat(
      sim.sent
        .filter((f) => f.type === 'response.output_audio.delta' && f.event.response_id === id)
        .map((f) => Buffer.from(String(f.event.delta), 'base64')),
    );
  };
  const heardOf = (reply: Buffer, from = 0) => {
    const out = alsa.readOutput();
    const at = out.indexOf(reply.subarray(0, 50 * BYTES_PER_MS), from);
    if (at < 0) return 0;
    let n = 0;
    while (n < reply.length && at + n < out.length && out[at + n] === reply[n]) n++;
    return (Math.floor(n / 2) * 2) / BYTES_PER_MS;
  };
  return {
    dir,
    alsa,
    sim,
    daemon,
    configPath,
    socketPath,
    config: (overrides = {}) => mergeSections(base, overrides),
    save,
    async turn(speech, holdMs) {
      const next = daemon.nextTurn(20_000);
      await daemon.control('press');
      void alsa.mic.feed(speech);
      await sleep(holdMs);
      await daemon.control('release');
      return next;
    },
    lastReply,
    heardOf,
    async stop() {
      await daemon.stop('SIGKILL');
      if (!options.sharedSimulator) await sim.stop();
      await alsa.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The environment a daemon under test runs with: the sandbox's ALSA devices found the way a
 * user's are (an asoundrc under XDG_CONFIG_HOME), and no API key inherited from the test run.
 */
export function daemonEnv(dir: string, alsa: AlsaSandbox): NodeJS.ProcessEnv {
  mkdirSync(join(dir, 'xdg', 'alsa'), { recursive: true });
  copyFileSync(alsa.configFile, join(dir, 'xdg', 'alsa', 'asoundrc'));
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(dir, 'xdg') };
  delete env.OPENAI_API_KEY;
  delete env.ALSA_CONFIG_PATH;
  return env;
}
