/**
 * What a new session is given before anything else: the recent conversation as plain message
 * items, so the model continues where the last session was (after a dropped socket, the 60-minute
 * cap, an on-demand idle close). Sent right after the profile is verified and before the gate is
 * released, so no audio of the next turn can come before them.
 */
import type { ClientEvent } from './protocol.js';

/** A GA conversation message item: the user's words or the assistant's as heard. */
export type RestoreItem =
  | { type: 'message'; role: 'user'; content: [{ type: 'input_text'; text: string }] }
  | { type: 'message'; role: 'assistant'; content: [{ type: 'output_text'; text: string }] };

/** Supplies the items at each verification (the daemon's memory); none when it has nothing. */
export type RestoreSource = () => readonly RestoreItem[];

export function restoreEvents(items: readonly RestoreItem[]): ClientEvent[] {
  return items.map((item) => ({ type: 'conversation.item.create', item }) as ClientEvent);
}
