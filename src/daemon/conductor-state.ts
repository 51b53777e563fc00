/** The conductor's state, derived from the turn in progress and the session's link, and its systemd status line. */
import type { PttError } from '../core/errors.js';
import type { ConductorState } from './ports.js';
import type { Turn } from './turn.js';

/** What the state is derived from, read after every event. */
export interface StateView {
  turn: Turn | undefined;
  /** An answer is awaited or still playing. */
  answerPending: boolean;
  /** A session error only a person can fix (a bad key, a refused profile). */
  linkProblem: PttError | undefined;
  linkReady: boolean;
  sessionState: string;
  handsFree: boolean;
  micOpen: boolean;
  muted: boolean;
}

/** Session states in which no connection is wanted (on-demand between turns). */
const DORMANT = new Set(['idle']);

export function deriveState(v: StateView): ConductorState {
  const turn = v.turn;
  if (turn?.phase === 'recording') return 'listening';
  if (turn?.phase === 'awaiting-answer') return 'thinking';
  if (turn?.phase === 'answering' || v.answerPending) return 'speaking';
  if (v.linkProblem) return 'error';
  if (!v.linkReady) return DORMANT.has(v.sessionState) ? 'idle' : 'connecting';
  if (v.handsFree && v.micOpen) return 'listening';
  return 'idle';
}

export function statusLine(state: ConductorState, v: StateView): string {
  if (state === 'error' && v.linkProblem) return `error: ${v.linkProblem.message}`;
  if (state === 'connecting') return 'connecting to the Realtime API';
  if (state === 'idle' && v.muted) return 'idle (microphone muted)';
  return state;
}
