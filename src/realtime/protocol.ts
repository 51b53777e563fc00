/**
 * The Realtime wire protocol as this daemon speaks it: GA client events out, server events in.
 * Types come from the official `openai` package (type-only); inbound frames are `unknown` until
 * narrowed here, so a malformed or unexpected frame becomes a problem value, never a throw.
 */
import type {
  RealtimeSessionCreateRequest,
  RealtimeClientEvent,
  RateLimitsUpdatedEvent,
  RealtimeResponseUsage,
} from 'openai/resources/realtime/realtime';
import { isPlainObject } from '../core/guards.js';

/** The GA `session` object a profile turns into (what `session.update` or a client secret carries). */
export type ConversationItem = import('openai/resources/realtime/realtime').ConversationItem;
export type GaSessionConfig = RealtimeSessionCreateRequest;
/** Every event we may put on the wire: the GA client union. */
export type ClientEvent = RealtimeClientEvent;
export type RateLimit = RateLimitsUpdatedEvent.RateLimit;
export type ResponseUsage = RealtimeResponseUsage;

/** Beta event names some servers still send, mapped to their GA names. */
export const BETA_EVENT_ALIASES: Readonly<Record<string, string>> = {
  'response.audio.delta': 'response.output_audio.delta',
  'response.audio.done': 'response.output_audio.done',
  'response.audio_transcript.delta': 'response.output_audio_transcript.delta',
  'response.audio_transcript.done': 'response.output_audio_transcript.done',
  'response.text.delta': 'response.output_text.delta',
  'response.text.done': 'response.output_text.done',
  'conversation.item.created': 'conversation.item.added',
};

export interface ServerErrorDetail {
  message: string;
  type: string;
  code: string | undefined;
  /** The client event the error is about, when the server names it. */
  eventId: string | undefined;
  param: string | undefined;
}

/** The server events the session acts on, narrowed; anything else is `other`. */
export type ServerEvent =
  | {
      type: 'session.created' | 'session.updated';
      session: Record<string, unknown>;
      sessionId: string | undefined;
      expiresAt: number | undefined;
    }
  | { type: 'error'; error: ServerErrorDetail }
  | { type: 'response.created'; responseId: string }
  | {
      type: 'response.done';
      responseId: string;
      status: string;
      usage: ResponseUsage | null;
      functionCalls: FunctionCallItem[];
      approvals: McpApprovalItem[];
    }
  | { type: 'response.output_audio.delta'; responseId: string; itemId: string; contentIndex: number; delta: string }
  | { type: 'response.output_audio_transcript.delta'; responseId: string; itemId: string; delta: string }
  | { type: 'response.output_audio_transcript.done'; responseId: string; itemId: string; transcript: string }
  | { type: 'conversation.item.input_audio_transcription.delta'; itemId: string; delta: string }
  | { type: 'conversation.item.input_audio_transcription.completed'; itemId: string; transcript: string }
  | { type: 'input_audio_buffer.committed'; itemId: string }
  | { type: 'input_audio_buffer.speech_started'; itemId: string; audioStartMs: number }
  | { type: 'input_audio_buffer.speech_stopped'; itemId: string; audioEndMs: number }
  | { type: 'rate_limits.updated'; rateLimits: RateLimit[] }
  | { type: 'other'; name: string };

/** A completed `function_call` item of a response's output. */
export interface FunctionCallItem {
  itemId: string;
  callId: string;
  name: string;
  arguments: string;
}

/** The completed function calls in `response.done`'s output (an incomplete one must not run). */
function completedCalls(output: unknown): FunctionCallItem[] {
  if (!Array.isArray(output)) return [];
  return output.flatMap((item) =>
    isPlainObject(item) &&
    item.type === 'function_call' &&
    item.status === 'completed' &&
    typeof item.call_id === 'string' &&
    typeof item.name === 'string' &&
    typeof item.arguments === 'string'
      ? [{ itemId: typeof item.id === 'string' ? item.id : '', callId: item.call_id, name: item.name, arguments: item.arguments }]
      : [],
  );
}

/** A hosted MCP server's tool call waiting for approval (`mcp_approval_request` item). */
export interface McpApprovalItem {
  id: string;
  serverLabel: string;
  name: string;
  arguments: string;
}

/** The approval requests in `response.done`'s output: each is answered with an `mcp_approval_response` item. */
function approvalRequests(output: unknown): McpApprovalItem[] {
  if (!Array.isArray(output)) return [];
  return output.flatMap((item) =>
    isPlainObject(item) &&
    item.type === 'mcp_approval_request' &&
    typeof item.id === 'string' &&
    typeof item.server_label === 'string' &&
    typeof item.name === 'string'
      ? [
          {
            id: item.id,
            serverLabel: item.server_label,
            name: item.name,
            arguments: typeof item.arguments === 'string' ? item.arguments : '{}',
          },
        ]
      : [],
  );
}

export type ParsedFrame =
  | { ok: true; event: ServerEvent; aliasOf: string | undefined }
  | { ok: false; problem: string; type: string | undefined };

type Obj = Record<string, unknown>;

/** Reads typed fields off an untyped object, remembering the first one that is missing. */
class Fields {
  missing: string | undefined;
  constructor(private readonly o: Obj) {}
  str(key: string): string {
    const v = this.o[key];
    if (typeof v === 'string') return v;
    this.missing ??= key;
    return '';
  }
  num(key: string): number {
    const v = this.o[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    this.missing ??= key;
    return 0;
  }
  optStr(key: string): string | undefined {
    const v = this.o[key];
    return typeof v === 'string' ? v : undefined;
  }
}

function narrow(type: string, o: Obj): ServerEvent | { problem: string } {
  const f = new Fields(o);
  let event: ServerEvent;
  switch (type) {
    case 'session.created':
    case 'session.updated': {
      if (!isPlainObject(o.session)) return { problem: 'missing session object' };
      const s = o.session;
      event = {
        type,
        session: s,
        sessionId: typeof s.id === 'string' ? s.id : undefined,
        expiresAt: typeof s.expires_at === 'number' ? s.expires_at : undefined,
      };
      break;
    }
    case 'error': {
      if (!isPlainObject(o.error)) return { problem: 'missing error object' };
      const e = new Fields(o.error);
      event = {
        type,
        error: {
          message: e.optStr('message') ?? 'unspecified server error',
          type: e.optStr('type') ?? 'unknown',
          code: e.optStr('code'),
          eventId: e.optStr('event_id'),
          param: e.optStr('param'),
        },
      };
      break;
    }
    case 'response.created':
    case 'response.done': {
      if (!isPlainObject(o.response)) return { problem: 'missing response object' };
      const r = new Fields(o.response);
      const responseId = r.str('id');
      if (r.missing) return { problem: `response.${r.missing} missing` };
      if (type === 'response.created') event = { type, responseId };
      else {
        const usage = isPlainObject(o.response.usage) ? (o.response.usage as ResponseUsage) : null;
        event = {
          type,
          responseId,
          status: r.optStr('status') ?? 'unknown',
          usage,
          functionCalls: completedCalls(o.response.output),
          approvals: approvalRequests(o.response.output),
        };
      }
      break;
    }
    case 'response.output_audio.delta':
      event = {
        type,
        responseId: f.str('response_id'),
        itemId: f.str('item_id'),
        contentIndex: f.num('content_index'),
        delta: f.str('delta'),
      };
      break;
    case 'response.output_audio_transcript.delta':
      event = { type, responseId: f.str('response_id'), itemId: f.str('item_id'), delta: f.str('delta') };
      break;
    case 'response.output_audio_transcript.done':
      event = { type, responseId: f.str('response_id'), itemId: f.str('item_id'), transcript: f.str('transcript') };
      break;
    case 'conversation.item.input_audio_transcription.delta':
      event = { type, itemId: f.str('item_id'), delta: f.str('delta') };
      break;
    case 'conversation.item.input_audio_transcription.completed':
      event = { type, itemId: f.str('item_id'), transcript: f.str('transcript') };
      break;
    case 'input_audio_buffer.committed':
      event = { type, itemId: f.str('item_id') };
      break;
    case 'input_audio_buffer.speech_started':
      event = { type, itemId: f.str('item_id'), audioStartMs: f.num('audio_start_ms') };
      break;
    case 'input_audio_buffer.speech_stopped':
      event = { type, itemId: f.str('item_id'), audioEndMs: f.num('audio_end_ms') };
      break;
    case 'rate_limits.updated':
      if (!Array.isArray(o.rate_limits)) return { problem: 'rate_limits is not a list' };
      event = { type, rateLimits: o.rate_limits.filter(isPlainObject) as RateLimit[] };
      break;
    default:
      event = { type: 'other', name: type };
  }
  if (f.missing) return { problem: `field ${f.missing} missing or of the wrong type` };
  return event;
}

/** Parses one inbound text frame. Never throws: bad JSON or shape is a `problem`. */
export function parseServerFrame(data: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, problem: 'not valid JSON', type: undefined };
  }
  if (!isPlainObject(value) || typeof value.type !== 'string') {
    return { ok: false, problem: 'not an object with a string "type"', type: undefined };
  }
  const aliasTarget = BETA_EVENT_ALIASES[value.type];
  const type = aliasTarget ?? value.type;
  const result = narrow(type, value);
  if ('problem' in result) return { ok: false, problem: result.problem, type };
  return { ok: true, event: result, aliasOf: aliasTarget ? value.type : undefined };
}
