/**
 * The error bodies the simulated server answers a client event it refuses, worded as the real
 * server words them, and the field checks that lead to them (pure: the connection sends them).
 */
import { isPlainObject } from '../core/guards.js';
import { invalidRequest, type Json, type ProtocolError } from './session-config.js';

/** The client events of the GA protocol, in the order the server lists them. */
export const CLIENT_EVENTS = [
  'session.update',
  'input_audio_buffer.append',
  'input_audio_buffer.commit',
  'input_audio_buffer.clear',
  'conversation.item.create',
  'conversation.item.truncate',
  'conversation.item.delete',
  'conversation.item.retrieve',
  'response.create',
  'response.cancel',
  'output_audio_buffer.clear',
];

export const INVALID_JSON = invalidRequest(
  'invalid_json',
  "We could not parse the JSON body of your request. Expected a JSON object with a 'type' field.",
  null,
);
export const MISSING_TYPE = invalidRequest('invalid_event', "The 'type' field is missing.", null);
export const SESSION_EXPIRED = invalidRequest('session_expired', 'Your session hit the maximum duration of 60 minutes.', null);
export const SERVER_ERROR: ProtocolError = {
  type: 'server_error',
  code: 'server_error',
  message: 'The server had an error while processing your request. Sorry about that!',
  param: null,
};
export const CANNOT_UPDATE_VOICE = invalidRequest(
  'cannot_update_voice',
  "Cannot update a conversation's voice if assistant audio is present.",
  'session.audio.output.voice',
);
// WebRTC/SIP only, as on the real server.
export const OUTPUT_BUFFER_CLEAR = invalidRequest(
  'invalid_value',
  'output_audio_buffer.clear is only supported for WebRTC and SIP connections.',
  'type',
);
export const CANCEL_NOT_ACTIVE = invalidRequest('response_cancel_not_active', 'Cancellation failed: no active response found', null);
export const TEXT_ITEMS_ONLY = invalidRequest(
  'unsupported_event',
  'The simulator accepts only text message items in conversation.item.create: input_text parts for user and system, output_text for assistant.',
  'item',
);

export function missingParameter(param: string): ProtocolError {
  return invalidRequest('missing_required_parameter', `Missing required parameter: '${param}'.`, param);
}

/** A client event type the simulator does not implement, or no client event at all. */
export function unknownEvent(type: string): ProtocolError {
  if (CLIENT_EVENTS.includes(type)) return invalidRequest('unsupported_event', `The simulator does not implement '${type}'.`, 'type');
  return invalidRequest(
    'invalid_value',
    `Invalid value: '${type}'. Supported values are: ${CLIENT_EVENTS.map((t) => `'${t}'`).join(', ')}.`,
    'type',
  );
}

export function activeResponse(id: string): ProtocolError {
  return invalidRequest(
    'conversation_already_has_active_response',
    `Conversation already has an active response in progress: ${id}. Wait until the response is finished before creating a new one.`,
    null,
  );
}

export function commitEmpty(ms: number): ProtocolError {
  return invalidRequest(
    'input_audio_buffer_commit_empty',
    `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
    null,
  );
}

/** input_audio_buffer.append's `audio`: base64 text. */
export function checkAudio(audio: unknown): ProtocolError | undefined {
  if (typeof audio !== 'string') return missingParameter('audio');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(audio) || audio.length % 4 !== 0) {
    return invalidRequest('invalid_value', "Invalid 'audio'. Expected base64-encoded audio bytes.", 'audio');
  }
  return undefined;
}

/** A message item the simulator takes: text parts whose type follows the role, as in the published item schemas. */
export function isTextMessage(item: Json): boolean {
  const role = item.role;
  const content = item.content;
  const partType = role === 'assistant' ? 'output_text' : 'input_text';
  const textual = Array.isArray(content) && content.every((p) => isPlainObject(p) && p.type === partType && typeof p.text === 'string');
  return item.type === 'message' && (role === 'user' || role === 'system' || role === 'assistant') && textual;
}

/**
 * conversation.item.truncate's fields against what was played: `had` is the item's assistant
 * audio (undefined: none), `isUser` whether the id is a user item.
 */
export function checkTruncate(itemId: unknown, endMs: unknown, had: number | undefined, isUser: boolean): ProtocolError | undefined {
  if (typeof itemId !== 'string') return missingParameter('item_id');
  if (typeof endMs !== 'number' || !Number.isInteger(endMs) || endMs < 0) {
    return invalidRequest(
      'invalid_type',
      `Invalid type for 'audio_end_ms': expected an integer, but got ${JSON.stringify(endMs)} instead.`,
      'audio_end_ms',
    );
  }
  if (had === undefined) {
    const what = isUser ? 'is not an assistant message with audio' : 'does not exist';
    return invalidRequest('invalid_value', `Item '${itemId}' ${what}; only assistant audio can be truncated.`, 'item_id');
  }
  if (endMs > had) {
    return invalidRequest('invalid_value', `Audio content of ${Math.round(had)}ms is already shorter than ${endMs}ms`, 'audio_end_ms');
  }
  return undefined;
}
