/**
 * The real daemon process (`realtime-ptt run`) under a stand-in for systemd's manager: a real
 * notify datagram socket in NOTIFY_SOCKET and a short WATCHDOG_USEC. What systemd would see:
 * READY=1 only once the simulator has confirmed the profile, STATUS lines, watchdog pings,
 * RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM and a clean exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { encodeWav, silence } from '../../src/audio/index.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const KEY = 'sk-notify-0123456789abcdefghijklmnop';

interface DgramServer {
  bind(path: string): void;
  close(): void;
  on(event: 'message', l: (buf: Buffer) => void): void;
}
const unixDgram = createRequire(import.meta.url)('unix-dgram') as { createSocket(t: 'unix_dgram'): DgramServer };

let dir: string;
let sim: RealtimeSimulator;
let server: DgramServer;
let child: ChildProcess | undefined;
/** Each datagram with how many session.updated the simulator had sent when it arrived. */
const received: Array<{ text: string; verifiedBefore: number }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-notify-run-'));
  sim = new RealtimeSimulator({ apiKey: KEY });
  await sim.start();
  server = unixDgram.createSocket('unix_dgram');
  server.on('message', (buf) => received.push({ text: buf.toString(), verifiedBefore: sim.sentOf('session.updated').length }));
  server.bind(join(dir, 'notify'));
});
afterAll(async () => {
  child?.kill('SIGKILL');
  server?.close();
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(test: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received.map((r) => r.text))}`);
    await sleep(10);
  }
}
const count = (prefix: string) => received.filter((r) => r.text.startsWith(prefix)).length;

describe('realtime-ptt run under a systemd notify socket', () => {
  it('READY after verification, STATUS, WATCHDOG, RELOADING on SIGHUP, STOPPING on SIGTERM', async () => {
    writeFileSync(join(dir, 'key'), `${KEY}\n`);
    writeFileSync(join(dir, 'mic.wav'), encodeWav(silence(200)));
    writeFileSync(
      join(dir, 'config.yaml'),
      stringify({
        realtime: { url: sim.url, apiKeyFile: join(dir, 'key') },
        audio: { input: { device: `file:${join(dir, 'mic.wav')}` }, output: { device: `wav:${join(dir, 'out.wav')}` } },
        gpio: { backend: 'virtual' },
        control: { socket: join(dir, 'control.sock') },
        log: { transcriptFile: null, format: 'json' },
      }),
    );
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, NOTIFY_SOCKET: join(dir, 'notify'), WATCHDOG_USEC: '100000' };
    const proc = spawn(process.execPath, ['--import', TSX, CLI, 'run', '--config', join(dir, 'config.yaml')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let output = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));

    await until(() => count('READY=1') >= 1, 'READY=1');
    const ready = received.find((r) => r.text.startsWith('READY=1'))!;
    expect(ready.verifiedBefore, 'READY=1 came before the profile was verified').toBeGreaterThan(0);
    expect(received.slice(0, received.indexOf(ready)).some((r) => r.text === 'WATCHDOG=1')).toBe(false);
    await until(() => count('WATCHDOG=1') >= 2, 'two watchdog pings (every 50 ms)');
    expect(received.some((r) => /^STATUS=\S/m.test(r.text))).toBe(true);

    const readyBefore = count('READY=1');
    proc.kill('SIGHUP');
    await until(() => count('RELOADING=1') >= 1 && count('READY=1') > readyBefore, 'RELOADING=1 then READY=1');
    expect(received.find((r) => r.text.startsWith('RELOADING=1'))!.text).toMatch(/\nMONOTONIC_USEC=\d+/);

    proc.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    child = undefined;
    expect(count('STOPPING=1')).toBe(1);
    expect(output).not.toContain(KEY);
  });
});
