/**
 * Named timers and alarms that live on the device, so they work without a network. They persist
 * in the state directory (timers.json) across restarts; one that came due while the daemon was
 * down fires at start with `late: true`. Ringing, LED and the spoken announcement listen to
 * `fired` (the daemon's part); this module only keeps time.
 */
import { join } from 'node:path';
import type { PttError } from '../../core/errors.js';
import { isPlainObject } from '../../core/guards.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { readJsonState, writeJsonState } from '../../core/state-file.js';
import type { Tool, ToolResult } from '../types.js';

export interface Timer {
  name: string;
  kind: 'timer' | 'alarm';
  /** Epoch ms. */
  dueAt: number;
  createdAt: number;
}

export type TimerEvents = {
  fired: [timer: Timer, info: { late: boolean }];
  /** The list of timers changed (set, cancelled, fired): what is pending now, soonest first. */
  changed: [timers: Timer[]];
  error: [PttError];
};

const FILE = 'timers.json';
// setTimeout cannot wait longer than 2^31-1 ms; a far timer re-arms at most once a day.
const MAX_WAIT_MS = 24 * 3600_000;

export class TimerStore extends TypedEmitter<TimerEvents> {
  readonly name = 'timers';
  readonly #path: string;
  readonly #now: () => number;
  #timers = new Map<string, Timer>();
  #handle: NodeJS.Timeout | undefined;
  #writes: Promise<void> = Promise.resolve();
  #started = false;

  constructor(options: { stateDir: string; now?: () => number }) {
    super();
    this.#path = join(options.stateDir, FILE);
    this.#now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    let saved: unknown;
    try {
      saved = await readJsonState(this.#path);
    } catch (err) {
      this.emit('error', err as PttError);
    }
    for (const t of Array.isArray(saved) ? saved : []) {
      if (isTimer(t)) this.#timers.set(t.name, t);
    }
    this.#fireDue(true);
  }

  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#handle);
    this.#handle = undefined;
    await this.#writes;
  }

  list(): Timer[] {
    return [...this.#timers.values()].sort((a, b) => a.dueAt - b.dueAt);
  }

  /** Sets (or replaces) the timer called `name`; resolves once it is on disk. */
  async set(name: string, kind: Timer['kind'], dueAt: number): Promise<Timer> {
    const timer: Timer = { name, kind, dueAt, createdAt: this.#now() };
    this.#timers.set(name, timer);
    this.#arm();
    await this.#save();
    return timer;
  }

  async cancel(name: string): Promise<Timer | undefined> {
    const t = this.#timers.get(name);
    if (!t) return undefined;
    this.#timers.delete(name);
    this.#arm();
    await this.#save();
    return t;
  }

  /** Tools: set_timer, set_alarm, list_timers, cancel_timer. */
  tools(): Tool[] {
    return timerTools(this, this.#now);
  }

  #fireDue(late: boolean): void {
    const now = this.#now();
    const due = this.list().filter((t) => t.dueAt <= now);
    for (const t of due) this.#timers.delete(t.name);
    if (due.length) void this.#save();
    for (const t of due) this.emit('fired', t, { late });
    this.#arm();
  }

  #arm(): void {
    clearTimeout(this.#handle);
    this.#handle = undefined;
    const next = this.list()[0];
    if (!next || !this.#started) return;
    const wait = Math.min(MAX_WAIT_MS, Math.max(0, next.dueAt - this.#now()));
    this.#handle = setTimeout(() => this.#fireDue(false), wait);
  }

  #save(): Promise<void> {
    const snapshot = this.list();
    this.emit('changed', snapshot);
    this.#writes = this.#writes
      .then(() => writeJsonState(this.#path, snapshot))
      .catch((err: unknown) => {
        this.emit('error', err as PttError);
      });
    return this.#writes;
  }
}

function isTimer(v: unknown): v is Timer {
  return (
    isPlainObject(v) &&
    typeof v.name === 'string' &&
    (v.kind === 'timer' || v.kind === 'alarm') &&
    typeof v.dueAt === 'number' &&
    typeof v.createdAt === 'number'
  );
}

const NAME = { type: 'string', minLength: 1, maxLength: 60, description: 'A short name, e.g. "pasta" or "wake up".' };

/** The next time the clock shows hh:mm (local time), today or tomorrow. */
export function nextLocalTime(hhmm: string, now: number): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const d = new Date(now);
  d.setHours(h, m, 0, 0);
  if (d.getTime() <= now) d.setDate(d.getDate() + 1);
  return d.getTime();
}

function describe(t: Timer, now: number): Record<string, unknown> {
  return {
    name: t.name,
    kind: t.kind,
    dueAtLocal: new Date(t.dueAt).toLocaleString('sv-SE'),
    secondsLeft: Math.max(0, Math.round((t.dueAt - now) / 1000)),
  };
}

function ok(value: unknown): ToolResult {
  return { text: JSON.stringify(value) };
}

function timerTools(store: TimerStore, now: () => number): Tool[] {
  const tool = (name: string, description: string, parameters: Record<string, unknown>, run: Tool['run']): Tool => ({
    source: 'builtin',
    originalName: name,
    definition: { type: 'function', name, description, parameters: { type: 'object', additionalProperties: false, ...parameters } },
    run,
  });
  return [
    tool(
      'set_timer',
      'Start a named countdown timer on the device. It rings even without a network. A timer with the same name is replaced.',
      {
        properties: { name: NAME, seconds: { type: 'integer', minimum: 1, maximum: 7 * 86400, description: 'Length in seconds.' } },
        required: ['name', 'seconds'],
      },
      async (args) => {
        const t = await store.set(String(args.name), 'timer', now() + Number(args.seconds) * 1000);
        return ok({ set: describe(t, now()) });
      },
    ),
    tool(
      'set_alarm',
      'Set a named alarm at a local clock time (the next time the clock shows it, today or tomorrow). An alarm with the same name is replaced.',
      {
        properties: {
          name: NAME,
          time: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: '24-hour local time HH:MM.' },
        },
        required: ['name', 'time'],
      },
      async (args) => {
        const t = await store.set(String(args.name), 'alarm', nextLocalTime(String(args.time), now()));
        return ok({ set: describe(t, now()) });
      },
    ),
    tool('list_timers', 'List the timers and alarms that are set, soonest first.', { properties: {} }, async () =>
      ok({ timers: store.list().map((t) => describe(t, now())) }),
    ),
    tool('cancel_timer', 'Cancel a timer or alarm by its name.', { properties: { name: NAME }, required: ['name'] }, async (args) => {
      const t = await store.cancel(String(args.name));
      if (!t) {
        const names = store.list().map((x) => x.name);
        return {
          isError: true,
          text: `no timer or alarm named ${JSON.stringify(args.name)}; set: ${names.length ? names.join(', ') : 'none'}`,
        };
      }
      return ok({ cancelled: t.name });
    }),
  ];
}
