/**
 * `say` and `ask` on the session: each waits in a short queue for an idle moment (nobody talking,
 * no answer awaited or playing) on a verified session, connecting first in on-demand mode, then
 * becomes a conductor turn of its own (mode `say` / `ask`): its answer plays through the speaker,
 * a press cuts it (barge-in), and it is logged and written to the transcript file like any turn.
 *
 * It looks for that moment only while something waits (a 100 ms check), never when idle.
 */
import type { Component } from '../core/component.js';
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { announcementResponse, questionItem, type OutOfBandResponse, type TextItem } from '../realtime/out-of-band.js';
import type { SessionState } from './ports.js';

/** What the announcer needs of the conductor. */
export interface AnnouncerConductor {
  readonly quiet: boolean;
  textTurn(mode: 'say' | 'ask', send: () => boolean, question?: { itemId: string; text: string }): boolean;
}

/** What the announcer needs of the session (the one in use: a reload may replace it). */
export interface AnnouncerSession {
  readonly state: SessionState;
  /** A response is still running on the server (a cut one until its response.done): one at a time. */
  readonly responding: boolean;
  connect(): void;
  sendItem(item: TextItem): boolean;
  createResponse(options?: OutOfBandResponse): boolean;
}

export interface AnnouncerOptions {
  conductor: () => AnnouncerConductor | undefined;
  session: () => AnnouncerSession | undefined;
  logger: Logger;
  /** An announcement that finds no idle moment (or no session) for this long is dropped. Default 60 s. */
  waitMs?: number;
  /** Announcements waiting at most. Default 5. */
  maxQueued?: number;
  /** A dropped announcement (its error is logged too). */
  onError?: (error: PttError) => void;
  checkMs?: number;
}

interface Pending {
  kind: 'say' | 'ask';
  text: string;
  until: number;
}

export class Announcer implements Component {
  readonly name = 'announcer';
  readonly #o: AnnouncerOptions;
  readonly #log: Logger;
  readonly #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #seq = 0;

  constructor(options: AnnouncerOptions) {
    this.#o = options;
    this.#log = options.logger.child('announcer');
  }

  get waiting(): number {
    return this.#queue.length;
  }

  async start(): Promise<void> {
    this.#running = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.clear('the daemon is stopping');
  }

  /** Queues an announcement or a question; throws a PttError when the queue is full or stopped. */
  add(kind: 'say' | 'ask', text: string): void {
    const max = this.#o.maxQueued ?? 5;
    if (!this.#running) {
      throw new PttError('ANNOUNCE_NOT_RUNNING', `cannot ${kind} now: the daemon is not running its session yet`, {
        context: { command: kind },
        hint: 'try again once realtime-ptt status says idle',
      });
    }
    if (this.#queue.length >= max) {
      throw new PttError('ANNOUNCE_QUEUE_FULL', `${max} announcements and questions are waiting already; '${kind}' was refused`, {
        context: { command: kind, waiting: this.#queue.length, max },
        hint: 'wait for them to be spoken, or send stop to drop them',
      });
    }
    this.#queue.push({ kind, text, until: Date.now() + (this.#o.waitMs ?? 60_000) });
    this.#log.info(`${kind} queued`, { chars: text.length, waiting: this.#queue.length });
    this.#pump();
  }

  /** Drops what waits (the stop command); returns how many. */
  clear(reason: string): number {
    const n = this.#queue.splice(0).length;
    if (n > 0) this.#log.info('announcements dropped', { dropped: n, reason });
    this.#arm();
    return n;
  }

  #pump(): void {
    const head = this.#queue[0];
    if (!head || !this.#running) return this.#arm();
    if (Date.now() > head.until) {
      this.#queue.shift();
      const session = this.#o.session();
      const why = session?.state === 'ready' ? 'no quiet moment came' : `the session was not ready (${session?.state ?? 'none'})`;
      const error = new PttError('ANNOUNCE_TIMED_OUT', `a ${head.kind} waited ${this.#o.waitMs ?? 60_000} ms and was dropped: ${why}`, {
        context: { command: head.kind, chars: head.text.length },
        hint: 'check realtime-ptt status; the session may be unable to connect',
      });
      this.#log.warn(error.message, { error });
      this.#o.onError?.(error);
      return this.#pump();
    }
    const session = this.#o.session();
    const conductor = this.#o.conductor();
    if (session && session.state !== 'ready') session.connect();
    if (session?.state === 'ready' && !session.responding && conductor?.quiet && this.#begin(head, session, conductor)) {
      this.#queue.shift();
      this.#log.info(`${head.kind} started`, { waiting: this.#queue.length });
    }
    this.#arm();
  }

  #begin(p: Pending, session: AnnouncerSession, conductor: AnnouncerConductor): boolean {
    if (p.kind === 'say') return conductor.textTurn('say', () => session.createResponse(announcementResponse(p.text)));
    this.#seq += 1;
    const itemId = `ptt_ask_${Date.now().toString(36)}${this.#seq}`;
    const send = () => session.sendItem(questionItem(p.text, itemId)) && session.createResponse();
    return conductor.textTurn('ask', send, { itemId, text: p.text });
  }

  /** The check runs only while something waits. */
  #arm(): void {
    if (this.#queue.length > 0 && this.#running) {
      this.#timer ??= setInterval(() => this.#pump(), this.#o.checkMs ?? 100);
    } else if (this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
