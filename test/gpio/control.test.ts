import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { ControlServer, sendControlCommand, VirtualBackend } from '../../src/gpio/index.js';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'ptt-control-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
async function setup() {
  const socketPath = join(root, `run${++n}`, 'nested', 'control.sock'); // directories are created
  const target = new VirtualBackend();
  const contacts: boolean[] = [];
  target.on('contact', (c) => contacts.push(c.pressed));
  const server = new ControlServer({ socketPath, target, logger: memoryLogger() });
  await server.start();
  return { socketPath, server, target, contacts };
}

describe('ControlServer', () => {
  const servers: ControlServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
  });

  it('creates the directory and a 0660 socket, and answers press, release, tap and status with one line each', async () => {
    const { socketPath, server, target, contacts } = await setup();
    servers.push(server);
    expect(statSync(socketPath).isSocket()).toBe(true);
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
    server.setStatusProvider(() => 'listening (turn 3)');
    expect(await sendControlCommand(socketPath, 'press')).toBe('ok');
    expect(target.pressed).toBe(true);
    expect(await sendControlCommand(socketPath, 'release')).toBe('ok');
    expect(await sendControlCommand(socketPath, 'tap 30')).toBe('ok'); // answered after the release
    expect(contacts).toEqual([true, false, true, false]);
    expect(await sendControlCommand(socketPath, 'status')).toBe('listening (turn 3)');
  });

  it('answers a bad command with a clear error line and keeps the connection and socket up', async () => {
    const { socketPath, server, contacts } = await setup();
    servers.push(server);
    const { connect } = await import('node:net');
    const sock = connect(socketPath);
    sock.setEncoding('utf8');
    const lines: string[] = [];
    let buf = '';
    sock.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
    sock.write('jump\ntap -5\ntap 10 20\npress now\n\nPRESS\r\nrelease\n');
    await until(() => lines.length === 6);
    expect(lines[0]).toBe(
      "error: unknown command 'jump'; commands are: press, release, tap [ms], status, profile [NAME], forget, say, ask, stop, volume, mute, talk",
    );
    expect(lines[1]).toMatch(/^error: tap time must be a whole number of ms from 1 to 60000 \(got '-5'\)$/);
    expect(lines[2]).toMatch(/^error: 'tap' takes at most one argument/);
    expect(lines[3]).toBe("error: 'press' takes no argument (got 'now')");
    expect(lines.slice(4)).toEqual(['ok', 'ok']);
    expect(contacts).toEqual([true, false]);
    sock.destroy();
    expect(await sendControlCommand(socketPath, 'status')).toBe('running');
  });

  it('serves many clients at once', async () => {
    const { socketPath, server } = await setup();
    servers.push(server);
    let i = 0;
    server.setStatusProvider(async () => `idle ${++i}`);
    const answers = await Promise.all(Array.from({ length: 20 }, () => sendControlCommand(socketPath, 'status')));
    expect(new Set(answers).size).toBe(20);
  });

  it('a status provider that throws becomes an error line, not a crash', async () => {
    const { socketPath, server } = await setup();
    servers.push(server);
    server.setStatusProvider(() => {
      throw new Error('conductor not ready');
    });
    expect(await sendControlCommand(socketPath, 'status')).toBe('error: conductor not ready');
    expect(await sendControlCommand(socketPath, 'press')).toBe('ok');
  });

  it('a client that sends 10 MB of status lines and never reads is paused, then closed; memory stays bounded', async () => {
    const socketPath = join(root, `run${++n}`, 'control.sock');
    const logger = memoryLogger();
    const server = new ControlServer({ socketPath, target: new VirtualBackend(), logger, unreadTimeoutMs: 500 });
    servers.push(server);
    await server.start();
    let answered = 0;
    server.setStatusProvider(() => {
      answered++;
      return 'idle';
    });
    const heapBefore = process.memoryUsage().heapUsed;
    const client = connect(socketPath);
    client.pause(); // never reads
    client.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    client.write('status\n'.repeat((10 * 1024 * 1024) / 7));
    await closed;
    const lines = (10 * 1024 * 1024) / 7;
    // What the kernel's socket buffers and the 64 KiB cap hold: a small fraction of the 1.5 million asked.
    expect(answered).toBeLessThan(lines / 10);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(60 * 1024 * 1024);
    expect(logger.records().map((r) => r.msg)).toContain('a control client sends commands but does not read the answers; closing it');
    // The socket still serves everyone else.
    expect(await sendControlCommand(socketPath, 'status')).toBe('idle');
  });

  it('a client that pipelines 20000 commands and reads them gets every answer, in order (paused, never dropped)', async () => {
    const { socketPath, server } = await setup();
    servers.push(server);
    let i = 0;
    server.setStatusProvider(() => `s${i++}`);
    const client = connect(socketPath);
    client.setEncoding('utf8');
    let got = '';
    const all = new Promise<void>((resolve) =>
      client.on('data', (d: string) => {
        got += d;
        if (got.split('\n').length > 20_000) resolve();
      }),
    );
    client.write('status\n'.repeat(20_000));
    await all;
    client.destroy();
    const answers = got.trim().split('\n');
    expect(answers).toHaveLength(20_000);
    expect(answers[0]).toBe('s0');
    expect(answers.at(-1)).toBe('s19999');
  });

  it('replaces a stale socket file but refuses a live one and a non-socket file', async () => {
    const { socketPath, server } = await setup();
    await server.stop();
    // A stale socket: a daemon killed with SIGKILL leaves its socket file behind.
    const { spawn } = await import('node:child_process');
    const crashed = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`,
    ]);
    await new Promise((r) => crashed.stdout.once('data', r));
    crashed.kill('SIGKILL');
    await new Promise((r) => crashed.once('exit', r));
    expect(statSync(socketPath).isSocket()).toBe(true);
    writeFileSync(join(root, 'plain'), 'x');
    const second = new ControlServer({ socketPath, target: new VirtualBackend(), logger: memoryLogger() });
    await second.start();
    servers.push(second);
    const third = new ControlServer({ socketPath, target: new VirtualBackend(), logger: memoryLogger() });
    await expect(third.start()).rejects.toMatchObject({ code: 'CONTROL_SOCKET_IN_USE', hint: expect.stringContaining('already running') });
    const onFile = new ControlServer({ socketPath: join(root, 'plain'), target: new VirtualBackend(), logger: memoryLogger() });
    await expect(onFile.start()).rejects.toMatchObject({ code: 'CONTROL_SOCKET_PATH' });
  });

  it('the client names the fix when no daemon listens', async () => {
    await expect(sendControlCommand(join(root, 'nobody.sock'), 'status')).rejects.toMatchObject({
      code: 'CONTROL_NO_DAEMON',
      hint: expect.stringContaining('systemctl start realtime-ptt'),
    });
  });
});

describe('realtime-ptt press/release/tap/status (real processes)', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeAll(async () => {
    ctx = await setup();
    ctx.server.setStatusProvider(() => 'idle');
  });
  afterAll(() => ctx.server.stop());

  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: join(import.meta.dirname, '../..'),
      env: { ...process.env, REALTIME_PTT_CONFIG: join(root, 'none.yaml') },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('tap, status and a bad tap length, through the real CLI', async () => {
    const [tap, status, bad] = await Promise.all([
      cli('tap', '40', '--socket', ctx.socketPath),
      cli('status', '--socket', ctx.socketPath),
      cli('tap', 'soon', '--socket', ctx.socketPath),
    ]);
    expect(tap).toMatchObject({ code: 0, stdout: 'ok\n' });
    expect(status).toMatchObject({ code: 0, stdout: 'idle\n' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("tap time must be a whole number of ms from 1 to 60000 (got 'soon')");
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(ctx.contacts).toEqual([true, false]);
  });

  it('finds the socket from control.socket in the --config file', async () => {
    const config = join(root, 'config.yaml');
    writeFileSync(config, `# a person's comment\ncontrol:\n  socket: ${ctx.socketPath}\n`);
    expect(await cli('status', '--config', config)).toMatchObject({ code: 0, stdout: 'idle\n' });
  });

  it('press and release; with no daemon the error says how to start it', async () => {
    const [press, missing] = await Promise.all([
      cli('press', '--socket', ctx.socketPath),
      cli('release', '--socket', join(root, 'gone.sock')),
    ]);
    expect(press).toMatchObject({ code: 0, stdout: 'ok\n' });
    expect(ctx.target.pressed).toBe(true);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no daemon is listening on ${join(root, 'gone.sock')}`);
    expect(missing.stderr).toContain('fix: start it');
    expect((await cli('release', '--socket', ctx.socketPath)).stdout).toBe('ok\n');
    expect(ctx.target.pressed).toBe(false);
  });
});

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
