/**
 * The recent conversation as text, kept by the daemon so that a new session (after a dropped
 * socket, the 60-minute cap or an on-demand idle close) continues where the last one was.
 * Restored as plain message items after the profile is verified and before any audio.
 *
 * Only final text goes in: the user's transcript and the assistant's answer as the person heard
 * it (a cut answer keeps the words up to the cut, never what was generated but not played).
 */
export interface MemoryLimits {
  /** Turns kept (a question and its answer); 0 turns memory off. */
  maxTurns: number;
  /** Characters kept over all entries; the oldest turns go first. */
  maxChars: number;
  /** After this long without a turn, the next turn starts fresh; null never forgets by itself. */
  forgetAfterMs: number | null;
}

export interface MemoryEntry {
  turn: number;
  role: 'user' | 'assistant';
  text: string;
}

/** A GA conversation item (`conversation.item.create`'s `item`) restoring one entry. */
export type MemoryItem =
  | { type: 'message'; role: 'user'; content: [{ type: 'input_text'; text: string }] }
  | { type: 'message'; role: 'assistant'; content: [{ type: 'output_text'; text: string }] };

export class ConversationMemory {
  #limits: MemoryLimits;
  readonly #now: () => number;
  #entries: MemoryEntry[] = [];
  #lastAt = 0;

  constructor(limits: MemoryLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  setLimits(limits: MemoryLimits): void {
    this.#limits = limits;
    this.#trim();
  }

  /** Adds a final text of turn `turn`; a second text of the same role and turn is appended to it. */
  add(entry: MemoryEntry): void {
    if (this.#limits.maxTurns === 0) return;
    const text = entry.text.trim();
    if (!text) return;
    this.#expire();
    const last = this.#entries.at(-1);
    if (last && last.turn === entry.turn && last.role === entry.role) last.text = `${last.text} ${text}`;
    else this.#entries.push({ turn: entry.turn, role: entry.role, text });
    this.#lastAt = this.#now();
    this.#trim();
  }

  /** Drops an entry of turn `turn` and role `role` (a turn that was replayed or dropped). */
  remove(turn: number, role: MemoryEntry['role']): void {
    this.#entries = this.#entries.filter((e) => !(e.turn === turn && e.role === role));
  }

  forget(): void {
    this.#entries = [];
  }

  /** What a new session should be given, oldest first; empty after `forgetAfterMs` of silence. */
  entries(): readonly MemoryEntry[] {
    this.#expire();
    return this.#entries.map((e) => ({ ...e }));
  }

  items(): MemoryItem[] {
    return this.entries().map((e) =>
      e.role === 'user'
        ? { type: 'message', role: 'user', content: [{ type: 'input_text', text: e.text }] }
        : { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: e.text }] },
    );
  }

  #expire(): void {
    const after = this.#limits.forgetAfterMs;
    if (after !== null && this.#entries.length && this.#now() - this.#lastAt > after) this.#entries = [];
  }

  #trim(): void {
    const turns = [...new Set(this.#entries.map((e) => e.turn))];
    const drop = new Set(turns.slice(0, Math.max(0, turns.length - this.#limits.maxTurns)));
    this.#entries = this.#entries.filter((e) => !drop.has(e.turn));
    let chars = this.#entries.reduce((n, e) => n + e.text.length, 0);
    while (chars > this.#limits.maxChars && this.#entries.length > 1) chars -= this.#entries.shift()!.text.length;
    const only = this.#entries[0];
    // One entry longer than the whole budget keeps its end: the most recent words matter most.
    if (only && chars > this.#limits.maxChars) only.text = only.text.slice(only.text.length - this.#limits.maxChars).trimStart();
    if (this.#limits.maxChars === 0) this.#entries = [];
  }
}

/**
 * The part of an answer's text a person heard before a cut: text and audio stream side by side,
 * so the share of the received audio that was played is the share of the received text that was
 * heard, ended at a word boundary (a half word is not something anyone heard).
 */
export function heardPart(text: string, playedMs: number, receivedMs: number): string {
  if (receivedMs <= 0 || playedMs <= 0) return '';
  if (playedMs >= receivedMs) return text;
  const cut = Math.floor(text.length * (playedMs / receivedMs));
  const end = text.slice(0, cut + 1).search(/\s\S*$/);
  return (end > 0 ? text.slice(0, end) : '').trimEnd();
}
