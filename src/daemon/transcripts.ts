/**
 * The transcript lines: which turn each conversation item (the user's input, the answer's items)
 * belongs to, and the line a final transcript event makes, marked when the person heard only
 * part of a cut answer. Interim answer text is kept on the turn, so a cut can log what was heard.
 */
import type { SessionTranscript } from './ports.js';
import type { Turn } from './turn.js';

export interface TranscriptEntry {
  time: string;
  turn: number | undefined;
  role: 'user' | 'assistant';
  itemId: string;
  text: string;
  /** The assistant was interrupted: the person heard only the first `heardMs` of this item. */
  cut?: boolean;
  heardMs?: number;
}

/** Items are looked up only while their transcripts may still come: a short memory is enough. */
const MEMORY = 64;

export class Transcripts {
  readonly #itemTurn = new Map<string, number>();

  remember(itemId: string, turnId: number): void {
    if (this.#itemTurn.size > MEMORY) this.#itemTurn.delete(this.#itemTurn.keys().next().value as string);
    this.#itemTurn.set(itemId, turnId);
  }

  /**
   * Takes a transcript event; returns its line once final. `turn` is the turn in progress,
   * `heardMs` says how much of a cut answer item was heard.
   */
  take({ role, itemId, text, final }: SessionTranscript, turn: Turn | undefined, heardMs: number | undefined): TranscriptEntry | undefined {
    const turnId = this.#itemTurn.get(itemId) ?? turn?.id;
    if (role === 'assistant' && turn && turnId === turn.id) {
      turn.answerText.set(itemId, final ? text : (turn.answerText.get(itemId) ?? '') + text);
    }
    if (!final) return undefined;
    const cut = role === 'assistant' ? heardMs : undefined;
    return { time: new Date().toISOString(), turn: turnId, role, itemId, text, ...(cut !== undefined ? { cut: true, heardMs: cut } : {}) };
  }
}
