/**
 * Commands the config names for state changes (`hooks.on: {listening: [/usr/bin/mpc, pause],
 * idle: [/usr/bin/mpc, play]}`), run as argv (no shell) with the minimal tool environment plus
 * REALTIME_PTT_STATE / REALTIME_PTT_PREVIOUS_STATE, never the API key. A hook that outlives
 * hooks.timeoutMs is killed with its whole process group. Failures are logged, never thrown:
 * a hook cannot touch the conversation.
 *
 * At most one hook process runs at a time. A state that arrives while one runs replaces any
 * state already waiting ("queue latest"): the effects keep their order (pause before play) and
 * the hook of the state the device ended in always runs last; states passed through in the
 * meantime are skipped, which is right for hooks that set the world to match the state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { HookState } from '../config/schema.js';
import type { Component } from '../core/component.js';
import { toolChildEnv } from '../core/child-env.js';
import type { Logger } from '../core/logger.js';

export interface StateHooksOptions {
  on: Partial<Record<HookState, string[]>>;
  timeoutMs: number;
  logger: Logger;
  /** How long a killed hook gets between SIGTERM and SIGKILL. */
  killGraceMs?: number;
}

export type HookOutcome =
  | { state: HookState; result: 'ok'; ms: number }
  | { state: HookState; result: 'failed'; ms: number; exitCode: number | null; signal: string | null; stderr: string }
  | { state: HookState; result: 'timeout'; ms: number }
  | { state: HookState; result: 'spawn-error'; ms: number; error: string };

const STDERR_KEEP = 500;

export class StateHooks implements Component {
  readonly name = 'hooks';
  #o: StateHooksOptions;
  readonly #log: Logger;
  #previous: HookState | undefined;
  #pending: { state: HookState; previous: HookState | undefined } | undefined;
  #running: { child: ChildProcess; done: Promise<void>; timer: NodeJS.Timeout } | undefined;
  #stopped = false;
  /** Called after each hook ends (tests, the benchmark). */
  onOutcome: ((o: HookOutcome) => void) | undefined;

  constructor(options: StateHooksOptions) {
    this.#o = options;
    this.#log = options.logger.child('hooks');
  }

  async start(): Promise<void> {
    this.#stopped = false;
  }

  /** Tell the hooks the device entered `state`. Never blocks, never throws. */
  onState(state: HookState): void {
    const previous = this.#previous;
    this.#previous = state;
    if (this.#stopped || state === previous || !this.#o.on[state]) return;
    if (this.#running) {
      if (this.#pending)
        this.#log.debug('hook skipped: a later state arrived while another hook ran', { skipped: this.#pending.state, state });
      this.#pending = { state, previous };
      return;
    }
    this.#run(state, previous);
  }

  /** hooks.* is applied live: the next state change uses the new commands (a running hook finishes). */
  configure(on: StateHooksOptions['on'], timeoutMs: number): void {
    this.#o = { ...this.#o, on, timeoutMs };
  }

  /** True while a hook process runs. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#pending = undefined;
    const r = this.#running;
    if (!r) return;
    killGroup(r.child, 'SIGKILL');
    await r.done;
  }

  #run(state: HookState, previous: HookState | undefined): void {
    const argv = this.#o.on[state]!;
    const started = performance.now();
    const env = { ...toolChildEnv(), REALTIME_PTT_STATE: state, ...(previous ? { REALTIME_PTT_PREVIOUS_STATE: previous } : {}) };
    // detached: the hook leads its own process group, so a timeout kills what it started too.
    const child = spawn(argv[0]!, argv.slice(1), { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr += d.toString('utf8');
    });
    let timedOut = false;
    let spawnError: string | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), this.#o.killGraceMs ?? 500).unref();
    }, this.#o.timeoutMs);
    const done = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        spawnError = err.message;
      });
      child.once('close', (exitCode, signal) => {
        clearTimeout(timer);
        const ms = Math.round(performance.now() - started);
        const outcome: HookOutcome = spawnError
          ? { state, result: 'spawn-error', ms, error: spawnError }
          : timedOut
            ? { state, result: 'timeout', ms }
            : exitCode === 0
              ? { state, result: 'ok', ms }
              : { state, result: 'failed', ms, exitCode, signal, stderr: stderr.trim().slice(0, STDERR_KEEP) };
        // A hook the group kill left behind would be found by the next kill (same group id).
        killGroup(child, 'SIGKILL');
        this.#report(outcome, argv);
        resolve();
      });
    });
    this.#running = { child, done, timer };
    void done.then(() => {
      this.#running = undefined;
      const next = this.#pending;
      this.#pending = undefined;
      if (next && !this.#stopped) this.#run(next.state, next.previous);
    });
  }

  #report(o: HookOutcome, argv: string[]): void {
    const fields = { state: o.state, program: argv[0], ms: o.ms };
    if (o.result === 'ok') this.#log.debug('hook ran', fields);
    else if (o.result === 'timeout')
      this.#log.warn(`hook for ${o.state} was killed after ${this.#o.timeoutMs} ms`, {
        ...fields,
        hint: 'raise hooks.timeoutMs or make the command return sooner',
      });
    else if (o.result === 'spawn-error')
      this.#log.warn(`hook for ${o.state} could not start: ${o.error}`, {
        ...fields,
        hint: 'hooks.on names an absolute path to an executable',
      });
    else
      this.#log.warn(`hook for ${o.state} failed (${o.signal ? `signal ${o.signal}` : `exit ${o.exitCode}`})`, {
        ...fields,
        stderr: o.stderr,
      });
    try {
      this.onOutcome?.(o);
    } catch {
      // an observer's mistake is not the hook's failure
    }
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
