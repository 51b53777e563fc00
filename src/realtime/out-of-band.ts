/**
 * Turns that do not start at the microphone: an announcement the model speaks (`say`) and a
 * question typed as text (`ask`). These are the client events they put on the wire; the session
 * sends them only on a verified socket (see RealtimeSession.createItem / createResponse).
 *
 * An announcement is an out-of-band response: `conversation: "none"` keeps it (and what the model
 * says) out of the conversation, and `input: []` gives it a context of its own, so the text is
 * spoken as given instead of being answered. The published schema cannot validate
 * `conversation: "none"` (its `oneOf` has two overlapping string branches); tests validate the
 * event without that field and check the field against the documented values apart.
 */
import type { RealtimeConversationItemUserMessage, RealtimeResponseCreateParams } from 'openai/resources/realtime/realtime';
import type { ClientEvent } from './protocol.js';

export type OutOfBandResponse = RealtimeResponseCreateParams;
export type TextItem = RealtimeConversationItemUserMessage;

/** What the model is told for an announcement: say the text, word for word, nothing else. */
export function announcementInstructions(text: string): string {
  return [
    'You are making an announcement on a home speaker. Say the following text exactly as written, word for word,',
    'in the language it is written in, with no greeting, no question and nothing added before or after it.',
    `Text to announce: ${JSON.stringify(text)}`,
  ].join(' ');
}

/** The response.create body of an announcement (spoken, kept out of the conversation). */
export function announcementResponse(text: string): OutOfBandResponse {
  return {
    conversation: 'none',
    input: [],
    output_modalities: ['audio'],
    instructions: announcementInstructions(text),
    metadata: { source: 'realtime-ptt', kind: 'announcement' },
  };
}

/** A user message with the question as text; `id` lets the transcript name its item. */
export function questionItem(text: string, id: string): TextItem {
  return { id, type: 'message', role: 'user', content: [{ type: 'input_text', text }] };
}

export function itemCreateEvent(item: TextItem): ClientEvent {
  return { type: 'conversation.item.create', item };
}

export function responseCreateEvent(response: OutOfBandResponse | undefined): ClientEvent {
  return response ? { type: 'response.create', response } : { type: 'response.create' };
}

export function truncateEvent(itemId: string, audioEndMs: number): ClientEvent {
  return { type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: Math.max(0, Math.round(audioEndMs)) };
}
