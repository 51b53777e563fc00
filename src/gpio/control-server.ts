import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { PttError, describeError } from '../core/errors.js';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import { dispatchCommand, type DeviceCommands } from '../home/commands.js';
import { MAX_LINE_BYTES, oneLine, parseControlLine, type ControlCommand } from './control-protocol.js';

/** What the socket drives: the virtual button. */
export interface ControlTarget {
  press(): void;
  release(): void;
  tap(ms: number): Promise<void>;
}

export type StatusProvider = () => string | Promise<string>;

/** What the daemon answers beyond the button: profiles and the conversation memory. */
export interface DaemonCommands {
  /** No name: the active profile and the list; a name: switch to it (resolves once applied). */
  profile(name?: string): Promise<string>;
  forget(): string;
}

export interface ControlServerOptions {
  socketPath: string;
  target: ControlTarget;
  /** say, ask, stop, volume, mute, talk: the daemon's one implementation (daemon/home-wiring.ts). */
  device?: DeviceCommands;
  logger: Logger;
  /** Answers one connection may have queued or unread before it is paused. */
  maxPendingAnswers?: number;
  /** Answer bytes one connection may leave unread before it is paused. */
  maxUnreadBytes?: number;
  /** How long a paused connection has to read its answers before it is closed. */
  unreadTimeoutMs?: number;
}

const MAX_PENDING_ANSWERS = 64;
const MAX_UNREAD_BYTES = 64 * 1024;
const UNREAD_TIMEOUT_MS = 5_000;

/**
 * The control socket: a Unix stream socket (mode 0660, so group members may press) where
 * each line is a command and gets exactly one answer line. A bad line gets `error: ...`
 * and the connection stays usable; any number of clients may be connected.
 */
export class ControlServer implements Component {
  readonly name = 'gpio.control';
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();
  private status: StatusProvider = () => 'running';
  private commands: DaemonCommands | undefined;

  constructor(private readonly options: ControlServerOptions) {}

  /** The daemon sets what `status` answers (its state line). */
  setStatusProvider(provider: StatusProvider): void {
    this.status = provider;
  }

  /** The daemon sets who answers `profile` and `forget`. */
  setCommands(commands: DaemonCommands | undefined): void {
    this.commands = commands;
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const path = this.options.socketPath;
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    } catch (err) {
      throw new PttError('CONTROL_SOCKET_DIR', `cannot create the control socket directory ${dirname(path)}: ${(err as Error).message}`, {
        cause: err,
        context: { path },
        hint: 'choose a writable control.socket path, or let systemd create it (RuntimeDirectory=realtime-ptt)',
      });
    }
    await removeStaleSocket(path);
    const server = createServer((socket) => this.onClient(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new PttError('CONTROL_SOCKET_LISTEN', `cannot listen on ${path}: ${err.message}`, { cause: err, context: { path } })),
      );
      server.listen(path, () => resolve());
    });
    this.server = server;
    await chmod(path, 0o660);
    server.on('error', (err) => this.options.logger.warn('control socket error', { error: err }));
    this.options.logger.info('control socket listening', { path });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(this.options.socketPath).catch(() => undefined);
  }

  private onClient(socket: Socket): void {
    this.clients.add(socket);
    socket.setEncoding('utf8');
    const maxPending = this.options.maxPendingAnswers ?? MAX_PENDING_ANSWERS;
    const maxUnread = this.options.maxUnreadBytes ?? MAX_UNREAD_BYTES;
    let buffer = '';
    let pending = 0;
    let unreadTimer: NodeJS.Timeout | undefined;
    // Commands from one client run in order (a tap answers after its release).
    let queue: Promise<void> = Promise.resolve();
    const full = () => pending >= maxPending || socket.writableLength >= maxUnread;
    /**
     * Takes lines from the buffer while answers may be queued. A client that sends faster than
     * it reads its answers is paused (the kernel then blocks its writes); one that still has not
     * read after unreadTimeoutMs is closed: nobody can make the daemon hold answers without end.
     */
    const pump = (): void => {
      let nl: number;
      while (!full() && (nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (!line.trim()) continue;
        pending++;
        queue = queue.then(() => this.answer(socket, line)).finally(settled);
      }
      if (buffer.indexOf('\n') < 0 && buffer.length > MAX_LINE_BYTES) {
        buffer = '';
        queue = queue.then(() => {
          socket.end(`error: line longer than ${MAX_LINE_BYTES} bytes; commands are one short line each\n`);
        });
      }
      if (full()) hold();
      else release();
    };
    const settled = (): void => {
      pending--;
      if (unreadTimer && !full()) pump();
    };
    const hold = (): void => {
      if (unreadTimer || socket.destroyed) return;
      socket.pause();
      unreadTimer = setTimeout(() => {
        this.options.logger.warn('a control client sends commands but does not read the answers; closing it', {
          pendingAnswers: pending,
          unreadBytes: socket.writableLength,
        });
        socket.destroy();
      }, this.options.unreadTimeoutMs ?? UNREAD_TIMEOUT_MS);
    };
    const release = (): void => {
      if (!unreadTimer) return;
      clearTimeout(unreadTimer);
      unreadTimer = undefined;
      socket.resume();
    };
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      pump();
    });
    socket.on('drain', () => {
      if (unreadTimer) pump();
    });
    socket.on('error', () => undefined); // a client that vanished is not our problem
    socket.on('close', () => {
      clearTimeout(unreadTimer);
      this.clients.delete(socket);
    });
  }

  private async answer(socket: Socket, line: string): Promise<void> {
    const parsed = parseControlLine(line);
    let reply: string;
    if (!parsed.ok) {
      reply = `error: ${parsed.error}`;
    } else {
      try {
        reply = await this.run(parsed.command);
      } catch (err) {
        reply = `error: ${describeError(err)}`;
      }
    }
    if (!parsed.ok) this.options.logger.debug('bad control command', { line: line.slice(0, 80) });
    if (!socket.destroyed) socket.write(`${oneLine(reply)}\n`);
  }

  private async run(command: ControlCommand): Promise<string> {
    const { target } = this.options;
    switch (command.kind) {
      case 'press':
        target.press();
        return 'ok';
      case 'release':
        target.release();
        return 'ok';
      case 'tap':
        await target.tap(command.ms);
        return 'ok';
      case 'status':
        return await this.status();
      case 'device':
        if (!this.options.device) throw new PttError('COMMAND_NOT_NOW', 'this control socket takes no device commands', { context: {} });
        this.options.logger.info('command from the control socket', { command: command.command.name });
        await dispatchCommand(command.command, this.options.device);
        return 'ok';
      case 'profile':
        if (!this.commands) return 'error: this daemon has no profiles to switch';
        return await this.commands.profile(command.name);
      case 'forget':
        if (!this.commands) return 'error: this daemon keeps no conversation memory';
        return this.commands.forget();
    }
  }
}

/**
 * A socket file left by a crashed daemon is removed; a live one (another daemon answers)
 * or a file that is not a socket is an error: neither is ours to delete.
 */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat) return;
  if (!stat.isSocket()) {
    throw new PttError('CONTROL_SOCKET_PATH', `${path} exists and is not a socket`, {
      context: { path },
      hint: 'remove it or set control.socket to another path',
    });
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw new PttError('CONTROL_SOCKET_IN_USE', `another process is serving the control socket ${path}`, {
      context: { path },
      hint: 'is realtime-ptt already running? (systemctl status realtime-ptt) Stop it or set control.socket to another path',
    });
  }
  await unlink(path);
}
