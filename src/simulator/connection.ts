/**
 * One simulated Realtime session on one WebSocket: the GA event flow (session, input buffer,
 * responses, truncation, server VAD) and the per-connection faults of its FaultPlan.
 */
import type { WebSocket } from 'ws';
import type { Logger } from '../core/logger.js';
import { randomId } from './ids.js';
import { changesVoice, getPath, mergeSession, validateSessionRequest, type Json, type ProtocolError } from './session-config.js';
import { responseEvents, responseShell, type ActiveResponse } from './response.js';
import {
  functionCallEvents,
  readApproval,
  scriptedItems,
  withMcpCalls,
  type CallItem,
  type McpApproval,
  type ScriptedCall,
} from './function-calls.js';
import { BYTES_PER_MS } from '../core/pcm-format.js';
import type { Deliberate, FaultPlan } from './types.js';
import { EnergyVad, type VadEvent } from './vad.js';
import { isPlainObject } from '../core/guards.js';

export interface ConnectionSettings {
  replyMs: number;
  replyText: (turn: number) => string;
  deltaMs: number;
  /** Reply audio per wall-clock millisecond (see `paceFactor`); Infinity sends as fast as it can. */
  paceFactor: number;
  /** The function calls the next response makes instead of speaking (none: it speaks). */
  nextCalls: () => ScriptedCall[] | undefined;
  /** A function_call_output arrived for a call this simulator made. */
  onCallOutput: (output: { callId: string; name: string; output: string }) => void;
  onApproval: (approval: McpApproval) => void;
}

export interface ConnectionDeps {
  socket: WebSocket;
  index: number;
  plan: FaultPlan;
  settings: ConnectionSettings;
  /** The session this connection starts with (defaults, or what a client secret was minted with). */
  session: Json;
  logger: Logger;
  /** Called with every frame actually written to the socket. */
  onSent: (event: Json, raw: string, deliberate: Deliberate | undefined) => void;
  /** Called when the server side ends the connection (close code, or 1006 for a dropped TCP). */
  onServerClose: (code: number, reason: string) => void;
}

/** GA event name -> the beta name older servers used (the betaEventNames fault). */
const BETA_NAMES: Record<string, string> = {
  'response.output_audio.delta': 'response.audio.delta',
  'response.output_audio.done': 'response.audio.done',
  'response.output_audio_transcript.delta': 'response.audio_transcript.delta',
  'response.output_audio_transcript.done': 'response.audio_transcript.done',
  'response.output_text.delta': 'response.text.delta',
  'response.output_text.done': 'response.text.done',
  'conversation.item.added': 'conversation.item.created',
};

const CLIENT_EVENTS = [
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

const MIN_COMMIT_MS = 100;
/** What 'partial' keeps by default: the field whose silent loss makes early audio get answered. */
const DEFAULT_PARTIAL = ['audio.input.turn_detection'];

export class SimConnection {
  #session: Json;
  #sentCount = 0;
  #closed = false;
  #timers = new Set<NodeJS.Timeout>();
  /** Only the amount matters: the simulator does not listen to what was said. */
  #inputBytes = 0;
  #lastItemId: string | null = null;
  /** Assistant audio per item, for truncate's bounds check. */
  #itemAudioMs = new Map<string, number>();
  #userItems = new Set<string>();
  /** Function calls in this conversation (made by the model or re-created by the client): call_id -> name. */
  readonly #calls = new Map<string, string>();
  /** Hosted MCP approval requests made, and the approvals answered since the last response. */
  readonly #approvalRequests = new Map<string, CallItem>();
  readonly #approved: McpApproval[] = [];
  #response: ActiveResponse | undefined;
  #turn = 0;
  #audioReplied = false;
  #vad: EnergyVad | undefined;
  #vadItemId: string | undefined;
  #conversationId = randomId('conv_');

  constructor(private readonly deps: ConnectionDeps) {
    this.#session = deps.session;
    this.#vad = this.#makeVad();
  }

  get session(): Json {
    return this.#session;
  }

  /** Sends session.created and arms the timed faults. */
  start(): void {
    const plan = this.deps.plan;
    if (plan.dropAfterEvents === 0) return this.terminate();
    this.#send({ type: 'session.created', session: this.#session });
    if (plan.malformedJson) this.#sendRaw('{"type":"response.output_audio.delta","delta":', 'malformed');
    if (plan.unknownEvents) this.#send({ type: 'session.simulator_notice', notice: 'an event type no client knows' }, 'unknown');
    if (plan.closeAfterMs) {
      const { ms, code, reason } = plan.closeAfterMs;
      this.#later(ms, () => this.close(code, reason ?? ''));
    }
    if (plan.expiresInS !== undefined) {
      this.#later(plan.expiresInS * 1000, () => {
        this.#error(
          {
            type: 'invalid_request_error',
            code: 'session_expired',
            message: 'Your session hit the maximum duration of 60 minutes.',
            param: null,
          },
          null,
        );
        this.close(1001, 'Session expired');
      });
    }
  }

  /** Stops every timer and response; the socket is the server's to close. */
  dispose(): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#response) this.#response.cancelled = 'client_cancelled';
  }

  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.deps.onServerClose(code, reason);
    try {
      this.deps.socket.close(code, reason);
    } catch {
      // A code ws may not send (1005, 1006, ...): end the TCP connection instead.
      this.deps.socket.terminate();
    }
    this.dispose();
  }

  terminate(): void {
    if (this.#closed) return;
    this.deps.onServerClose(1006, 'connection dropped by fault');
    this.deps.socket.terminate();
    this.dispose();
  }

  /** Handles one client frame (already recorded by the server). */
  handle(event: Json | undefined): void {
    if (this.#closed) return;
    if (!event) {
      this.#error(
        {
          type: 'invalid_request_error',
          code: 'invalid_json',
          message: "We could not parse the JSON body of your request. Expected a JSON object with a 'type' field.",
          param: null,
        },
        null,
      );
      return;
    }
    const eventId = typeof event.event_id === 'string' ? event.event_id : null;
    if (typeof event.type !== 'string') {
      this.#error({ type: 'invalid_request_error', code: 'invalid_event', message: "The 'type' field is missing.", param: null }, eventId);
      return;
    }
    switch (event.type) {
      case 'session.update':
        return this.#sessionUpdate(event, eventId);
      case 'input_audio_buffer.append':
        return this.#append(event, eventId);
      case 'input_audio_buffer.commit':
        return this.#commit(eventId, false);
      case 'input_audio_buffer.clear':
        return this.#clear();
      case 'response.create':
        return this.#responseCreate(event, eventId);
      case 'response.cancel':
        return this.#responseCancel(eventId);
      case 'conversation.item.truncate':
        return this.#truncate(event, eventId);
      case 'conversation.item.create':
        return this.#itemCreate(event, eventId);
      case 'output_audio_buffer.clear':
        // WebRTC/SIP only, as on the real server.
        return this.#error(
          {
            type: 'invalid_request_error',
            code: 'invalid_value',
            message: 'output_audio_buffer.clear is only supported for WebRTC and SIP connections.',
            param: 'type',
          },
          eventId,
        );
      default:
        if (CLIENT_EVENTS.includes(event.type)) {
          return this.#error(
            {
              type: 'invalid_request_error',
              code: 'unsupported_event',
              message: `The simulator does not implement '${event.type}'.`,
              param: 'type',
            },
            eventId,
          );
        }
        return this.#error(
          {
            type: 'invalid_request_error',
            code: 'invalid_value',
            message: `Invalid value: '${event.type}'. Supported values are: ${CLIENT_EVENTS.map((t) => `'${t}'`).join(', ')}.`,
            param: 'type',
          },
          eventId,
        );
    }
  }

  // ---- session ----------------------------------------------------------------------------

  #sessionUpdate(event: Json, eventId: string | null): void {
    const plan = this.deps.plan;
    const problem = validateSessionRequest(event.session);
    const update = event.session as Json;
    const answer = () => {
      if (this.#closed) return;
      if (problem) return this.#error(problem, eventId);
      const mode = plan.sessionUpdate ?? 'apply';
      if (mode === 'ignore') return;
      if (mode === 'error') {
        return this.#error(
          {
            type: 'server_error',
            code: 'server_error',
            message: 'The server had an error while processing your request. Sorry about that!',
            param: null,
          },
          eventId,
        );
      }
      if (this.#audioReplied && changesVoice(this.#session, update)) {
        return this.#error(
          {
            type: 'invalid_request_error',
            code: 'cannot_update_voice',
            message: "Cannot update a conversation's voice if assistant audio is present.",
            param: 'session.audio.output.voice',
          },
          eventId,
        );
      }
      this.#session = mergeSession(this.#session, update, mode === 'partial' ? (plan.partialFields ?? DEFAULT_PARTIAL) : []);
      this.#vad = this.#makeVad();
      // The real server does not echo the client's event_id in session.updated.
      this.#send({ type: 'session.updated', session: this.#session });
    };
    if (plan.sessionUpdateDelayMs) this.#later(plan.sessionUpdateDelayMs, answer);
    else answer();
  }

  #makeVad(): EnergyVad | undefined {
    const td = getPath(this.#session, 'audio.input.turn_detection');
    if (!isPlainObject(td)) return undefined;
    return new EnergyVad({
      threshold: typeof td.threshold === 'number' ? td.threshold : 0.5,
      prefixPaddingMs: typeof td.prefix_padding_ms === 'number' ? td.prefix_padding_ms : 300,
      // semantic_vad has no silence setting; its 'auto' eagerness waits about this long.
      silenceDurationMs: typeof td.silence_duration_ms === 'number' ? td.silence_duration_ms : td.type === 'semantic_vad' ? 500 : 200,
      idleTimeoutMs: typeof td.idle_timeout_ms === 'number' ? td.idle_timeout_ms : null,
    });
  }

  // ---- input audio ------------------------------------------------------------------------

  #append(event: Json, eventId: string | null): void {
    const audio = event.audio;
    if (typeof audio !== 'string') {
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'missing_required_parameter',
          message: "Missing required parameter: 'audio'.",
          param: 'audio',
        },
        eventId,
      );
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(audio) || audio.length % 4 !== 0) {
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'invalid_value',
          message: "Invalid 'audio'. Expected base64-encoded audio bytes.",
          param: 'audio',
        },
        eventId,
      );
    }
    const pcm = Buffer.from(audio, 'base64');
    this.#inputBytes += pcm.length;
    if (this.#vad) for (const edge of this.#vad.push(pcm)) this.#onVad(edge);
  }

  #onVad(edge: VadEvent): void {
    const td = getPath(this.#session, 'audio.input.turn_detection') as Json;
    if (edge.kind === 'start') {
      this.#vadItemId = randomId('item_');
      this.#send({ type: 'input_audio_buffer.speech_started', audio_start_ms: edge.audioStartMs, item_id: this.#vadItemId });
      if (this.#response && td.interrupt_response !== false) this.#response.cancelled = 'turn_detected';
      return;
    }
    const itemId = this.#vadItemId ?? randomId('item_');
    this.#vadItemId = undefined;
    if (edge.kind === 'timeout') {
      this.#send({
        type: 'input_audio_buffer.timeout_triggered',
        audio_start_ms: edge.audioStartMs,
        audio_end_ms: edge.audioEndMs,
        item_id: itemId,
      });
    } else {
      this.#send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: edge.audioEndMs, item_id: itemId });
    }
    this.#commit(null, true, itemId);
    if (td.create_response !== false && !this.#response) this.#startResponse({}, null);
  }

  #commit(eventId: string | null, byVad: boolean, itemId = randomId('item_')): void {
    const ms = this.#inputBytes / BYTES_PER_MS;
    if (ms < MIN_COMMIT_MS) {
      if (byVad) return;
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'input_audio_buffer_commit_empty',
          message: `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${ms.toFixed(2)}ms of audio.`,
          param: null,
        },
        eventId,
      );
    }
    this.#inputBytes = 0;
    this.#vad?.reset();
    const previous = this.#lastItemId;
    this.#lastItemId = itemId;
    this.#userItems.add(itemId);
    this.#send({ type: 'input_audio_buffer.committed', previous_item_id: previous, item_id: itemId });
    const item = { id: itemId, type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] };
    this.#send({ type: 'conversation.item.added', previous_item_id: previous, item });
    this.#send({ type: 'conversation.item.done', previous_item_id: previous, item });
    const transcription = getPath(this.#session, 'audio.input.transcription');
    if (isPlainObject(transcription)) {
      const transcript = `(${Math.round(ms)} ms of speech)`;
      const audioTokens = Math.max(1, Math.round(ms / 100));
      this.#send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: transcript });
      this.#send({
        type: 'conversation.item.input_audio_transcription.completed',
        item_id: itemId,
        content_index: 0,
        transcript,
        usage: {
          type: 'tokens',
          total_tokens: audioTokens + 4,
          input_tokens: audioTokens,
          input_token_details: { text_tokens: 0, audio_tokens: audioTokens },
          output_tokens: 4,
        },
      });
    }
  }

  /** Text messages only: enough for a client that seeds the conversation or types a question. */
  #itemCreate(event: Json, eventId: string | null): void {
    const item = event.item;
    if (!isPlainObject(item)) {
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'missing_required_parameter',
          message: "Missing required parameter: 'item'.",
          param: 'item',
        },
        eventId,
      );
    }
    if (item.type === 'function_call' || item.type === 'function_call_output') return this.#callItemCreate(item, eventId);
    if (item.type === 'mcp_approval_response') {
      const a = readApproval(item, this.#approvalRequests);
      if (typeof a === 'string')
        return this.#error({ type: 'invalid_request_error', code: 'invalid_value', message: a, param: 'item' }, eventId);
      this.#approved.push(a);
      this.deps.settings.onApproval(a);
      return this.#addItem(item);
    }
    const role = item.role;
    const content = item.content;
    // The part type follows the role, as in the published item schemas.
    const partType = role === 'assistant' ? 'output_text' : 'input_text';
    const textual = Array.isArray(content) && content.every((p) => isPlainObject(p) && p.type === partType && typeof p.text === 'string');
    if (item.type !== 'message' || (role !== 'user' && role !== 'system' && role !== 'assistant') || !textual) {
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'unsupported_event',
          message:
            'The simulator accepts only text message items in conversation.item.create: input_text parts for user and system, output_text for assistant.',
          param: 'item',
        },
        eventId,
      );
    }
    const id = typeof item.id === 'string' ? item.id : randomId('item_');
    const previous = this.#lastItemId;
    this.#lastItemId = id;
    if (role === 'user') this.#userItems.add(id);
    const added = { id, type: 'message', status: 'completed', role, content };
    this.#send({ type: 'conversation.item.added', previous_item_id: previous, item: added });
    this.#send({ type: 'conversation.item.done', previous_item_id: previous, item: added });
  }

  /**
   * A function call's output (its call_id must be one this conversation knows, as on the real
   * server), or a function call the client re-creates (after a reconnect, in a new conversation).
   */
  #callItemCreate(item: Json, eventId: string | null): void {
    const callId = item.call_id;
    const bad = (message: string) =>
      this.#error({ type: 'invalid_request_error', code: 'invalid_value', message, param: 'item.call_id' }, eventId);
    if (typeof callId !== 'string') return bad("Missing required parameter: 'item.call_id'.");
    if (item.type === 'function_call') {
      if (typeof item.name !== 'string' || typeof item.arguments !== 'string') return bad('A function_call item needs name and arguments.');
      this.#calls.set(callId, item.name);
    } else {
      const name = this.#calls.get(callId);
      if (name === undefined) return bad(`Tool call ID '${callId}' not found in conversation.`);
      if (typeof item.output !== 'string') return bad("Invalid type for 'item.output': expected a string.");
      this.deps.settings.onCallOutput({ callId, name, output: item.output });
    }
    this.#addItem({ ...item, object: 'realtime.item', status: 'completed' });
  }

  #addItem(item: Json): void {
    const id = typeof item.id === 'string' ? item.id : randomId('item_');
    const previous = this.#lastItemId;
    this.#lastItemId = id;
    const added = { ...item, id };
    this.#send({ type: 'conversation.item.added', previous_item_id: previous, item: added });
    this.#send({ type: 'conversation.item.done', previous_item_id: previous, item: added });
  }

  #clear(): void {
    this.#inputBytes = 0;
    this.#vad?.reset();
    this.#vadItemId = undefined;
    this.#send({ type: 'input_audio_buffer.cleared' });
  }

  // ---- responses --------------------------------------------------------------------------

  #responseCreate(event: Json, eventId: string | null): void {
    if (this.#response) {
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'conversation_already_has_active_response',
          message: `Conversation already has an active response in progress: ${this.#response.id}. Wait until the response is finished before creating a new one.`,
          param: null,
        },
        eventId,
      );
    }
    this.#startResponse(isPlainObject(event.response) ? event.response : {}, eventId);
  }

  #responseCancel(eventId: string | null): void {
    if (!this.#response) {
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'response_cancel_not_active',
          message: 'Cancellation failed: no active response found',
          param: null,
        },
        eventId,
      );
    }
    this.#response.cancelled = 'client_cancelled';
  }

  #startResponse(params: Json, _eventId: string | null): void {
    const response: ActiveResponse = { id: randomId('resp_'), itemId: randomId('item_'), cancelled: undefined };
    this.#response = response;
    this.#turn += 1;
    void this.#runResponse(response, params, this.#turn)
      .catch((err: unknown) => {
        this.deps.logger.error('simulated response failed', {
          connection: this.deps.index,
          error: err instanceof Error ? err.message : String(err),
        });
      })
      .finally(() => {
        if (this.#response === response) this.#response = undefined;
        this.#vad?.armIdleTimeout();
      });
  }

  async #runResponse(r: ActiveResponse, params: Json, turn: number): Promise<void> {
    const { settings, plan } = this.deps;
    const modalities = Array.isArray(params.output_modalities) ? params.output_modalities : (this.#session.output_modalities as unknown[]);
    const previousItemId = this.#lastItemId;
    this.#lastItemId = r.itemId;
    const calls = settings.nextCalls();
    const spec = {
      conversationId: this.#conversationId,
      audioOut: !modalities.includes('text'),
      format: getPath(this.#session, 'audio.output.format'),
      voice: getPath(this.#session, 'audio.output.voice'),
    };
    const items = calls ? scriptedItems(calls) : [];
    for (const item of items) {
      if (item.serverLabel) this.#approvalRequests.set(item.id, item);
      else this.#calls.set(item.callId, item.name);
    }
    const approved = calls ? [] : this.#approved.splice(0);
    if (items.length > 0) this.#lastItemId = items.at(-1)!.id;
    const steps = calls
      ? functionCallEvents(r, (status) => responseShell(spec, r, status), previousItemId, items)
      : withMcpCalls(
          r,
          approved,
          responseEvents(
            {
              previousItemId,
              conversationId: this.#conversationId,
              turn,
              audioOut: !modalities.includes('text'),
              format: getPath(this.#session, 'audio.output.format'),
              voice: getPath(this.#session, 'audio.output.voice'),
              replyMs: settings.replyMs,
              deltaMs: settings.deltaMs,
              text: settings.replyText(turn),
              userItems: this.#userItems.size,
              unknownEvents: plan.unknownEvents === true,
            },
            r,
          ),
        );
    const startedAt = performance.now();
    let firstDelta = true;
    for (const step of steps) {
      if (this.#closed) return;
      if ('pause' in step) {
        // Paced against the start, not delta to delta, so timer lateness does not add up.
        await this.#pace(startedAt + step.audioMs / settings.paceFactor - performance.now());
        continue;
      }
      this.#send(step.event, step.deliberate);
      if (step.audioMs !== undefined) {
        this.#itemAudioMs.set(r.itemId, step.audioMs);
        this.#audioReplied = true;
        if (plan.dropMidResponse && firstDelta) return this.terminate();
        firstDelta = false;
      }
    }
  }

  #pace(ms: number): Promise<void> {
    // Even unpaced, yield between deltas so a cancel or truncate can land mid-response.
    return new Promise((resolve) => (ms > 0 ? this.#later(ms, resolve) : setImmediate(resolve)));
  }

  #truncate(event: Json, eventId: string | null): void {
    const itemId = event.item_id;
    const endMs = event.audio_end_ms;
    if (typeof itemId !== 'string') {
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'missing_required_parameter',
          message: "Missing required parameter: 'item_id'.",
          param: 'item_id',
        },
        eventId,
      );
    }
    if (typeof endMs !== 'number' || !Number.isInteger(endMs) || endMs < 0) {
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'invalid_type',
          message: `Invalid type for 'audio_end_ms': expected an integer, but got ${JSON.stringify(endMs)} instead.`,
          param: 'audio_end_ms',
        },
        eventId,
      );
    }
    const had = this.#itemAudioMs.get(itemId);
    if (had === undefined) {
      const what = this.#userItems.has(itemId) ? 'is not an assistant message with audio' : 'does not exist';
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'invalid_value',
          message: `Item '${itemId}' ${what}; only assistant audio can be truncated.`,
          param: 'item_id',
        },
        eventId,
      );
    }
    if (endMs > had) {
      return this.#error(
        {
          type: 'invalid_request_error',
          code: 'invalid_value',
          message: `Audio content of ${Math.round(had)}ms is already shorter than ${endMs}ms`,
          param: 'audio_end_ms',
        },
        eventId,
      );
    }
    this.#itemAudioMs.set(itemId, endMs);
    this.#send({
      type: 'conversation.item.truncated',
      item_id: itemId,
      content_index: typeof event.content_index === 'number' ? event.content_index : 0,
      audio_end_ms: endMs,
    });
  }

  // ---- output -----------------------------------------------------------------------------

  #error(error: ProtocolError, clientEventId: string | null): void {
    this.#send({ type: 'error', error: { ...error, event_id: clientEventId } });
  }

  #send(event: Json, deliberate?: Deliberate): void {
    const type = String(event.type);
    const renamed = this.deps.plan.betaEventNames ? BETA_NAMES[type] : undefined;
    const out: Json = { type: renamed ?? type, event_id: randomId('event_') };
    for (const [k, v] of Object.entries(event)) if (k !== 'type') out[k] = v;
    // conversation.item.created carried the item but had no .done pair in beta; the names map 1:1 here.
    this.#sendRaw(JSON.stringify(out), deliberate ?? (renamed && renamed !== 'conversation.item.created' ? 'beta-name' : undefined), out);
  }

  #sendRaw(raw: string, deliberate: Deliberate | undefined, event: Json = {}): void {
    const socket = this.deps.socket;
    if (this.#closed || socket.readyState !== socket.OPEN) return;
    socket.send(raw);
    this.#sentCount += 1;
    this.deps.onSent(event, raw, deliberate);
    const limit = this.deps.plan.dropAfterEvents;
    if (limit !== undefined && this.#sentCount >= limit) this.terminate();
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }
}
