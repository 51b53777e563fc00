/** The Realtime session: connect, authenticate, apply + verify the profile, gate audio, turn commands, reconnect. */
export {
  RealtimeSession,
  DEFAULT_TIMEOUTS,
  type RealtimeSessionOptions,
  type RealtimeSessionEvents,
  type RealtimeTimeouts,
  type SessionState,
  type Bootstrap,
  type VerifiedInfo,
  type AudioChunk,
  type Transcript,
  type CommitResult,
  type ApplyResult,
} from './session.js';
export {
  realtimeRecovery,
  realtimeErrors,
  isRealtimeErrorCode,
  type RealtimeErrorCode,
  type Recovery,
} from './errors.js';
export { TurnLedger, type Unacknowledged } from './turn-ledger.js';
export { Outbox, DEFAULT_MAX_BUFFERED_BYTES, type UplinkReport, type Wire } from './outbox.js';
export { RealtimeTransport, type TransportEnd, type TransportHandlers, type TransportOptions, type WebSocketFactory } from './transport.js';
export {
  type GaSessionConfig,
  type ClientEvent,
  type RateLimit,
  type ResponseUsage,
  BETA_EVENT_ALIASES,
  parseServerFrame,
} from './protocol.js';
export { diffSession, describeMismatches, type FieldMismatch } from './verify.js';
export { httpBaseFromWsUrl, mintClientSecret, authHeaders, type ClientSecret, type Provider } from './client-secret.js';
export { Backoff, type BackoffOptions } from '../core/backoff.js';
export { AudioGate, Chunker } from './gate.js';
export { restoreEvents, type RestoreItem, type RestoreSource } from './restore.js';
