/**
 * Test harness for fake-gpiod.mjs: a temp bin directory with gpiomon, gpiofind, gpioinfo
 * and gpioset wrappers (put `path` first on PATH) and a control socket through which a
 * test sees every spawned tool and makes it print edges or die.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./fake-gpiod.mjs', import.meta.url));

export interface FakeSpawn {
  tool: string;
  pid: number;
  argv: string[];
  env: Record<string, string>;
  socket: Socket;
}

export class FakeGpiod {
  readonly dir: string;
  readonly binDir: string;
  readonly spawns: FakeSpawn[] = [];
  private readonly server: Server;
  private waiters: Array<(s: FakeSpawn) => void> = [];

  private constructor(dir: string, server: Server) {
    this.dir = dir;
    this.binDir = join(dir, 'bin');
    this.server = server;
  }

  /**
   * `lines` maps line names to "<chip> <offset>", e.g. { GPIO17: 'gpiochip0 17' }; `chips` is what
   * gpiodetect lists (by default a Pi 4's gpiochip0 with 58 lines).
   */
  static async create(
    version: string,
    lines: Record<string, string> = { GPIO17: 'gpiochip0 17' },
    chips: Array<{ name: string; label: string; lines: number }> = [{ name: 'gpiochip0', label: 'pinctrl-bcm2711', lines: 58 }],
  ): Promise<FakeGpiod> {
    const dir = mkdtempSync(join(tmpdir(), 'fake-gpiod-'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ version, lines, chips }));
    for (const tool of ['gpiomon', 'gpiodetect', 'gpiofind', 'gpioinfo', 'gpioset']) {
      const file = join(dir, 'bin', tool);
      writeFileSync(file, `#!/bin/sh\nFAKE_GPIOD_DIR='${dir}' exec '${process.execPath}' '${SCRIPT}' ${tool} "$@"\n`);
      chmodSync(file, 0o755);
    }
    const server = createServer();
    const fake = new FakeGpiod(dir, server);
    server.on('connection', (socket) => fake.onConnection(socket));
    await new Promise<void>((resolve) => server.listen(join(dir, 'ctl.sock'), resolve));
    return fake;
  }

  /** PATH with the fakes first. */
  get path(): string {
    return `${this.binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  }

  /** The next tool that connects (or the n-th overall, if it already did). */
  spawn(index: number, timeoutMs = 5000): Promise<FakeSpawn> {
    const have = this.spawns[index];
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake gpiod: spawn #${index} did not happen in ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        const s = this.spawns[index];
        if (!s) return void this.waiters.push(check);
        clearTimeout(timer);
        resolve(s);
      };
      this.waiters.push(check);
    });
  }

  edge(spawn: FakeSpawn, edge: 'rising' | 'falling', atMs: number): void {
    const ns = Math.round(atMs * 1e6);
    spawn.socket.write(`${JSON.stringify({ edge, sec: Math.floor(ns / 1e9), nsec: ns % 1e9 })}\n`);
  }

  die(spawn: FakeSpawn, code: number, stderr?: string): void {
    spawn.socket.write(`${JSON.stringify({ die: code, stderr })}\n`);
  }

  async close(): Promise<void> {
    for (const s of this.spawns) s.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private onConnection(socket: Socket): void {
    let buf = '';
    socket.setEncoding('utf8');
    const onData = (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      const hello = JSON.parse(buf.slice(0, nl)) as { hello: string; pid: number; argv: string[]; env: Record<string, string> };
      this.spawns.push({ tool: hello.hello, pid: hello.pid, argv: hello.argv, env: hello.env, socket });
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w(this.spawns.at(-1)!);
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
  }
}
