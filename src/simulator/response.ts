/**
 * The server events of one model response, as a lazy sequence: created, output item and content
 * part, interleaved audio and transcript deltas, then the done events and usage. Lazy so that a
 * cancel (`active.cancelled`) set between deltas ends the stream with the right status.
 */
import type { Json } from './session-config.js';
import { BYTES_PER_MS } from '../core/pcm-format.js';
import { chunkAudio, synthesizeReply } from './tone.js';
import type { Deliberate } from './types.js';

export interface ActiveResponse {
  id: string;
  itemId: string;
  cancelled: 'client_cancelled' | 'turn_detected' | undefined;
}

export interface ResponseSpec {
  previousItemId: string | null;
  conversationId: string;
  /** 1-based reply number on this connection: picks the tone and the text. */
  turn: number;
  audioOut: boolean;
  format: unknown;
  voice: unknown;
  replyMs: number;
  deltaMs: number;
  text: string;
  /** User items so far, for plausible input token counts. */
  userItems: number;
  unknownEvents: boolean;
}

export type ResponseStep =
  | { event: Json; deliberate?: Deliberate /** total assistant audio after this delta */; audioMs?: number }
  /** Time to wait: the audio sent so far, for real-time pacing. */
  | { pause: true; audioMs: number };

/** The response object of response.created / response.done, before its output and usage. */
export function responseShell(
  spec: Pick<ResponseSpec, 'conversationId' | 'audioOut' | 'format' | 'voice'>,
  r: ActiveResponse,
  status: string,
): Json {
  return {
    object: 'realtime.response',
    id: r.id,
    status,
    status_details: null,
    output: [] as unknown[],
    conversation_id: spec.conversationId,
    output_modalities: spec.audioOut ? ['audio'] : ['text'],
    max_output_tokens: 'inf',
    audio: { output: { format: spec.format, voice: spec.voice } },
    usage: null,
    metadata: null,
  };
}

/** response.done's response: the shell in its final status (cancelled, with why, or completed) and what it made. */
export function finalResponse(shell: (status: string) => Json, r: ActiveResponse, output: unknown[]): Json {
  return {
    ...shell(r.cancelled ? 'cancelled' : 'completed'),
    status_details: r.cancelled ? { type: 'cancelled', reason: r.cancelled } : null,
    output,
  };
}

export function* responseEvents(spec: ResponseSpec, r: ActiveResponse): Generator<ResponseStep> {
  const shell = (status: string): Json => responseShell(spec, r, status);
  const base = { response_id: r.id, item_id: r.itemId, output_index: 0, content_index: 0 };
  const inProgress = { id: r.itemId, object: 'realtime.item', type: 'message', status: 'in_progress', role: 'assistant', content: [] };

  yield { event: { type: 'response.created', response: shell('in_progress') } };
  if (spec.unknownEvents) yield { event: { type: 'response.simulator_progress', response_id: r.id }, deliberate: 'unknown' };
  yield { event: { type: 'response.output_item.added', response_id: r.id, output_index: 0, item: inProgress } };
  yield { event: { type: 'conversation.item.added', previous_item_id: spec.previousItemId, item: inProgress } };
  yield {
    event: {
      type: 'response.content_part.added',
      ...base,
      part: spec.audioOut ? { type: 'audio', transcript: '' } : { type: 'text', text: '' },
    },
  };

  const chunks = spec.audioOut ? chunkAudio(synthesizeReply(spec.replyMs, spec.turn), spec.deltaMs) : [];
  const words = spec.text.split(/(?<= )/);
  const steps = Math.max(chunks.length, 1);
  let spoken = '';
  let audioMs = 0;
  for (let i = 0; i < steps && !r.cancelled; i++) {
    const chunk = chunks[i];
    if (chunk) {
      audioMs += chunk.length / BYTES_PER_MS;
      yield { event: { type: 'response.output_audio.delta', ...base, delta: chunk.toString('base64') }, audioMs };
    }
    // Spread the words over the audio deltas so transcript and sound arrive together.
    const piece = words.slice(Math.round((i * words.length) / steps), Math.round(((i + 1) * words.length) / steps)).join('');
    if (piece) {
      spoken += piece;
      yield {
        event: { type: spec.audioOut ? 'response.output_audio_transcript.delta' : 'response.output_text.delta', ...base, delta: piece },
      };
    }
    yield { pause: true, audioMs };
  }

  if (spec.audioOut) {
    yield { event: { type: 'response.output_audio.done', ...base } };
    yield { event: { type: 'response.output_audio_transcript.done', ...base, transcript: spoken } };
  } else {
    yield { event: { type: 'response.output_text.done', ...base, text: spoken } };
  }
  yield {
    event: {
      type: 'response.content_part.done',
      ...base,
      part: spec.audioOut ? { type: 'audio', transcript: spoken } : { type: 'text', text: spoken },
    },
  };
  const item = {
    id: r.itemId,
    type: 'message',
    status: r.cancelled ? 'incomplete' : 'completed',
    role: 'assistant',
    content: [spec.audioOut ? { type: 'output_audio', transcript: spoken } : { type: 'output_text', text: spoken }],
  };
  yield { event: { type: 'response.output_item.done', response_id: r.id, output_index: 0, item } };
  yield { event: { type: 'conversation.item.done', previous_item_id: spec.previousItemId, item } };
  // Token counts are plausible, not real: about 20 audio tokens a second, 4 characters a text token.
  const audioTokens = Math.round(audioMs / 50);
  const textTokens = Math.max(1, Math.ceil(spoken.length / 4));
  const userAudioTokens = spec.userItems * 10;
  const inputTokens = 120 + userAudioTokens;
  yield {
    event: {
      type: 'response.done',
      response: {
        ...finalResponse(shell, r, [item]),
        usage: {
          total_tokens: inputTokens + audioTokens + textTokens,
          input_tokens: inputTokens,
          output_tokens: audioTokens + textTokens,
          input_token_details: {
            text_tokens: 120,
            audio_tokens: userAudioTokens,
            image_tokens: 0,
            cached_tokens: 0,
            cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
          },
          output_token_details: { text_tokens: textTokens, audio_tokens: audioTokens },
        },
      },
    },
  };
  yield {
    event: {
      type: 'rate_limits.updated',
      rate_limits: [
        { name: 'requests', limit: 5000, remaining: 5000 - spec.turn, reset_seconds: 0.012 },
        { name: 'tokens', limit: 400000, remaining: 400000 - spec.turn * 300, reset_seconds: 0.045 },
      ],
    },
  };
}
