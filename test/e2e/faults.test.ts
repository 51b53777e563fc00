/**
 * Faults against the real daemon process (the built `dist/cli.js`, or the daemon with a buggy
 * part for the crash) with a real ALSA capture device (the `file` plugin reading a FIFO), the
 * simulator and the control socket: hostile and half-written config files, an unexpected error
 * while the capture's read loop runs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DaemonProcess, type LogRecord } from '../../src/demo/daemon-process.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';
import { createAlsaSandbox, type AlsaSandbox } from '../support/alsa.js';
import { ALIAS_BOMB } from '../config/helpers.js';

const KEY = 'sk-faults-0123456789abcdefghijklmnop';
const CRASHING = fileURLToPath(new URL('./fixtures/crashing-daemon.ts', import.meta.url));
const DIST_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const INVALID = 'the edited config is invalid; the config in force is kept';

let dir: string;
let alsa: AlsaSandbox;
let sim: RealtimeSimulator;
let env: NodeJS.ProcessEnv;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

function config(socket: string, over: { session?: object } = {}): Record<string, unknown> {
  return {
    realtime: { url: sim.url, apiKeyFile: join(dir, 'key'), reconnect: { minMs: 100, maxMs: 400 } },
    session: { instructions: 'fault tests', ...over.session },
    audio: { input: { device: alsa.captureDevice, periodMs: 20 }, output: { device: alsa.playbackDevice, periodMs: 20 } },
    gpio: { backend: 'virtual' },
    control: { socket },
    log: { level: 'info', format: 'json', transcriptFile: null },
    conversation: { earcons: false },
  };
}

function save(path: string, body: string): void {
  writeFileSync(`${path}.tmp`, body);
  renameSync(`${path}.tmp`, path);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-faults-'));
  writeFileSync(join(dir, 'key'), `${KEY}\n`);
  chmodSync(join(dir, 'key'), 0o600);
  alsa = await createAlsaSandbox({ periodMs: 20 });
  alsa.mic.start();
  sim = new RealtimeSimulator({ port: 0, apiKey: KEY });
  await sim.start();
  env = { ...process.env, ...alsa.env };
  delete env.OPENAI_API_KEY;
});

afterAll(async () => {
  await sim?.stop();
  await alsa?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('config faults on the running daemon (ALSA capture open)', () => {
  let daemon: DaemonProcess | undefined;
  afterAll(async () => {
    await daemon?.stop('SIGKILL');
  });

  it('an alias bomb or an empty file while running is logged once and refused; the config in force stays and still works', async () => {
    const configPath = join(dir, 'running.yaml');
    const socketPath = join(dir, 'running.sock');
    save(configPath, stringify(config(socketPath)));
    daemon = new DaemonProcess({ configPath, socketPath, env, entry: 'dist' });
    await daemon.waitFor((r) => r.msg === 'session verified' || r.msg === 'daemon started', 'the start', 20_000);
    await daemon.waitForControl(20_000);
    const invalidLines = () => daemon!.find((r) => r.level === 'error' || r.level === 'warn');

    save(configPath, ALIAS_BOMB);
    const bomb = await daemon.waitFor((r) => r.msg === INVALID, 'the alias bomb reported', 10_000);
    expect(String(bomb.problems)).toMatch(/cannot be read as a config: Excessive alias count/);
    await sleep(500);
    expect(invalidLines(), 'one line for the edit').toHaveLength(1);
    expect(daemon.find((r) => r.msg === 'unexpected error' || /exiting/.test(r.msg))).toEqual([]);
    expect(await daemon.control('status')).toMatch(/idle|connecting/);

    // A truncate-then-write caught in the middle: an empty file is not "all defaults".
    const connections = sim.connections.length;
    const mark = daemon.records.length;
    save(configPath, '');
    const empty = await daemon.waitFor((r) => r.msg === INVALID, 'the empty file refused', 10_000, mark);
    expect(String(empty.problems)).toMatch(/no settings \(it is empty\)/);
    await sleep(500);
    expect(invalidLines(), 'one line for this edit too').toHaveLength(2);
    expect(sim.connections, 'still talking to the configured server, not the default URL').toHaveLength(connections);
    expect(daemon.find((r) => r.msg === 'config reloaded')).toEqual([]);
    expect(await daemon.control('status')).toMatch(/idle|connecting/);

    // The file written in full afterwards applies as an edit of the config in force.
    const next = daemon.records.length;
    save(configPath, stringify(config(socketPath, { session: { instructions: 'written in full' } })));
    const reloaded = await daemon.waitFor((r) => r.msg === 'config reloaded', 'the full file applied', 10_000, next);
    expect(reloaded).toMatchObject({ keys: ['session.instructions'], applied: ['apply-profile'], ok: true });

    const exit = await daemon.stop('SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });
    daemon = undefined;
  });

  it('an alias bomb at start: exit 78 (EX_CONFIG) with the problem, no stack', async () => {
    const path = join(dir, 'bomb.yaml');
    writeFileSync(path, ALIAS_BOMB);
    const child = spawn(process.execPath, [DIST_CLI, 'run', '--config', path], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(78);
    expect(stderr).toMatch(/\(file\): the file cannot be read as a config: Excessive alias count/);
    noStack(stderr);
  });
});

describe('an unexpected error in the running daemon (ALSA capture in its read loop)', () => {
  for (const [signal, what] of [
    ['SIGUSR2', 'unexpected error (unhandled rejection)'],
    ['SIGUSR1', 'unexpected error'],
  ] as const) {
    it(`${signal === 'SIGUSR2' ? 'an unhandled rejection' : 'an uncaught exception'} ends the process within 2 s: one clear line, exit 70, nothing left running`, async () => {
      const socketPath = join(dir, `crash-${signal}.sock`);
      const configPath = join(dir, `crash-${signal}.yaml`);
      writeFileSync(configPath, stringify(config(socketPath)));
      const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CRASHING, configPath], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const records: LogRecord[] = [];
      let other = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        for (const line of d.split('\n').filter(Boolean)) {
          try {
            records.push(JSON.parse(line) as LogRecord);
          } catch {
            other += line;
          }
        }
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => (other += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, sig) => resolve({ code, signal: sig })),
      );
      try {
        const deadline = Date.now() + 20_000;
        while (!records.some((r) => r.msg === 'daemon started')) {
          if (Date.now() > deadline) throw new Error(`the daemon did not start:\n${other}${JSON.stringify(records.slice(-5))}`);
          await sleep(50);
        }
        await sleep(300); // the capture is reading periods from the FIFO
        const aplay = execFileSync('pgrep', ['-P', String(child.pid), 'aplay'], { encoding: 'utf8' })
          .split('\n')
          .filter(Boolean)
          .map(Number);
        expect(aplay.length, 'the player runs').toBeGreaterThan(0);
        const started = performance.now();
        child.kill(signal);
        const exit = await exited;
        expect(performance.now() - started).toBeLessThan(2_000);
        expect(exit).toEqual({ code: 70, signal: null });
        const line = records.find((r) => r.msg === `${what}; exiting so the service restarts`);
        expect(line?.error).toMatchObject({ message: expect.stringMatching(/the buggy part (lost its promise|threw from a timer)/) });
        noStack(other + JSON.stringify(records));
        const alive = (pid: number) => {
          try {
            process.kill(pid, 0);
            return true;
          } catch {
            return false;
          }
        };
        await sleep(100);
        expect(aplay.filter(alive), 'no aplay outlives the daemon').toEqual([]);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }
});
