import type { ScriptedCall } from './function-calls.js';
/**
 * Public shapes of the Realtime protocol simulator: options, fault plans and the records
 * tests assert on. Kept apart from the server so the session module can import types only.
 */
import type { Logger } from '../core/logger.js';

/** Reply streaming speed: a multiple of real time, or one of the two named extremes. */
export type Pace = number | 'realtime' | 'instant';

/** The real server streams a reply a few times faster than it plays. */
export const DEFAULT_PACE = 4;

/** Reads a pace as the CLI spells it: `instant`, `realtime` or a positive multiple such as `4` or `1.5`. */
export function parsePace(text: string): Pace | undefined {
  if (text === 'instant' || text === 'realtime') return text;
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 ? n : undefined;
}

/** How many milliseconds of reply audio go out per millisecond of wall time (Infinity: no waiting). */
export function paceFactor(pace: Pace): number {
  if (pace === 'instant') return Number.POSITIVE_INFINITY;
  if (pace === 'realtime') return 1;
  return pace;
}

/** What a connection does wrong, on purpose. Set per connection (see `setFaults`). */
export interface FaultPlan {
  /** Refuse the WebSocket handshake with this HTTP status. */
  rejectHandshake?: 401 | 403 | 500;
  /** Accept the socket, then send nothing and answer no ping (a dead peer). */
  stall?: boolean;
  /** How `session.update` is handled (default 'apply'). */
  sessionUpdate?: 'apply' | 'ignore' | 'error' | 'partial';
  /** GA dotted paths kept at their current value by 'partial' (default ['audio.input.turn_detection']). */
  partialFields?: string[];
  /** Delay before `session.updated` (or the error) is sent. */
  sessionUpdateDelayMs?: number;
  /** Terminate the TCP connection after sending N events (0: right after the handshake). */
  dropAfterEvents?: number;
  /** Terminate right after the first audio delta of a response. */
  dropMidResponse?: boolean;
  /** Close with this code after `ms` from the handshake (1001 = the 60-minute cap). */
  closeAfterMs?: { ms: number; code: number; reason?: string };
  /** Send one frame that is not JSON right after `session.created`. */
  malformedJson?: boolean;
  /** Send events of unknown types after `session.created` and inside responses. */
  unknownEvents?: boolean;
  /** Use beta event names (response.audio.delta, conversation.item.created, ...). */
  betaEventNames?: boolean;
  /** Session lifetime in seconds (fractions allowed): `expires_at` = now + this, and the session ends (error + close 1001) then. */
  expiresInS?: number;
  /** Close 4000 when the client sends `OpenAI-Beta: realtime=v1` (default true, as OpenAI does). */
  refuseBetaHeader?: boolean;
}

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, `Authorization: Bearer` or `api-key` must carry it (or a minted ek_), else HTTP 401. */
  apiKey?: string;
  /** Length of the synthesized reply audio, default 1500 ms. */
  replyMs?: number;
  /** Assistant transcript of reply number `turn` (1-based, per connection). */
  replyText?: (turn: number) => string;
  /** Audio per `response.output_audio.delta`, default 100 ms. */
  deltaMs?: number;
  /**
   * How fast reply audio is streamed: a multiple of real time (default 4, like the real server,
   * which sends faster than it plays but not all at once), `realtime` (1x) or `instant` (as fast
   * as the socket takes it; for tests that only need speed).
   */
  pace?: Pace;
  /** Responses that call functions instead of speaking, in order (one list of calls per response). */
  toolCalls?: ScriptedCall[][];
  /** Fault plan of every connection until `setFaults` replaces it. */
  faults?: FaultPlan;
  logger?: Logger;
  /** Keep at most this many client and sent frames each, dropping the oldest (default: all; the CLI keeps 10 000). */
  maxRecordedFrames?: number;
}

/** A client frame as received. `type` is '' and `event` empty when the frame was not a JSON object. */
export interface RecordedFrame {
  connection: number;
  /** Milliseconds since the simulator started. */
  at: number;
  type: string;
  event: Record<string, unknown>;
  raw: string;
}

/** Why a sent frame is not a valid RealtimeServerEvent, when a fault made it so on purpose. */
export type Deliberate = 'malformed' | 'unknown' | 'beta-name';

/** A frame the simulator sent. */
export interface SentFrame {
  connection: number;
  at: number;
  type: string;
  event: Record<string, unknown>;
  raw: string;
  deliberate?: Deliberate;
}

export type AuthKind = 'bearer' | 'api-key' | 'none';

export interface ConnectionRecord {
  index: number;
  /** Request path, e.g. /v1/realtime. */
  path: string;
  /** Query parameters (model, deployment, ...). */
  query: Record<string, string>;
  auth: AuthKind;
  /** Whether the credential matched the API key or a live client secret (the key itself is never kept). */
  authMatched: boolean;
  /** The credential was a minted `ek_` client secret. */
  clientSecret: boolean;
  /** The client sent `OpenAI-Beta: realtime=v1`. */
  betaHeader: boolean;
  /** HTTP status when the handshake was refused. */
  rejectedWith?: number;
  closedWith?: { code: number; reason: string; by: 'server' | 'client' };
  openedAt: number;
}

export type SimulatorEvents = {
  connection: [record: ConnectionRecord];
  frame: [frame: RecordedFrame];
  sent: [frame: SentFrame];
  close: [record: ConnectionRecord];
  /** A function_call_output for a call the simulated model made. */
  callOutput: [output: CallOutput];
};

export interface CallOutput {
  callId: string;
  name: string;
  output: string;
}
