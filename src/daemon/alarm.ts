/**
 * A timer or alarm that went off: the alarm earcon repeats and the LED flickers until a press
 * stops it (or `maxMs` passes); that press starts no turn. The assistant also says it in words:
 * an out-of-band response with instructions of its own (`conversation: "none"`), sent at the
 * first quiet moment on a verified session (connecting first in on-demand mode). Without a
 * network the alarm still rings; the words come when the session is back, or not at all.
 */
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import type { OutOfBandResponse } from '../realtime/out-of-band.js';
import type { Timer } from '../tools/builtin/timers.js';
import type { EarconName, LedPort, PressClaim, SessionState } from './ports.js';

export interface AlarmConductor {
  readonly quiet: boolean;
  sound(name: EarconName, always?: boolean): void;
  textTurn(mode: 'say', send: () => boolean): boolean;
}

export interface AlarmSession {
  readonly state: SessionState;
  connect(): void;
  createResponse(options?: OutOfBandResponse): boolean | undefined;
}

export interface AlarmDeps {
  conductor: () => AlarmConductor | undefined;
  session: () => AlarmSession | undefined;
  led: () => LedPort | undefined;
  /** Longest ring without a press. */
  maxMs: () => number;
  logger: Logger;
  repeatMs?: number;
  /** An announcement that finds no quiet verified session for this long is dropped. */
  announceWaitMs?: number;
}

/** What the model is asked to say when a timer goes off. */
export function timerAnnouncement(timer: Timer, late: boolean): OutOfBandResponse {
  const what = timer.kind === 'alarm' ? `The alarm "${timer.name}"` : `The timer "${timer.name}"`;
  const when = late ? ` It went off at ${new Date(timer.dueAt).toLocaleTimeString()} while the device was off.` : '';
  return {
    conversation: 'none',
    input: [],
    output_modalities: ['audio'],
    // Words only: an announcement that called a tool would have nowhere to send its output.
    tool_choice: 'none',
    instructions: `You are a voice assistant on a home speaker. In one short sentence, tell the person: ${what} has gone off.${when} Say nothing else.`,
    metadata: { source: 'realtime-ptt', kind: 'timer' },
  };
}

export class TimerAlarm implements Component, PressClaim {
  readonly name = 'alarm';
  readonly #d: AlarmDeps;
  readonly #log: Logger;
  #ring: NodeJS.Timeout | undefined;
  #bound: NodeJS.Timeout | undefined;
  #held = false;
  readonly #announce: Array<{ response: OutOfBandResponse; until: number }> = [];
  #pump: NodeJS.Timeout | undefined;

  constructor(deps: AlarmDeps) {
    this.#d = deps;
    this.#log = deps.logger.child('alarm');
  }

  get ringing(): boolean {
    return this.#ring !== undefined;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.#silence('the daemon is stopping');
    if (this.#pump) clearInterval(this.#pump);
    this.#pump = undefined;
    this.#announce.length = 0;
  }

  fired(timer: Timer, info: { late: boolean }): void {
    this.#log.info(`${timer.kind} went off`, { name: timer.name, late: info.late, dueAt: new Date(timer.dueAt).toISOString() });
    this.#startRing();
    this.#announce.push({ response: timerAnnouncement(timer, info.late), until: Date.now() + (this.#d.announceWaitMs ?? 120_000) });
    this.#pump ??= setInterval(() => this.#tryAnnounce(), 200);
    this.#tryAnnounce();
  }

  press(): boolean {
    if (!this.ringing) return false;
    this.#held = true;
    this.#silence('stopped by a press');
    return true;
  }

  release(): boolean {
    if (!this.#held) return false;
    this.#held = false;
    return true;
  }

  longPress(): boolean {
    return this.#held;
  }

  #startRing(): void {
    if (this.ringing) return;
    const beep = () => {
      // Not over an answer (the announcement): the beeps wait for it to end.
      if (this.#d.conductor()?.quiet !== false) this.#d.conductor()?.sound('alarm', true);
    };
    beep();
    this.#ring = setInterval(beep, this.#d.repeatMs ?? 1_500);
    this.#d.led()?.signal?.('alarm');
    this.#bound = setTimeout(() => this.#silence(`nobody pressed within ${this.#d.maxMs()} ms`), this.#d.maxMs());
  }

  #silence(why: string): void {
    if (!this.ringing) return;
    clearInterval(this.#ring);
    clearTimeout(this.#bound);
    this.#ring = undefined;
    this.#bound = undefined;
    this.#d.led()?.signal?.(undefined);
    this.#log.info('alarm stopped', { why });
  }

  #tryAnnounce(): void {
    const head = this.#announce[0];
    if (!head) {
      if (this.#pump) clearInterval(this.#pump);
      this.#pump = undefined;
      return;
    }
    if (Date.now() > head.until) {
      this.#announce.shift();
      this.#log.warn('a timer announcement found no verified session in time and was dropped (the alarm rang anyway)');
      return;
    }
    const session = this.#d.session();
    const conductor = this.#d.conductor();
    if (!session || !conductor) return;
    if (session.state !== 'ready') return session.connect();
    if (!conductor.quiet) return;
    if (conductor.textTurn('say', () => session.createResponse(head.response) === true)) {
      this.#announce.shift();
      this.#log.info('timer announced');
    }
  }
}
