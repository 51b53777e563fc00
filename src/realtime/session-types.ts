/**
 * The shapes around a RealtimeSession: its options and timeouts, its states, and the events it
 * emits (what the conductor and doctor see).
 */
import type { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { MintVia, Provider } from './client-secret.js';
import type { UplinkReport } from './outbox.js';
import type { FunctionCallItem, GaSessionConfig, McpApprovalItem, RateLimit, ResponseUsage } from './protocol.js';
import type { WebSocketFactory } from './transport.js';

/**
 * stopped: not started. idle: on-demand with no socket (connects on the next audio). connecting:
 * minting a secret or opening the socket. verifying: the profile is being applied and checked
 * (audio waits). ready: verified, audio flows. waiting: a reconnect is scheduled after a failure.
 */
export type SessionState = 'stopped' | 'idle' | 'connecting' | 'verifying' | 'ready' | 'waiting';
export type Bootstrap = 'session-update' | 'client-secret';

export interface RealtimeTimeouts {
  /** WebSocket handshake (and client-secret request) deadline. */
  connectMs: number;
  /** Open to verified: waiting for session.created / session.updated. */
  verifyMs: number;
  /** on-demand: close the socket after this long without audio, commands or a response. */
  idleCloseMs: number;
  /** Ping interval; a ping unanswered by the next one means a dead peer. 0 turns it off. */
  pingMs: number;
  /** Retry delay after the key was refused (401/403) or the beta shape refused (4000). */
  slowRetryMs: number;
  /** Reconnect this long before the session's expires_at, when idle. */
  rotateBeforeMs: number;
  /** Mint a new client secret when the cached one expires within this. */
  secretMarginMs: number;
  /** Graceful close deadline before the socket is destroyed. */
  closeMs: number;
}

export const DEFAULT_TIMEOUTS: RealtimeTimeouts = {
  connectMs: 10_000,
  verifyMs: 10_000,
  idleCloseMs: 60_000,
  pingMs: 15_000,
  slowRetryMs: 60_000,
  rotateBeforeMs: 120_000,
  secretMarginMs: 30_000,
  closeMs: 2_000,
};

export interface RealtimeSessionOptions {
  /** WebSocket endpoint, e.g. `wss://api.openai.com/v1/realtime`. */
  url: string;
  model: string;
  provider: Provider;
  apiKey: string;
  bootstrap: Bootstrap;
  connection: 'persistent' | 'on-demand';
  /** The GA session object the profile produces; taken as given. */
  session: GaSessionConfig;
  timeouts?: Partial<RealtimeTimeouts>;
  backoff?: { minMs: number; maxMs: number };
  /** How much audio the gate holds while the session is not verified. */
  maxQueuedMs?: number;
  /** Size of the `input_audio_buffer.append` frames a backlog (audio that waited in the gate) goes out in; audio sent straight away is one frame per call. */
  appendChunkMs?: number;
  /**
   * What the socket may hold unsent before audio waits in the gate instead (a slow uplink). Bounds
   * memory and keeps commands close behind their audio; default 128 KiB, about 2 s of audio.
   */
  maxBufferedBytes?: number;
  logger?: Logger;
  webSocketFactory?: WebSocketFactory;
  fetchImpl?: typeof fetch;
  /** client-secret bootstrap through the owner's mint server with this device's token (apiKey is then ''). */
  mintVia?: MintVia;
}

export interface VerifiedInfo {
  sessionId: string | undefined;
  bootstrap: Bootstrap;
  /** Connection attempts it took (1 = first try). */
  attempts: number;
  /** session.update frames sent on this connection (0 for a matching client secret). */
  updatesSent: number;
  /** Socket creation to verified. */
  ms: number;
}

export interface AudioChunk {
  itemId: string;
  responseId: string;
  contentIndex: number;
  pcm: Buffer;
  /** Position of this chunk within the item's audio. */
  offsetMs: number;
}

export interface Transcript {
  role: 'user' | 'assistant';
  itemId: string;
  text: string;
  /** false: a delta to append; true: the whole final text. */
  final: boolean;
}

export interface CommitResult {
  committed: boolean;
  /** Under 100 ms: the buffer was cleared instead (the server refuses such a commit). */
  shortTap: boolean;
  audioMs: number;
}

export type ApplyResult =
  | { ok: true; mode: 'live' | 'next-connection'; deferred: string[]; message: string }
  | { ok: true; mode: 'reconnect-when-idle'; deferred: string[]; message: string }
  | { ok: false; error: PttError };

export type RealtimeSessionEvents = {
  state: [state: SessionState, detail: string];
  verified: [info: VerifiedInfo];
  audio: [chunk: AudioChunk];
  transcript: [transcript: Transcript];
  responseStarted: [info: { responseId: string }];
  /** `functionCalls`: the completed function_call items of its output (run them only when status is completed). */
  responseDone: [
    info: {
      responseId: string;
      status: string;
      usage: ResponseUsage | null;
      functionCalls?: FunctionCallItem[];
      approvals?: McpApprovalItem[];
    },
  ];
  inputCommitted: [info: { itemId: string; audioMs: number }];
  speechStarted: [info: { itemId: string; audioStartMs: number }];
  speechStopped: [info: { itemId: string; audioEndMs: number }];
  rateLimits: [limits: RateLimit[]];
  /** The uplink fell behind the microphone (once per episode, with figures), or caught up again. */
  uplink: [report: UplinkReport];
  error: [error: PttError];
};
