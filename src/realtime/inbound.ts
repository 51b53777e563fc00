/**
 * Inbound server events of one socket: each updates what the session knows about the socket and
 * becomes a session event. Verification is the session's own business, handed back through the host.
 */
import type { Logger } from '../core/logger.js';
import { bytesToMs } from '../core/pcm-format.js';
import { realtimeErrors } from './errors.js';
import { parseServerFrame, type ServerEvent } from './protocol.js';
import type { RealtimeSessionEvents } from './session-types.js';
import type { Sock } from './socket-state.js';

export interface InboundHost {
  emit<K extends keyof RealtimeSessionEvents & string>(event: K, ...args: RealtimeSessionEvents[K]): unknown;
  log: Logger;
  /** session.created or session.updated arrived: the verification in progress may be decided. */
  onSessionEvent(sock: Sock, kind: 'created' | 'updated', session: Record<string, unknown>): void;
  /** An error answering the session.update being verified: the verification fails (true), else false. */
  rejectsUpdate(sock: Sock, error: Extract<ServerEvent, { type: 'error' }>['error']): boolean;
  /** Nothing may be in flight any more: a pending reconnect may run. */
  maybeIdle(): void;
  /** A response ended: the session may be idle now. */
  onResponseDone(): void;
}

export function handleFrame(host: InboundHost, sock: Sock, text: string): void {
  const parsed = parseServerFrame(text);
  if (!parsed.ok) {
    host.log.warn('ignored a malformed server event', { problem: parsed.problem, type: parsed.type, bytes: text.length });
    return;
  }
  handleEvent(host, sock, parsed.event);
}

export function handleEvent(host: InboundHost, sock: Sock, e: ServerEvent): void {
  switch (e.type) {
    case 'session.created':
      sock.sessionId = e.sessionId;
      sock.createdSession = e.session;
      if (e.expiresAt !== undefined) sock.expiresAtMs = e.expiresAt * 1000;
      host.onSessionEvent(sock, 'created', e.session);
      return;
    case 'session.updated':
      if (e.expiresAt !== undefined) sock.expiresAtMs = e.expiresAt * 1000;
      host.onSessionEvent(sock, 'updated', e.session);
      return;
    case 'error': {
      if (host.rejectsUpdate(sock, e.error)) return;
      const err = e.error;
      const clientEvent = err.eventId ? sock.transport.sentType(err.eventId) : undefined;
      const error = realtimeErrors.server(err.message, err.type, err.code, clientEvent, err.eventId, err.param);
      host.log.warn(error.message, { code: error.code, ...error.context });
      host.emit('error', error);
      if (clientEvent === 'response.create') {
        // A refused response.create will get no response.created: it no longer holds the session busy.
        sock.responsesRequested = Math.max(0, sock.responsesRequested - 1);
        host.maybeIdle();
      }
      return;
    }
    case 'response.created':
      sock.activeResponse = e.responseId;
      sock.responsesRequested = Math.max(0, sock.responsesRequested - 1);
      sock.itemBytes.clear();
      host.emit('responseStarted', { responseId: e.responseId });
      return;
    case 'response.done':
      if (sock.activeResponse === e.responseId) sock.activeResponse = undefined;
      host.emit('responseDone', {
        responseId: e.responseId,
        status: e.status,
        usage: e.usage,
        functionCalls: e.functionCalls,
        approvals: e.approvals,
      });
      host.onResponseDone();
      return;
    case 'response.output_audio.delta': {
      sock.audioReplied = true;
      const pcm = Buffer.from(e.delta, 'base64');
      const before = sock.itemBytes.get(e.itemId) ?? 0;
      sock.itemBytes.set(e.itemId, before + pcm.length);
      host.emit('audio', { itemId: e.itemId, responseId: e.responseId, contentIndex: e.contentIndex, pcm, offsetMs: bytesToMs(before) });
      return;
    }
    case 'response.output_audio_transcript.delta':
      host.emit('transcript', { role: 'assistant', itemId: e.itemId, text: e.delta, final: false });
      return;
    case 'response.output_audio_transcript.done':
      host.emit('transcript', { role: 'assistant', itemId: e.itemId, text: e.transcript, final: true });
      return;
    case 'conversation.item.input_audio_transcription.delta':
      host.emit('transcript', { role: 'user', itemId: e.itemId, text: e.delta, final: false });
      return;
    case 'conversation.item.input_audio_transcription.completed':
      host.emit('transcript', { role: 'user', itemId: e.itemId, text: e.transcript, final: true });
      return;
    case 'input_audio_buffer.committed':
      host.emit('inputCommitted', { itemId: e.itemId, audioMs: sock.ledger.committed() });
      return;
    case 'input_audio_buffer.speech_started':
      host.emit('speechStarted', { itemId: e.itemId, audioStartMs: e.audioStartMs });
      return;
    case 'input_audio_buffer.speech_stopped':
      host.emit('speechStopped', { itemId: e.itemId, audioEndMs: e.audioEndMs });
      return;
    case 'rate_limits.updated':
      host.emit('rateLimits', e.rateLimits);
      return;
    case 'other':
      host.log.debug('unhandled server event', { type: e.name });
      return;
  }
}
