/**
 * The daemon's side of the home layer: the one implementation of the device commands (say, ask,
 * stop, volume, mute, talk) behind the control socket, the CLI and MQTT, and the forwarding of
 * what happens (state, transcripts, turn timings, the verified profile, errors) to the MQTT
 * bridge and the state hooks. The daemon hands it accessors for its current parts, since a
 * reload may replace them.
 */
import type { Config } from '../config/schema.js';
import type { Component } from '../core/component.js';
import { PttError, toPttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { DeviceCommands } from '../home/commands.js';
import { createHomeParts, type HomeParts } from '../home/home-parts.js';
import { realtimeRecovery } from '../realtime/errors.js';
import { Announcer, type AnnouncerSession } from './announcer.js';
import type { Conductor, TranscriptEntry } from './conductor.js';
import type { ConductorState, Events, MicEvents } from './ports.js';
import { VoiceReleasedTurn } from './talk.js';
import type { TurnRecord } from './turn.js';

export interface HomeHost {
  conductor(): Conductor | undefined;
  session(): (AnnouncerSession & Events<{ error: [PttError] }>) | undefined;
  mic(): Events<MicEvents> | undefined;
  /** Live playback gain, 0..1; false when the audio parts are not running. */
  setVolume(level: number): boolean;
  /** The same profile switch and memory reset as the control socket's `profile NAME` and `forget`. */
  switchProfile(name: string): Promise<string>;
  forget(): string;
}

export interface HomeWiringOptions {
  config: Config;
  host: HomeHost;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

export class HomeWiring implements DeviceCommands {
  readonly #o: HomeWiringOptions;
  readonly #log: Logger;
  readonly announcer: Announcer;
  #talk: VoiceReleasedTurn;
  #parts: HomeParts | undefined;
  #config: Config;
  #volume: number;
  /** As the last mute command left it (the hands-free button toggles it too; its state line says so). */
  #muted = false;
  /** The last text of each role, for the turn record on MQTT. */
  #lastText: { user?: string; assistant?: string } = {};

  constructor(options: HomeWiringOptions) {
    this.#o = options;
    this.#config = options.config;
    this.#log = options.logger.child('home');
    this.#volume = options.config.audio.output.volume;
    this.announcer = new Announcer({
      conductor: () => options.host.conductor(),
      session: () => options.host.session(),
      logger: options.logger,
      waitMs: Math.max(30_000, options.config.conversation.answerTimeoutMs * 2),
      onError: (error) => this.onError(error),
    });
    this.#talk = this.#newTalk(options.config);
  }

  /**
   * The components to run (announcer, hooks, MQTT bridge), built from `config`; a bad mqtt
   * setting (an unreadable password file) is thrown as its PttError.
   */
  build(config: Config): Component[] {
    this.#config = config;
    const parts = createHomeParts({ config, commands: this, logger: this.#o.logger, ...(this.#o.env ? { env: this.#o.env } : {}) });
    if (parts instanceof PttError) throw parts;
    this.#parts = parts;
    parts.bridge?.publishVolume(this.#volume);
    parts.bridge?.publishMute(this.#muted);
    const state = this.#o.host.conductor()?.state;
    if (state) parts.onState(state);
    return [this.announcer, ...parts.components];
  }

  /** mqtt.* changed: the parts under `next`; settings that cannot be used keep `before`'s (ok false). */
  rebuild(next: Config, before: Config): { components: Component[]; ok: boolean } {
    try {
      return { components: this.build(next), ok: true };
    } catch (err) {
      this.#log.error('the MQTT bridge cannot use the new settings; keeping the previous ones', {
        error: toPttError(err, 'RELOAD_RESTART'),
      });
      return { components: this.build({ ...next, mqtt: before.mqtt }), ok: false };
    }
  }

  get bridge(): HomeParts['bridge'] {
    return this.#parts?.bridge;
  }

  /** Live keys changed (hooks.*, conversation.*). */
  applyLive(config: Config): void {
    this.#config = config;
    this.#parts?.applyHooks(config);
    this.#talk = this.#newTalk(config);
  }

  // ---- what happens, forwarded ----

  onState(state: ConductorState): void {
    this.#parts?.onState(state);
  }

  onTranscript(entry: TranscriptEntry): void {
    this.#lastText[entry.role] = entry.text;
    this.#parts?.onTranscript(entry.role, entry.text);
  }

  onTurn(record: TurnRecord): void {
    this.#parts?.onTurn({ ...record, ...this.#lastText });
    this.#lastText = {};
  }

  onVerified(): void {
    const c = this.#config;
    const voice = c.session.voice;
    this.#parts?.onProfile({ profile: c.profiles.active, model: c.realtime.model, voice: typeof voice === 'string' ? voice : voice.id });
  }

  onError(err: unknown): void {
    const error = toPttError(err);
    // Realtime errors that the session recovers from by itself are not worth an MQTT event each.
    const recovery = realtimeRecovery(error);
    if (recovery && !recovery.needsAPerson && recovery.retry !== 'none') return;
    this.#parts?.onError(error);
  }

  // ---- the commands (validated by home/commands.ts before they get here) ----

  say(text: string): void {
    this.announcer.add('say', text);
  }

  ask(text: string): void {
    this.announcer.add('ask', text);
  }

  stop(): void {
    const dropped = this.announcer.clear('stop command');
    this.#talk.stop();
    const cut = this.#conductor().stopAnswer('stop command');
    this.#log.info('stop command', { cut, droppedAnnouncements: dropped });
  }

  setVolume(level: number): void {
    if (!this.#o.host.setVolume(level)) {
      throw new PttError('COMMAND_NOT_NOW', 'volume: the audio output is not running (yet)', {
        context: { command: 'volume', value: level },
        hint: 'try again once realtime-ptt status says idle',
      });
    }
    this.#volume = level;
    this.#log.info('volume set', { volume: level });
    this.bridge?.publishVolume(level);
  }

  setMute(on: boolean): void {
    this.#conductor().setMuted(on);
    this.#muted = on;
    this.bridge?.publishMute(on);
  }

  async switchProfile(name: string): Promise<void> {
    this.#log.info('profile command', { profile: name, result: await this.#o.host.switchProfile(name) });
  }

  forget(): void {
    this.#log.info('forget command', { result: this.#o.host.forget() });
  }

  talk(): void {
    const conductor = this.#conductor();
    if (conductor.handsFree) {
      // Hands-free the mic streams and the server's VAD takes the turn: talk only unmutes.
      this.setMute(false);
      return;
    }
    const mic = this.#o.host.mic();
    if (!mic || !conductor.quiet) {
      throw new PttError('COMMAND_NOT_NOW', 'talk: a turn is in progress already', {
        context: { command: 'talk', state: conductor.state },
        hint: 'send stop first, or wait until the answer has played',
      });
    }
    this.#talk.start(conductor, mic);
  }

  #conductor(): Conductor {
    const c = this.#o.host.conductor();
    if (!c) {
      throw new PttError('COMMAND_NOT_NOW', 'the daemon is still starting (waiting for its audio devices)', {
        context: {},
        hint: 'try again once realtime-ptt status says idle',
      });
    }
    return c;
  }

  #newTalk(config: Config): VoiceReleasedTurn {
    this.#talk?.stop();
    return new VoiceReleasedTurn({ speechDbfs: config.conversation.cancelBelowDbfs, logger: this.#log });
  }
}
