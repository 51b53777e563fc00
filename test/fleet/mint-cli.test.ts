import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';

const KEY = 'cli-real-key-0123456789abcdefghij';
let sim: RealtimeSimulator;
let dir: string;
beforeAll(async () => {
  sim = new RealtimeSimulator({ apiKey: KEY, logger: memoryLogger() });
  await sim.start();
  dir = mkdtempSync(join(tmpdir(), 'ptt-mint-cli-'));
});
afterAll(async () => {
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => [process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args]] as const;

describe('realtime-ptt mint-server (CLI)', () => {
  it('hash-token makes a line and a token; the server mints with it, SIGHUP revokes it, SIGTERM stops it; the key is in no output', async () => {
    const made = spawnSync(...cli(['mint-server', 'hash-token', '--device', 'kitchen']), { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const [line, token] = made.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(line).toMatch(/^kitchen sha256:[0-9a-f]{64}$/);
    expect(token).toMatch(/^rtd_[A-Za-z0-9_-]{43}$/);
    const tokens = join(dir, 'tokens');
    writeFileSync(tokens, `${line}\n`);

    const child = spawn(...cli(['mint-server', '--port', '0', '--tokens', tokens, '--upstream', sim.httpUrl]), {
      env: { PATH: process.env.PATH, OPENAI_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      while (!out.includes('\n')) {
        if (child.exitCode !== null) throw new Error(`mint-server exited: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const url = out.trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/realtime\/client_secrets$/);
      const post = () =>
        fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: '{"session":{"type":"realtime"}}' });
      const ok = await post();
      const okBody = await ok.text();
      expect(ok.status).toBe(200);
      expect(okBody).not.toContain(KEY);

      writeFileSync(tokens, '# kitchen was lost\n');
      const loads = () => err.split('\n').filter((l) => l.includes('device tokens loaded')).length;
      const before = loads();
      child.kill('SIGHUP');
      while (loads() === before) await new Promise((r) => setTimeout(r, 20));
      expect((await post()).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).toContain('"device":"kitchen"');
    expect(`${out}${err}`).not.toContain(KEY);
    expect(err).not.toContain(token);
  });

  it('without a key it says where to put one, and exits 1', () => {
    const r = spawnSync(...cli(['mint-server', '--port', '0', '--tokens', join(dir, 'none')]), {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no OpenAI API key is set\n {2}fix: put the key in one of/);
  });
});
