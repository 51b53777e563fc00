/**
 * Feeds the conversation memory from what the conductor reports, so that only final, completed
 * turns go in: a turn's texts are held until its log record says how it ended. `complete` keeps
 * both sides; `cut` keeps the question and the answer as heard (heardPart with the turn's played
 * and received ms); any other outcome (dropped by a reconnect, a tap, silence) keeps nothing, so a
 * turn replayed after a reconnect is remembered once, when it completes.
 */
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import type { Config } from '../config/index.js';
import type { RestoreItem } from '../realtime/index.js';
import { ConversationMemory, heardPart, type MemoryLimits } from './conversation-memory.js';
import type { TranscriptEntry } from './transcripts.js';
import type { TurnRecord } from './turn.js';

/** How long a finished turn waits for a late transcript (the user's transcription comes asynchronously). */
export const LATE_TRANSCRIPT_MS = 1_500;

interface Pending {
  user: string[];
  assistant: string[];
  record?: TurnRecord;
  timer?: NodeJS.Timeout;
}

export function memoryLimits(config: Config): MemoryLimits {
  const c = config.conversation;
  return { maxTurns: c.memoryTurns, maxChars: c.memoryChars, forgetAfterMs: c.forgetAfterMs };
}

export class MemoryKeeper implements Component {
  readonly name = 'memory';
  readonly #memory: ConversationMemory;
  readonly #log: Logger;
  readonly #pending = new Map<number, Pending>();
  /** Turns already in memory (or given up on): a transcript arriving later is not added again. */
  readonly #settled = new Set<number>();

  constructor(limits: MemoryLimits, logger: Logger, now?: () => number) {
    this.#memory = new ConversationMemory(limits, now);
    this.#log = logger.child('memory');
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
  }

  setLimits(limits: MemoryLimits): void {
    this.#memory.setLimits(limits);
  }

  transcript(entry: TranscriptEntry): void {
    if (entry.turn === undefined || this.#settled.has(entry.turn)) return;
    const p = this.#get(entry.turn);
    p[entry.role].push(entry.text);
    if (p.record && p.user.length > 0 && p.assistant.length > 0) this.#settle(entry.turn);
  }

  turn(record: TurnRecord): void {
    if (this.#settled.has(record.turn)) return;
    if (record.outcome !== 'complete' && record.outcome !== 'cut') {
      this.#drop(record.turn);
      return;
    }
    const p = this.#get(record.turn);
    p.record = record;
    if (p.user.length > 0 && p.assistant.length > 0) this.#settle(record.turn);
    else {
      p.timer = setTimeout(() => this.#settle(record.turn), LATE_TRANSCRIPT_MS);
      p.timer.unref();
    }
  }

  /** What a new session is given: finished turns still waiting for a late transcript go in first. */
  items(): RestoreItem[] {
    for (const [turn, p] of this.#pending) if (p.record) this.#settle(turn);
    return this.#memory.items();
  }

  /** Clears the memory at once; returns how many texts were forgotten. */
  forget(): number {
    const n = this.#memory.entries().length;
    this.#memory.forget();
    for (const turn of this.#pending.keys()) this.#drop(turn);
    this.#log.info('conversation forgotten', { entries: n });
    return n;
  }

  #get(turn: number): Pending {
    let p = this.#pending.get(turn);
    if (!p) {
      p = { user: [], assistant: [] };
      this.#pending.set(turn, p);
      // Turns that never finish (the daemon stopped mid-turn) must not pile up.
      if (this.#pending.size > 16) this.#drop(this.#pending.keys().next().value as number);
    }
    return p;
  }

  #settle(turn: number): void {
    const p = this.#pending.get(turn);
    if (!p?.record) return;
    this.#drop(turn);
    const user = p.user.join(' ');
    let answer = p.assistant.join(' ');
    if (p.record.outcome === 'cut') answer = heardPart(answer, p.record.playedMs, p.record.receivedMs);
    this.#memory.add({ turn, role: 'user', text: user });
    this.#memory.add({ turn, role: 'assistant', text: answer });
  }

  #drop(turn: number): void {
    clearTimeout(this.#pending.get(turn)?.timer);
    this.#pending.delete(turn);
    this.#settled.add(turn);
    if (this.#settled.size > 256) this.#settled.delete(this.#settled.values().next().value as number);
  }
}
