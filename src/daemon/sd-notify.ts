/**
 * systemd's notify protocol (sd_notify(3)): READY, STATUS, RELOADING, STOPPING and WATCHDOG
 * datagrams to $NOTIFY_SOCKET. Does nothing when NOTIFY_SOCKET is unset (a terminal, a test).
 * Node has no Unix datagram sockets, so the `unix-dgram` native addon sends them; it is loaded
 * lazily so a build without it still runs (with a warning saying what systemd is not told).
 */
import { createRequire } from 'node:module';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/secrets.js';
import type { Notifier } from './daemon-types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Sends one datagram to the notify socket; `cb` gets the error, if any. */
export interface NotifyTransport {
  send(message: Buffer, cb: (err?: Error) => void): void;
  close(): void;
}

export interface NotifierOptions {
  logger: Logger;
  env: Env;
  /** Our pid, compared with WATCHDOG_PID. Default process.pid. */
  pid?: number;
  /** Builds the transport for a socket path; default the unix-dgram one. */
  openTransport?: (socketPath: string) => NotifyTransport;
}

/**
 * The watchdog ping interval in ms: half of WATCHDOG_USEC (sd_watchdog_enabled(3)'s advice),
 * or undefined when no watchdog is asked for us (unset, invalid, or WATCHDOG_PID names another process).
 */
export function watchdogIntervalMs(env: Env, pid: number = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2_000));
}

/** CLOCK_MONOTONIC in µs: Node's hrtime is CLOCK_MONOTONIC on Linux, the clock systemd compares against. */
function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1_000n;
}

/** A STATUS value is one line: a newline would start another assignment in the datagram. */
function oneLine(text: string): string {
  return redact(text)
    .replace(/[\r\n]+/g, ' ')
    .slice(0, 1_000);
}

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void;
  close(): void;
  on(event: 'error', listener: (err: Error) => void): void;
}

function unixDgramTransport(socketPath: string): NotifyTransport {
  const require = createRequire(import.meta.url);
  const mod = require('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };
  const socket = mod.createSocket('unix_dgram');
  socket.on('error', () => {}); // send errors arrive through the callback
  return {
    send: (message, cb) => socket.send(message, 0, message.length, socketPath, cb),
    close: () => socket.close(),
  };
}

const SILENT: Notifier = { ready() {}, status() {}, reloading() {}, stopping() {}, startWatchdog() {}, stop() {} };

export function createNotifier(o: NotifierOptions): Notifier {
  const socketPath = o.env.NOTIFY_SOCKET;
  if (!socketPath) return SILENT;
  const log = o.logger.child('sd-notify');
  if (socketPath.startsWith('@')) {
    // unix-dgram copies the path with strncpy, which stops at the leading NUL of an abstract name.
    log.warn('NOTIFY_SOCKET is an abstract socket, which this build cannot reach: systemd is not told READY, STATUS or WATCHDOG', {
      socket: socketPath,
      hint: 'run under systemd itself (it uses /run/systemd/notify), or use Type=simple',
    });
    return SILENT;
  }

  let transport: NotifyTransport | undefined;
  try {
    transport = (o.openTransport ?? unixDgramTransport)(socketPath);
  } catch (err) {
    log.warn('cannot open the systemd notify socket: systemd is not told READY, STATUS or WATCHDOG', {
      socket: socketPath,
      error: err,
      hint: 'reinstall with `npm ci --omit=dev` so the unix-dgram addon is built for this Node, or use Type=simple',
    });
    return SILENT;
  }

  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  const send = (lines: string[]): void => {
    if (!transport) return;
    transport.send(Buffer.from(lines.join('\n')), (err) => {
      // One warning per outage, not one per watchdog ping.
      if (err && !failing) log.warn('systemd notify message not delivered', { socket: socketPath, error: err, message: lines[0] });
      failing = Boolean(err);
    });
  };

  return {
    ready: (status) => send(['READY=1', ...(status ? [`STATUS=${oneLine(status)}`] : [])]),
    status: (text) => send([`STATUS=${oneLine(text)}`]),
    // MONOTONIC_USEC is required by Type=notify-reload (systemd >= 253) and ignored by older ones.
    reloading: () => send(['RELOADING=1', `MONOTONIC_USEC=${monotonicUsec()}`, 'STATUS=reloading the config']),
    stopping: () => send(['STOPPING=1', 'STATUS=stopping']),
    startWatchdog: () => {
      const every = watchdogIntervalMs(o.env, o.pid ?? process.pid);
      if (every === undefined || timer) return;
      send(['WATCHDOG=1']);
      timer = setInterval(() => send(['WATCHDOG=1']), every);
      timer.unref(); // the watchdog must never be what keeps the process alive
      log.debug('watchdog pings started', { everyMs: every });
    },
    stop: () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      transport?.close();
      transport = undefined;
    },
  };
}
