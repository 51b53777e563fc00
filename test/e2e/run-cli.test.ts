/**
 * `realtime-ptt run` as a process, where it must refuse to start or must give up: a broken
 * config, a missing key, and cleanup that hangs on SIGTERM. What a person sees is one clear
 * message (never a stack trace) and an exit status systemd can act on.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { encodeWav } from '../../src/audio/index.js';
import { sendControlCommand } from '../../src/gpio/index.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const HANGING = fileURLToPath(new URL('./fixtures/hanging-daemon.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
let dir: string;

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.OPENAI_API_KEY;
  const child = spawn(process.execPath, ['--import', TSX, ...args], { env: childEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-run-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('realtime-ptt', () => {
  it('--version prints the package version; an unknown command is a usage error (2) with the command list', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const v = await run([CLI, '--version']);
    expect(v).toMatchObject({ code: 0, stdout: `realtime-ptt ${version}\n` });
    const bad = await run([CLI, 'sing']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'sing'[\s\S]*check-config/);
    noStack(bad.stderr);
  });
});

describe('realtime-ptt run', () => {
  it('refuses a broken config with every problem named, exit 78 (EX_CONFIG)', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, stringify({ session: { voice: 'robot', temperature: 0.7 }, audio: { input: { periodMs: 1 } } }));
    const r = await run([CLI, 'run', '--config', path]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/session\.voice/);
    expect(r.stderr).toMatch(/audio\.input\.periodMs/);
    noStack(r.stderr);
  });

  it('says where a key must come from when there is none, exit 1', async () => {
    const path = join(dir, 'nokey.yaml');
    writeFileSync(
      path,
      stringify({ gpio: { backend: 'virtual' }, control: { socket: join(dir, 'nokey.sock') }, log: { transcriptFile: null } }),
    );
    const r = await run([CLI, 'run', '--config', path], { CREDENTIALS_DIRECTORY: '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^realtime-ptt: .*key/m);
    expect(r.stderr).toMatch(/fix: /);
    noStack(r.stderr);
  });

  it('exits 143 (128 + SIGTERM) within 2 s when cleanup hangs', async () => {
    const sim = new RealtimeSimulator({ port: 0, apiKey: 'sk-run-test-0123456789abcdef' });
    await sim.start();
    try {
      writeFileSync(join(dir, 'key'), 'sk-run-test-0123456789abcdef', { mode: 0o600 });
      writeFileSync(join(dir, 'mic.wav'), encodeWav(Buffer.alloc(48_000)));
      const socket = join(dir, 'hang.sock');
      const path = join(dir, 'hang.yaml');
      writeFileSync(
        path,
        stringify({
          realtime: { url: sim.url, apiKeyFile: join(dir, 'key') },
          audio: { input: { device: `file:${join(dir, 'mic.wav')}` }, output: { device: `wav:${join(dir, 'out.wav')}` } },
          gpio: { backend: 'virtual' },
          control: { socket },
          log: { transcriptFile: null },
        }),
      );
      const childEnv: NodeJS.ProcessEnv = { ...process.env };
      delete childEnv.OPENAI_API_KEY;
      const child = spawn(process.execPath, ['--import', TSX, HANGING, path], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = new Promise<{ code: number | null }>((resolve) => child.on('exit', (code) => resolve({ code })));
      const deadline = Date.now() + 15_000;
      for (;;) {
        const up = await sendControlCommand(socket, 'status', 500).then(
          () => true,
          () => false,
        );
        if (up) break;
        if (Date.now() > deadline) throw new Error(`the daemon did not come up:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const t = performance.now();
      child.kill('SIGTERM');
      const { code } = await exited;
      expect(code).toBe(143);
      // The deadline (1.8 s) ended it, not a kill from outside; margin for a loaded CI machine.
      expect(performance.now() - t).toBeLessThan(2_500);
      expect(out).toMatch(/cleanup did not finish within 1800 ms; exiting now/);
    } finally {
      await sim.stop();
    }
  });
});
