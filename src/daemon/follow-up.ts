/**
 * Follow-up without pressing (`session.followUp.windowMs`, per profile): after an answer ends,
 * the microphone stays open for the window under the server's VAD, so a question from the
 * assistant can be answered without the button. Silence for the window closes it; a press during
 * it is an ordinary push-to-talk turn.
 *
 * Nothing is ever sent under a turn-detection mode that is not in force, because every switch is a
 * verified session.update and the session holds audio and commands while one is being verified:
 * - open: session.update (VAD) is sent; only after session.updated does the conductor turn
 *   hands-free and open the microphone.
 * - close (silence): the conductor turns manual first (the microphone closes, nothing more is
 *   appended), then session.update (manual) is sent.
 * - press: this listener runs before the conductor's (it is registered on the button first): the
 *   conductor turns manual and session.update (manual) is on the wire before the press's clear and
 *   pre-roll, which the session holds until the update is confirmed. A press while the VAD update
 *   is still unconfirmed re-applies manual at once (the session reconnects under it and sends the
 *   held audio there).
 */
import type { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { profileToSession, Config } from '../config/index.js';
import type { Conductor } from './conductor.js';
import type { SessionPart } from './daemon-types.js';
import type { TurnRecord } from './turn.js';

export interface FollowUpDeps {
  session: () => SessionPart | undefined;
  conductor: () => Conductor | undefined;
  /** The config in force with the active profile as `session`. */
  config: () => Config;
  /** The GA session of a config (the profile plus the device's tools). */
  sessionOf: (config: Config) => ReturnType<typeof profileToSession>;
  /** A cue that the device still listens (played before the microphone opens). */
  cue: () => void;
  logger: Logger;
}

type Phase = 'closed' | 'opening' | 'open';

export class FollowUp {
  readonly #d: FollowUpDeps;
  readonly #log: Logger;
  #phase: Phase = 'closed';
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: FollowUpDeps) {
    this.#d = deps;
    this.#log = deps.logger.child('follow-up');
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** A turn ended: a completed answer opens the window (or, during one, starts it again). */
  turnEnded(record: TurnRecord): void {
    const config = this.#d.config();
    const windowMs = config.session.followUp.windowMs;
    if (windowMs === null || config.session.turnDetection.type !== 'manual') return;
    if (this.#phase === 'open') {
      this.#arm(windowMs);
      return;
    }
    if (this.#phase === 'closed' && record.outcome === 'complete') void this.#open(config, windowMs);
  }

  /** The server heard speech in the window: the window waits for that turn to end. */
  speechStarted(): void {
    if (this.#phase === 'open') clearTimeout(this.#timer);
  }

  /** A press (called before the conductor sees it): back to push to talk at once. */
  pressed(): void {
    if (this.#phase === 'closed') return;
    this.#close('a press during the follow-up window');
  }

  /** Ends the window without a press (a reload or a profile switch changes the session). */
  stop(reason: string): void {
    if (this.#phase !== 'closed') this.#close(reason);
  }

  /** The daemon is stopping: only the timer goes. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#phase = 'closed';
  }

  async #open(config: Config, windowMs: number): Promise<void> {
    const session = this.#d.session();
    if (session?.state !== 'ready') return;
    this.#phase = 'opening';
    const vad = config.session.followUp.turnDetection;
    this.#d.cue();
    const result = await session.applyProfile(this.#d.sessionOf(withTurnDetection(config, vad)));
    if (this.#phase !== 'opening') return; // a press came first: #close re-applied manual
    if (!result.ok) {
      this.#phase = 'closed';
      this.#log.warn('the follow-up window could not open: the server did not accept VAD', { error: result.error as PttError });
      return;
    }
    this.#phase = 'open';
    this.#d.conductor()?.setOptions({ turnDetection: vad });
    this.#log.info('follow-up window open', { windowMs, turnDetection: vad });
    this.#arm(windowMs);
  }

  #arm(windowMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      // Someone is still talking or being answered: the window ends after that turn.
      const state = this.#d.conductor()?.state;
      if (state === 'thinking' || state === 'speaking') return;
      this.#close(`${windowMs} ms without speech`);
    }, windowMs);
  }

  #close(reason: string): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#phase = 'closed';
    const config = this.#d.config();
    // The microphone closes before the update goes out: no append can follow under VAD.
    this.#d.conductor()?.setOptions({ turnDetection: 'manual' });
    void this.#d
      .session()
      ?.applyProfile(this.#d.sessionOf(config))
      .then((result) => {
        if (!result.ok) this.#log.error('push to talk could not be restored after the follow-up window', { error: result.error });
      });
    this.#log.info('follow-up window closed', { reason });
  }
}

/** The config with the active profile's turn detection replaced by `type` (the other VAD settings kept). */
export function withTurnDetection(config: Config, type: 'server_vad' | 'semantic_vad'): Config {
  return { ...config, session: { ...config.session, turnDetection: { ...config.session.turnDetection, type } } };
}
