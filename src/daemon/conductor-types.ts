/** What the conductor is given (its ports and hooks) and the events it emits. */
import type { Logger } from '../core/logger.js';
import type { CutInfo } from './answer.js';
import type { ButtonPort, ConductorState, EarconName, LedPort, MicPort, SessionPort, SpeakerPort, StatusPort } from './ports.js';
import type { ToolCallsHook } from './tool-calls.js';
import type { TranscriptEntry } from './transcripts.js';
import type { TurnRecord } from './turn.js';

export type ConductorEvents = {
  state: [ConductorState, { from: ConductorState; reason: string }];
  turn: [TurnRecord];
  transcript: [TranscriptEntry];
  /** A barge-in stopped an answer. */
  cut: [CutInfo];
};

export interface ConductorDeps {
  mic: MicPort;
  speaker: SpeakerPort;
  session: SessionPort;
  button: ButtonPort;
  earcon: (name: EarconName) => Buffer;
  logger: Logger;
  led?: LedPort;
  status?: StatusPort;
  now?: () => number;
  /** How often the first-delta-to-DAC probe reads the speaker position. */
  dacProbeMs?: number;
  /** Runs a response's function calls (tool-calls.ts); without it calls are not answered. */
  toolCalls?: ToolCallsHook;
}
