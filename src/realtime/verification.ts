/**
 * One verification of the profile on a socket: what was asked for, which server event answers
 * it, and the verdict on the session the server echoed (verified, re-send once, or fail).
 */
import type { PttError } from '../core/errors.js';
import { realtimeErrors } from './errors.js';
import type { GaSessionConfig } from './protocol.js';
import type { ApplyResult, Bootstrap } from './session-types.js';
import { diffSession } from './verify.js';

export interface Verification {
  purpose: 'bootstrap' | 'apply';
  wanted: GaSessionConfig;
  /** Fields left out of the check (voice deferred to a reconnect). */
  ignore: string[];
  updateEventId: string | undefined;
  resent: boolean;
  /** session.update frames sent for this verification (the message counts these, not the socket's). */
  updates: number;
  timer: NodeJS.Timeout;
  settle: ((result: ApplyResult) => void) | undefined;
  previous: GaSessionConfig | undefined;
}

/** The server event that answers: session.created for a client secret's bootstrap, else session.updated. */
export function awaitedEvent(bootstrap: Bootstrap, purpose: Verification['purpose']): 'session.created' | 'session.updated' {
  return bootstrap === 'client-secret' && purpose === 'bootstrap' ? 'session.created' : 'session.updated';
}

/** Whether a session.created / session.updated is the answer this verification waits for. */
export function answers(v: Verification, kind: 'created' | 'updated', bootstrap: Bootstrap): boolean {
  // A client secret's session.created is the verification; session.updated does not echo our
  // event_id, but only one update is ever in flight, so it answers that one.
  if (kind === 'created') return bootstrap === 'client-secret' && v.purpose === 'bootstrap' && v.updateEventId === undefined;
  return v.updateEventId !== undefined;
}

export type Verdict =
  | { verdict: 'verified' }
  | { verdict: 'resend'; fields: string[] }
  | { verdict: 'failed'; fields: string[]; error: PttError };

/** Checks an effective session against the profile: verified, re-send once, or fail. */
export function judge(v: Verification, session: Record<string, unknown>): Verdict {
  const mismatches = diffSession(v.wanted, session, v.ignore);
  if (mismatches.length === 0) return { verdict: 'verified' };
  const fields = mismatches.map((m) => m.field);
  if (!v.resent) return { verdict: 'resend', fields };
  return { verdict: 'failed', fields, error: realtimeErrors.mismatch(mismatches, v.updates) };
}

export function withoutVoice(session: GaSessionConfig): GaSessionConfig {
  const output = session.audio?.output;
  if (!output || output.voice === undefined) return session;
  const { voice: _voice, ...rest } = output;
  return { ...session, audio: { ...session.audio, output: rest } };
}

/** The result of a profile change that takes effect on another connection. */
export function onNextConnection(message: string): ApplyResult {
  return { ok: true, mode: 'next-connection', deferred: [], message };
}

/** A changed profile applied live except the voice, which the server fixes after the first audio reply. */
export function voiceDeferred(): ApplyResult {
  return {
    ok: true,
    mode: 'reconnect-when-idle',
    deferred: ['audio.output.voice'],
    message:
      'applied live except audio.output.voice, which the server fixes after the first audio reply: it is applied by reconnecting when idle',
  };
}
