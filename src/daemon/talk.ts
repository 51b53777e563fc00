/**
 * The `talk` command with push to talk: a turn as if the button were pressed now and released by
 * voice activity. The press opens the turn; the microphone's level (what the conductor sends)
 * decides the release: after speech, `silenceMs` below the speech level; with no speech within
 * `noSpeechMs`, or at `maxMs`, it is released anyway. A real press or release in between ends
 * the watch (the person took over). Hands-free needs none of this: talk there only unmutes.
 */
import type { Logger } from '../core/logger.js';
import { measureLevel } from '../audio/pcm.js';
import type { Events, MicEvents } from './ports.js';
import type { TurnRecord } from './turn.js';

export interface TalkConductor extends Events<{ turn: [TurnRecord] }> {
  pressed(down: boolean): void;
}

export interface TalkOptions {
  /** A chunk whose peak is over this is speech (conversation.cancelBelowDbfs). */
  speechDbfs: number;
  silenceMs?: number;
  noSpeechMs?: number;
  maxMs?: number;
  logger: Logger;
  now?: () => number;
}

export class VoiceReleasedTurn {
  readonly #o: TalkOptions;
  #end: (() => void) | undefined;

  constructor(options: TalkOptions) {
    this.#o = options;
  }

  get active(): boolean {
    return this.#end !== undefined;
  }

  /** Presses now and releases on voice activity; false when a talk turn is already running. */
  start(conductor: TalkConductor, mic: Events<MicEvents>): boolean {
    if (this.#end) return false;
    const o = this.#o;
    const now = o.now ?? (() => performance.now());
    const startedAt = now();
    let spokeAt: number | undefined;
    let lastLoud = startedAt;
    const finish = (why: string | undefined): void => {
      if (!this.#end) return;
      this.#end = undefined;
      mic.off('audio', onAudio);
      conductor.off('turn', onTurn);
      clearInterval(timer);
      if (why) {
        o.logger.debug('talk: released', { why, ms: Math.round(now() - startedAt) });
        conductor.pressed(false);
      }
    };
    const check = (): void => {
      const t = now();
      if (spokeAt !== undefined && t - lastLoud >= (o.silenceMs ?? 800)) finish('speech ended');
      else if (spokeAt === undefined && t - startedAt >= (o.noSpeechMs ?? 8_000)) finish('no speech heard');
      else if (t - startedAt >= (o.maxMs ?? 30_000)) finish('longest talk turn reached');
    };
    const onAudio = (pcm: Buffer): void => {
      if (measureLevel(pcm).peakDbfs > o.speechDbfs) {
        lastLoud = now();
        spokeAt ??= lastLoud;
      }
      check();
    };
    // The turn ended some other way (a real press, a long press, a reload): stop watching.
    const onTurn = (): void => finish(undefined);
    const timer = setInterval(check, 100);
    this.#end = () => finish(undefined);
    mic.on('audio', onAudio);
    conductor.pressed(true);
    conductor.on('turn', onTurn);
    return true;
  }

  stop(): void {
    this.#end?.();
  }
}
