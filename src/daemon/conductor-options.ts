/** The conductor's options from the config in force (and the active profile's name). */
import type { Config } from '../config/index.js';
import type { ConductorOptions } from './conductor.js';

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
