import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { registerSecret } from '../../src/core/secrets.js';
import { createNotifier, watchdogIntervalMs } from '../../src/daemon/sd-notify.js';

interface DgramServer {
  bind(path: string): void;
  close(): void;
  on(event: 'message', l: (buf: Buffer) => void): void;
  on(event: 'error', l: (err: Error) => void): void;
}
const unixDgram = createRequire(import.meta.url)('unix-dgram') as { createSocket(t: 'unix_dgram'): DgramServer };

/** A real notify socket, as systemd's manager binds it; collects each datagram as text. */
function notifySocket() {
  const dir = mkdtempSync(join(tmpdir(), 'ptt-notify-'));
  const path = join(dir, 'notify');
  const server = unixDgram.createSocket('unix_dgram');
  const messages: string[] = [];
  const waiters: Array<() => void> = [];
  server.on('message', (buf) => {
    messages.push(buf.toString());
    waiters.splice(0).forEach((w) => w());
  });
  server.bind(path);
  const until = async (n: number): Promise<string[]> => {
    while (messages.length < n) await new Promise<void>((r) => waiters.push(r));
    return messages;
  };
  return {
    path,
    messages,
    until,
    close: () => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let cleanup: Array<() => void> = [];
afterEach(() => {
  cleanup.forEach((c) => c());
  cleanup = [];
});

describe('sd_notify', () => {
  it('sends READY with a status, STATUS, RELOADING with the monotonic clock and STOPPING', async () => {
    const sock = notifySocket();
    const notifier = createNotifier({ logger: memoryLogger(), env: { NOTIFY_SOCKET: sock.path } });
    cleanup.push(() => notifier.stop(), sock.close);
    notifier.ready('idle: profile verified');
    notifier.status('listening\nREADY=1');
    notifier.reloading();
    notifier.stopping();
    const got = await sock.until(4);
    expect(got[0]).toBe('READY=1\nSTATUS=idle: profile verified');
    // A newline in a status cannot smuggle in another assignment.
    expect(got[1]).toBe('STATUS=listening READY=1');
    const reload = got[2]!.split('\n');
    expect(reload[0]).toBe('RELOADING=1');
    const usec = BigInt(reload[1]!.replace('MONOTONIC_USEC=', ''));
    const now = process.hrtime.bigint() / 1000n;
    expect(usec > 0n && usec <= now).toBe(true);
    expect(got[3]!.startsWith('STOPPING=1')).toBe(true);
  });

  it('pings WATCHDOG=1 at half of WATCHDOG_USEC until stopped', async () => {
    const sock = notifySocket();
    const notifier = createNotifier({
      logger: memoryLogger(),
      env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '40000', WATCHDOG_PID: String(process.pid) },
    });
    cleanup.push(sock.close);
    notifier.startWatchdog();
    notifier.startWatchdog(); // a second start (after a reload) does not double the pings
    const got = await sock.until(4);
    notifier.stop();
    expect(got.slice(0, 4)).toEqual(['WATCHDOG=1', 'WATCHDOG=1', 'WATCHDOG=1', 'WATCHDOG=1']);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '40000' })).toBe(20);
  });

  it('redacts secrets from status lines', async () => {
    const sock = notifySocket();
    const notifier = createNotifier({ logger: memoryLogger(), env: { NOTIFY_SOCKET: sock.path } });
    cleanup.push(() => notifier.stop(), sock.close);
    registerSecret('not-a-real-key-0123456789');
    notifier.status('error with not-a-real-key-0123456789');
    expect((await sock.until(1))[0]).toBe('STATUS=error with [redacted]');
  });

  it('no watchdog when WATCHDOG_PID names another process or WATCHDOG_USEC is unset', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '1' }, 4242)).toBeUndefined();
    expect(watchdogIntervalMs({}, 4242)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 4242)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '4242' }, 4242)).toBe(15_000);
  });

  it('does nothing without NOTIFY_SOCKET, and warns once about an abstract or unreachable socket', async () => {
    const log = memoryLogger();
    const silent = createNotifier({ logger: log, env: {} });
    silent.ready('x');
    silent.startWatchdog();
    silent.stop();
    expect(log.lines).toEqual([]);

    createNotifier({ logger: log, env: { NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' } }).ready();
    expect(log.records()[0]).toMatchObject({ level: 'warn', socket: '@/org/freedesktop/systemd1/notify' });

    const gone = memoryLogger();
    const n = createNotifier({ logger: gone, env: { NOTIFY_SOCKET: join(tmpdir(), 'no-such-dir-ptt', 'notify') } });
    n.ready();
    n.status('a');
    n.stop();
    const warns = gone.records().filter((r) => r.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ msg: 'systemd notify message not delivered', message: 'READY=1' });
  });
});
