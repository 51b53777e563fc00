/**
 * `realtime-ptt doctor` as a person runs it: a real process, real libasound through the ALSA
 * file-plugin sandbox, the real simulator for --connect. Asserts what the person reads: each
 * check's verdict, the fix under a failure, the exit status, and that the key never shows.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { RealtimeSimulator } from '../../src/simulator/index.js';
import { createAlsaSandbox, type AlsaSandbox } from '../support/alsa.js';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const KEY = 'sk-doctor-test-0123456789abcdefghijkl';
const STDIO_SERVER = fileURLToPath(new URL('../support/mcp-stdio-server.ts', import.meta.url));

let dir: string;
let alsa: AlsaSandbox;
let sim: RealtimeSimulator;
let credentials: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-doctor-'));
  credentials = join(dir, 'credentials');
  mkdirSync(credentials);
  writeFileSync(join(credentials, 'openai-api-key'), `${KEY}\n`, { mode: 0o600 });
  alsa = await createAlsaSandbox();
  alsa.mic.start(); // the capture probe opens the FIFO: a writer must exist
  sim = new RealtimeSimulator({ apiKey: KEY });
  await sim.start();
});
afterAll(async () => {
  await sim?.stop();
  await alsa?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function config(name: string, overrides: Record<string, unknown> = {}): string {
  const path = join(dir, `${name}.yaml`);
  const base = {
    audio: { input: { device: alsa.captureDevice }, output: { device: alsa.playbackDevice } },
    gpio: { backend: 'virtual' },
    realtime: { url: sim.url, timeouts: { connectMs: 2_000, sessionUpdateMs: 1_000 } },
  };
  const merged = { ...base, ...overrides };
  writeFileSync(path, stringify(merged));
  return path;
}

function doctor(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...alsa.env, CREDENTIALS_DIRECTORY: credentials, ...env };
  delete childEnv.OPENAI_API_KEY;
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'doctor', ...args], { env: childEnv });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

/** The report line of one check: `OK    name  detail`. */
const line = (out: string, name: string): string =>
  out.split('\n').find((l) => new RegExp(`^(OK|WARN|FAIL)\\s+${name}\\s{2}`).test(l)) ?? `(no "${name}" line in)\n${out}`;
const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('realtime-ptt doctor', () => {
  it('a working setup: every device opens at 24 kHz mono, the key is found but not shown, exit 0', async () => {
    const r = await doctor(['--config', config('good')]);
    expect(r.err).toBe('');
    expect(line(r.out, 'config')).toMatch(/^OK /);
    expect(line(r.out, 'api key')).toBe(
      `OK    api key           found (credential ${join(credentials, 'openai-api-key')}), ${KEY.length} characters`,
    );
    expect(line(r.out, 'capture device')).toMatch(/^OK\s+capture device\s+"ptt_mic" opens at 24 kHz mono S16_LE$/);
    expect(line(r.out, 'playback device')).toMatch(/^OK\s+playback device\s+"ptt_play" opens at 24 kHz mono S16_LE$/);
    expect(line(r.out, 'gpio')).toMatch(/^OK /);
    expect(r.out).not.toContain(KEY);
    expect(r.out).not.toMatch(/^FAIL/m);
    expect(r.code).toBe(0);
  });

  it('a missing device and a mangled key: FAIL with the fix, WARN on the shape, exit 1', async () => {
    const keys = join(dir, 'bad-credentials');
    mkdirSync(keys, { recursive: true });
    writeFileSync(join(keys, 'openai-api-key'), 'sk-abc def\n');
    const path = config('missing', { audio: { input: { device: alsa.missingDevice }, output: { device: alsa.playbackDevice } } });
    const r = await doctor(['--config', path], { CREDENTIALS_DIRECTORY: keys });
    const lines = r.out.split('\n');
    const at = lines.findIndex((l) =>
      /^FAIL\s+capture device\s+"ptt_no_such_device" is missing \(not connected or not defined\): .*; the daemon waits for it to appear/.test(
        l,
      ),
    );
    expect(at, r.out).toBeGreaterThanOrEqual(0);
    expect(lines[at + 1]).toMatch(/^\s+fix: plug it in, or set audio.input.device to one of: .*ptt_mic/);
    expect(line(r.out, 'playback device')).toMatch(/^OK /);
    expect(line(r.out, 'api key')).toMatch(
      /^WARN\s+api key\s+found \(credential .*\), 10 characters, but it does not look like an OpenAI key/,
    );
    expect(r.out).not.toContain('sk-abc def');
    expect(r.code).toBe(1);
  });

  it('an invalid config: FAIL naming the key and value, the rest not checked, no stack, exit 1', async () => {
    const path = join(dir, 'invalid.yaml');
    writeFileSync(path, stringify({ session: { voice: 'robot' } }));
    const r = await doctor(['--config', path]);
    expect(line(r.out, 'config')).toMatch(/^FAIL /);
    expect(r.out).toMatch(/session\.voice/);
    expect(r.out).toMatch(/"robot"/);
    expect(r.out).toMatch(/not checked: they need a valid config/);
    noStack(r.out + r.err);
    expect(r.code).toBe(1);
  });

  it('--connect verifies the device profile on a real session; a refused key fails with the reason', async () => {
    const before = sim.framesOf('session.update').length;
    const good = await doctor(['--config', config('connect', { session: { instructions: 'doctor test profile' } }), '--connect']);
    expect(line(good.out, 'connection')).toMatch(
      new RegExp(`^OK\\s+connection\\s+${sim.url.replace(/[.?]/g, '\\$&')} \\(gpt-realtime\\): profile verified in \\d+ ms`),
    );
    const updates = sim.framesOf('session.update').slice(before);
    expect(updates.length).toBeGreaterThan(0);
    expect(JSON.stringify(updates.at(-1)!.event)).toContain('doctor test profile');
    expect(good.code).toBe(0);

    const wrong = join(dir, 'wrong-credentials');
    mkdirSync(wrong, { recursive: true });
    writeFileSync(join(wrong, 'openai-api-key'), 'sk-wrong-key-0123456789abcdefghijkl\n');
    const refused = await doctor(['--config', config('refused'), '--connect'], { CREDENTIALS_DIRECTORY: wrong });
    expect(line(refused.out, 'connection')).toMatch(/^FAIL\s+connection\s+.*(401|refused|rejected|key)/i);
    expect(refused.out).toMatch(/^\s+fix: /m);
    expect(refused.out).not.toContain('sk-wrong-key-0123456789abcdefghijkl');
    noStack(refused.out + refused.err);
    expect(refused.code).toBe(1);

    const closed = await doctor(['--config', config('closed', { realtime: { url: 'ws://127.0.0.1:1/v1/realtime' } }), '--connect']);
    // doctor reports the first failure and stops; it must not claim to be reconnecting.
    expect(line(closed.out, 'connection')).toMatch(
      /^FAIL\s+connection\s+could not connect to ws:\/\/127\.0\.0\.1:1\/v1\/realtime: .*ECONNREFUSED[^;]*$/,
    );
    expect(closed.code).toBe(1);
  });

  it('connects to each MCP server: lists the tools of one that runs, FAIL with the fix for a missing command, exit 1', async () => {
    const path = config('mcp', {
      tools: {
        mcpServers: [
          { name: 'box', transport: 'stdio', command: process.execPath, args: ['--import', TSX, STDIO_SERVER], deny: ['crash'] },
          { name: 'gone', transport: 'stdio', command: '/nonexistent/mcp-server' },
        ],
      },
    });
    const r = await doctor(['--config', path]);
    expect(line(r.out, 'mcp box')).toMatch(/^OK\s+mcp box\s+5 tool\(s\): box_echo, box_sleep, box_fail, box_big, box_dotted_name_\w+$/);
    const lines = r.out.split('\n');
    const at = lines.findIndex((l) =>
      /^FAIL\s+mcp gone\s+MCP server gone: cannot connect to \/nonexistent\/mcp-server: command .* not found/.test(l),
    );
    expect(at, r.out).toBeGreaterThanOrEqual(0);
    expect(lines[at + 1]).toMatch(/^\s+fix: check that \/nonexistent\/mcp-server runs on its own$/);
    noStack(r.out + r.err);
    expect(r.code).toBe(1);
  });
});
