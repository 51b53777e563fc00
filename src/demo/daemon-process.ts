/**
 * Drives a real `realtime-ptt run` child process: reads its JSON log lines, waits for the ones
 * that matter, presses its virtual button over the control socket, and stops it with a signal.
 * Shared by the demo, the end-to-end tests and the daemon benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PttError } from '../core/errors.js';
import { sendControlCommand } from '../gpio/index.js';

export type LogRecord = Record<string, unknown> & { msg: string; level: string; component?: string };

export interface DaemonProcessOptions {
  configPath: string;
  socketPath: string;
  /** The child's whole environment (never holds the API key unless the caller puts it there). */
  env: NodeJS.ProcessEnv;
  /** How to start the CLI: the built `dist/cli.js` (default), the sources through tsx, or another build's cli.js (a benchmark's peer). */
  entry?: 'dist' | 'tsx' | { cli: string };
  /** Sees every log line as it arrives (the demo prints them). */
  onRecord?: (record: LogRecord) => void;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

// This file sits two levels below the repository root both as src/demo/*.ts and dist/demo/*.js.
const DIST_CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const SRC_CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export class DaemonProcess {
  readonly records: LogRecord[] = [];
  /** stderr and any stdout line that is not JSON. */
  other = '';
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  #waiters = new Set<{ test: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }>();
  #exit: Exit | undefined;

  constructor(private readonly o: DaemonProcessOptions) {
    // tsx resolved here, not from the child's working directory.
    const args =
      o.entry === 'tsx' ? ['--import', import.meta.resolve('tsx'), SRC_CLI] : [typeof o.entry === 'object' ? o.entry.cli : DIST_CLI];
    this.child = spawn(process.execPath, [...args, 'run', '--config', o.configPath], { env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        this.#line(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.other += chunk));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  /** The log records matching `test` seen so far. */
  find(test: (r: LogRecord) => boolean): LogRecord[] {
    return this.records.filter(test);
  }

  /** Resolves with the first record (already seen or future) that matches. */
  waitFor(test: (r: LogRecord) => boolean, what: string, timeoutMs = 10_000, since = 0): Promise<LogRecord> {
    const seen = this.records.slice(since).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (r: LogRecord) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new PttError(
            'DAEMON_WAIT_TIMEOUT',
            `the daemon did not log ${what} within ${timeoutMs} ms${this.#exit ? ` (it exited: ${JSON.stringify(this.#exit)})` : ''}\nlast lines:\n${this.tail(8)}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Waits for the next per-turn log line after the records seen so far. */
  nextTurn(timeoutMs = 15_000): Promise<LogRecord> {
    return this.waitFor((r) => r.msg === 'turn', 'a turn line', timeoutMs, this.records.length);
  }

  /** Sends one control line (press, release, tap [ms], status); resolves with the answer. */
  async control(line: string): Promise<string> {
    const answer = await sendControlCommand(this.o.socketPath, line);
    if (answer.startsWith('error')) throw new PttError('CONTROL_REFUSED', `the daemon refused '${line}': ${answer}`);
    return answer;
  }

  /** Waits until the control socket answers (the daemon is up). */
  async waitForControl(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await sendControlCommand(this.o.socketPath, 'status', 1_000);
        return;
      } catch (err) {
        if (this.#exit)
          throw new PttError(
            'DAEMON_EXITED',
            `the daemon exited (${JSON.stringify(this.#exit)}) before its control socket answered:\n${this.other}${this.tail(8)}`,
          );
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Sends a signal and resolves with how it exited and how long that took. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5_000): Promise<Exit & { ms: number }> {
    const started = performance.now();
    if (!this.#exit) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return { ...exit, ms: Math.round(performance.now() - started) };
  }

  tail(n: number): string {
    return this.records
      .slice(-n)
      .map((r) => JSON.stringify(r))
      .join('\n');
  }

  #line(line: string): void {
    if (!line.trim()) return;
    let record: LogRecord;
    try {
      record = JSON.parse(line) as LogRecord;
    } catch {
      this.other += `${line}\n`;
      return;
    }
    this.records.push(record);
    this.o.onRecord?.(record);
    for (const w of [...this.#waiters]) if (w.test(record)) w.resolve(record);
  }
}
