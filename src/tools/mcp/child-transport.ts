/**
 * MCP over stdio with a child environment we control completely. The SDK's
 * StdioClientTransport always merges in HOME, USER, SHELL, ... from the daemon; this one gives the
 * child only what the config lists plus a minimal PATH (core/child-env), so the API key or
 * anything else in the daemon's environment can never reach it. Framing is the SDK's own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { toolChildEnv } from '../../core/child-env.js';

export interface ChildTransportOptions {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  /** Called with each line the child writes to stderr (for the log). */
  onStderr?: (line: string) => void;
}

export class ChildTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #o: ChildTransportOptions;
  readonly #buffer = new ReadBuffer();
  #child: ChildProcess | undefined;
  #closed = false;

  constructor(options: ChildTransportOptions) {
    this.#o = options;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.#o.command, this.#o.args ?? [], {
        env: { ...(this.#o.env ?? {}), ...toolChildEnv() },
        stdio: ['pipe', 'pipe', 'pipe'],
        shell: false,
      });
      this.#child = child;
      child.once('error', (err) => {
        reject(err);
        this.onerror?.(err);
        this.#finish();
      });
      child.once('spawn', () => resolve());
      child.once('exit', () => this.#finish());
      child.stdin?.on('error', (err) => this.onerror?.(err));
      child.stdout?.on('data', (chunk: Buffer) => {
        this.#buffer.append(chunk);
        for (;;) {
          let message: JSONRPCMessage | null;
          try {
            message = this.#buffer.readMessage();
          } catch (err) {
            this.onerror?.(err as Error);
            continue;
          }
          if (message === null) break;
          this.onmessage?.(message);
        }
      });
      let partial = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) this.#o.onStderr?.(l);
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.#child?.stdin;
      if (!stdin || this.#closed) return reject(new Error('the server process is not running'));
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve);
    });
  }

  /** Ends stdin, then SIGTERM, then SIGKILL: a server never outlives the daemon. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.#finish();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const within = (ms: number) =>
      Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    child.stdin?.end();
    if (!(await within(500))) {
      child.kill('SIGTERM');
      if (!(await within(1000))) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer.clear();
    this.onclose?.();
  }
}
