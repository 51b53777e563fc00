/**
 * What a released push-to-talk turn is: a question (committed and answered), or one of the
 * presses that ask nothing, whose input is cleared and never committed.
 */
import { SILENCE_DBFS } from '../audio/pcm.js';
import type { Turn } from './turn.js';

export interface ReleaseRules {
  /** A press held shorter than this is a tap. */
  minHoldMs: number;
  /** After a barge-in, live audio must peak over this to be a question (`conversation.cancelBelowDbfs`). */
  speechPeakDbfs: number;
}

export interface NotAsked {
  outcome: 'tap' | 'cancelled' | 'silent';
  reason: string;
}

/** After a barge-in only the live audio counts: the pre-roll may hold the answer heard through the mic. */
export function carriesSpeech(turn: Turn, rules: ReleaseRules): boolean {
  return turn.peakDbfs >= rules.speechPeakDbfs;
}

const digitalSilence = (turn: Turn): boolean => turn.level !== undefined && turn.level.peakDbfs <= SILENCE_DBFS;

/**
 * A press that stopped an answer and carried no speech only stopped it: a person who presses to
 * stop expects silence, however long the hold. Undefined when it is not such a press.
 */
export function onlyStopped(turn: Turn, rules: ReleaseRules): NotAsked | undefined {
  if (!turn.bargeIn || carriesSpeech(turn, rules)) return undefined;
  const muted = digitalSilence(turn) ? '; the microphone gave digital silence: is it muted?' : '';
  return {
    outcome: 'cancelled',
    reason: `the press stopped the answer and nothing was said (peak ${Math.round(turn.peakDbfs)} dBFS, under conversation.cancelBelowDbfs ${rules.speechPeakDbfs}${muted}): nothing was asked`,
  };
}

/**
 * Why a released turn asks nothing, or undefined when it is a question: a tap, a press that only
 * stopped an answer, or a microphone that gave only digital silence (muted or unplugged).
 */
export function whyNotAsked(turn: Turn, rules: ReleaseRules): NotAsked | undefined {
  const heldMs = turn.heldMs ?? 0;
  if (heldMs < rules.minHoldMs) {
    // The server refuses a commit of under 100 ms, and a tap is rarely a question.
    return { outcome: 'tap', reason: `held ${Math.round(heldMs)} ms, under the ${rules.minHoldMs} ms tap threshold: nothing was asked` };
  }
  const stopped = onlyStopped(turn, rules);
  if (stopped) return stopped;
  if (digitalSilence(turn)) {
    return {
      outcome: 'silent',
      reason: 'the microphone gave only digital silence (every sample zero): nothing was sent; is it muted or unplugged?',
    };
  }
  return undefined;
}
