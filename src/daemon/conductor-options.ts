/** The conductor's options, their defaults, and how the config in force (and the active profile) sets them. */
import type { Config } from '../config/index.js';

export type TurnDetection = 'manual' | 'server_vad' | 'semantic_vad';

export interface ConductorOptions {
  turnDetection: TurnDetection;
  /** Hands-free: speech during an answer interrupts it; otherwise the mic is gated while it speaks. */
  bargeInByVoice: boolean;
  earcons: boolean;
  /** A press held shorter than this is a tap: the input is cleared and nothing is asked. */
  minHoldMs: number;
  /** A released turn that has no answer started this long after release is dropped (with the error earcon). */
  answerTimeoutMs: number;
  /**
   * A hold after a barge-in asks something only if the microphone's peak went over this level
   * (someone spoke); otherwise the press only stopped the answer, however long it was held.
   */
  speechPeakDbfs: number;
  /** The active profile, named in each turn's log line. */
  profile?: string;
}

export const DEFAULT_CONDUCTOR_OPTIONS: ConductorOptions = {
  turnDetection: 'manual',
  bargeInByVoice: false,
  earcons: true,
  minHoldMs: 200,
  answerTimeoutMs: 15_000,
  speechPeakDbfs: -35,
};

/** The conductor's options from the config in force (and the active profile's name). */
export function conductorOptions(config: Config, profile?: string): Partial<ConductorOptions> {
  return {
    ...(profile ? { profile } : {}),
    turnDetection: config.session.turnDetection.type,
    bargeInByVoice: config.conversation.bargeInByVoice,
    earcons: config.conversation.earcons,
    minHoldMs: config.conversation.minHoldMs,
    answerTimeoutMs: config.conversation.answerTimeoutMs,
    speechPeakDbfs: config.conversation.cancelBelowDbfs,
  };
}
