/**
 * What the conductor needs from each part, and nothing more. The conductor is written against
 * these small interfaces so it knows no wire format, no ALSA and no GPIO; the composition root
 * (daemon.ts) plugs the real modules in, tests plug in the simulator-backed ones.
 *
 * Listener registration mirrors TypedEmitter so the real classes satisfy the ports as they are.
 */
import type { FunctionCallItem, McpApprovalItem } from '../realtime/protocol.js';
import type { PttError } from '../core/errors.js';
import type { SessionState, VerifiedInfo } from '../realtime/session-types.js';

export type { SessionState, VerifiedInfo };

export type ConductorState = 'idle' | 'connecting' | 'listening' | 'thinking' | 'speaking' | 'error';

/** A source of typed events, as TypedEmitter offers it. */
export interface Events<M extends { [event: string]: unknown[] }> {
  on<K extends keyof M & string>(event: K, listener: (...args: M[K]) => void): unknown;
  off<K extends keyof M & string>(event: K, listener: (...args: M[K]) => void): unknown;
}

export interface TurnLevel {
  rmsDbfs: number;
  peakDbfs: number;
}

/** The gated microphone: capture stays open; `open()` hands over the pre-roll, then `audio` flows until `close()`. */
export type MicEvents = { audio: [Buffer]; error: [PttError] };
export interface MicPort extends Events<MicEvents> {
  open(): Buffer;
  close(): TurnLevel | undefined;
  /** Lets go of the capture source (the audio parts are being replaced). */
  detach?(): void;
}

/** The speaker: fed PCM16 24 kHz mono; knows how much of what it was given has been heard. */
export type SpeakerEvents = { drained: []; error: [PttError] };
export interface SpeakerPort extends Events<SpeakerEvents> {
  write(pcm: Buffer): void;
  /** Stops at once; returns the milliseconds actually played since the speaker was last idle. */
  interrupt(): number;
  /** Milliseconds played since the speaker was last idle (drained or interrupted). */
  playedMs(): number;
  /** How long until position `ms` (since idle) is heard, when the speaker can tell. */
  untilPlayedMs?(ms: number): number | undefined;
  /** Nothing more follows for now: `drained` comes as soon as what was written has played. */
  endStream?(): void;
}

export interface SessionAudio {
  itemId: string;
  responseId: string;
  pcm: Buffer;
}

export interface SessionTranscript {
  role: 'user' | 'assistant';
  itemId: string;
  text: string;
  final: boolean;
}

export type SessionEvents = {
  /** `ready` means verified: audio and turn commands go straight to the wire. */
  state: [state: SessionState, detail: string];
  verified: [info: VerifiedInfo];
  audio: [SessionAudio];
  transcript: [SessionTranscript];
  responseStarted: [{ responseId: string }];
  /** `functionCalls`: the completed function_call items of a response (see tool-calls.ts). */
  responseDone: [{ responseId?: string; status: string; functionCalls?: FunctionCallItem[]; approvals?: McpApprovalItem[] }];
  /** Hands-free: the server heard speech start / stop, or committed the input buffer. */
  speechStarted: [{ itemId: string }];
  speechStopped: [{ itemId: string }];
  inputCommitted: [{ itemId: string }];
  error: [PttError];
};

/**
 * The Realtime session. It gates audio and turn commands itself until the profile is verified
 * (and re-verified after a reconnect), so the conductor may call these at any time.
 */
export interface SessionPort extends Events<SessionEvents> {
  /** 'ready' when verified; 'verifying' while a changed profile is re-applied on the same socket. */
  readonly state: SessionState;
  appendAudio(pcm: Buffer): void;
  /** Commits the input; `committed: false` when it held too little audio and was cleared instead. */
  commit(): { committed: boolean; audioMs: number };
  createResponse(): void;
  cancelResponse(): void;
  truncate(itemId: string, audioEndMs: number): void;
  clearInput(): void;
}

export type ButtonEvents = {
  press: [{ at: number }];
  release: [{ at: number; heldMs?: number }];
  longPress: [{ at: number }];
  doublePress: [{ at: number }];
};
export type ButtonPort = Events<ButtonEvents>;

export interface LedPort {
  setState(state: ConductorState): void;
  /** A signal over the state pattern (confirmation, alarm); undefined ends it. */
  signal?(name: 'confirm' | 'alarm' | undefined): void;
}

export type EarconName = 'press' | 'release' | 'error' | 'ready' | 'confirm' | 'alarm';

/**
 * Something that takes the button for a while (a confirmation, a ringing alarm): while it
 * returns true for an event, the conductor does nothing with it (no turn, no barge-in).
 */
export interface PressClaim {
  press(): boolean;
  release(): boolean;
  longPress(): boolean;
}

/** The systemd status line (sd_notify STATUS=). */
export interface StatusPort {
  status(text: string): void;
}
