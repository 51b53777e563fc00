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
  readCallOutput,
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
import {
  activeResponse,
  CANCEL_NOT_ACTIVE,
  CANNOT_UPDATE_VOICE,
  checkAudio,
  checkTruncate,
  commitEmpty,
  INVALID_JSON,
  isTextMessage,
  missingParameter,
  MISSING_TYPE,
  OUTPUT_BUFFER_CLEAR,
  SERVER_ERROR,
  SESSION_EXPIRED,
  TEXT_ITEMS_ONLY,
  unknownEvent,
} from './client-errors.js';

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
        this.#error(SESSION_EXPIRED, null);
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
      this.#error(INVALID_JSON, null);
      return;
    }
    const eventId = typeof event.event_id === 'string' ? event.event_id : null;
    if (typeof event.type !== 'string') {
      this.#error(MISSING_TYPE, eventId);
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
        return this.#error(OUTPUT_BUFFER_CLEAR, eventId);
      default:
        return this.#error(unknownEvent(event.type), eventId);
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
      if (mode === 'error') return this.#error(SERVER_ERROR, eventId);
      if (this.#audioReplied && changesVoice(this.#session, update)) return this.#error(CANNOT_UPDATE_VOICE, eventId);
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
    const problem = checkAudio(audio);
    if (problem) return this.#error(problem, eventId);
    const pcm = Buffer.from(audio as string, 'base64');
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
      return this.#error(commitEmpty(ms), eventId);
    }
    this.#inputBytes = 0;
    this.#vad?.reset();
    this.#userItems.add(itemId);
    this.#send({ type: 'input_audio_buffer.committed', previous_item_id: this.#lastItemId, item_id: itemId });
    this.#addItem({ id: itemId, type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] });
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
    if (!isPlainObject(item)) return this.#error(missingParameter('item'), eventId);
    if (item.type === 'function_call' || item.type === 'function_call_output') return this.#callItemCreate(item, eventId);
    if (item.type === 'mcp_approval_response') {
      const a = readApproval(item, this.#approvalRequests);
      if (typeof a === 'string')
        return this.#error({ type: 'invalid_request_error', code: 'invalid_value', message: a, param: 'item' }, eventId);
      this.#approved.push(a);
      this.deps.settings.onApproval(a);
      return this.#addItem(item);
    }
    if (!isTextMessage(item)) return this.#error(TEXT_ITEMS_ONLY, eventId);
    const id = typeof item.id === 'string' ? item.id : randomId('item_');
    if (item.role === 'user') this.#userItems.add(id);
    this.#addItem({ id, type: 'message', status: 'completed', role: item.role, content: item.content });
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
      const output = readCallOutput(item, callId, this.#calls);
      if ('message' in output) return this.#error({ type: 'invalid_request_error', code: 'invalid_value', ...output }, eventId);
      this.deps.settings.onCallOutput(output);
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
    if (this.#response) return this.#error(activeResponse(this.#response.id), eventId);
    this.#startResponse(isPlainObject(event.response) ? event.response : {}, eventId);
  }

  #responseCancel(eventId: string | null): void {
    if (!this.#response) return this.#error(CANCEL_NOT_ACTIVE, eventId);
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
    // A response told not to call tools (an announcement) leaves the scripted calls for the next one.
    const calls = params.tool_choice === 'none' ? undefined : settings.nextCalls();
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
              ...spec,
              previousItemId,
              turn,
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
    const named = typeof itemId === 'string';
    const problem = checkTruncate(itemId, endMs, named ? this.#itemAudioMs.get(itemId) : undefined, named && this.#userItems.has(itemId));
    if (problem) return this.#error(problem, eventId);
    // Both checked by checkTruncate.
    this.#itemAudioMs.set(itemId as string, endMs as number);
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
