/**
 * The composition root: builds the parts from the config, starts them in order, stops them in
 * reverse (one failing stop does not keep the others running), and applies hot reloads by running
 * the steps of the reload plan (config/reload-plan.ts, from the schema's apply tags); an invalid
 * edit keeps the config in force.
 */
import type { Component } from '../core/component.js';
import { PttError, toPttError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import {
  ConfigWatcher,
  formatProblems,
  planReload,
  profileNames,
  profileToSession,
  type Config,
  type ConfigProblem,
} from '../config/index.js';
import type { ReloadStep, ReloadStepKind } from '../config/index.js';
import { Conductor, type ConductorOptions, type TranscriptEntry } from './conductor.js';
import type { ButtonPort, ConductorState, EarconName, LedPort, MicPort, SessionPort, SpeakerPort } from './ports.js';
import { describeAwaited, type AwaitedDevice } from './device-wait.js';
import { sessionTiming, type SessionTiming } from './session-timing.js';
import { TranscriptFile } from './transcript-file.js';
import type { DeviceCommands } from '../home/commands.js';
import type { OutOfBandResponse } from '../realtime/out-of-band.js';
import { HomeWiring } from './home-wiring.js';
import { ProfileRuntime, type SwitchResult } from './profiles-runtime.js';
import { MemoryKeeper, memoryLimits } from './memory-keeper.js';
import { FollowUp } from './follow-up.js';
import type { RestoreSource } from '../realtime/index.js';
import { followUpEarcon, profileEarcon } from '../audio/index.js';
import type { DaemonCommands } from '../gpio/index.js';
import { DaemonTools, withDeviceTools } from './tools-wiring.js';
import { ToolCalls } from './tool-calls.js';
import { ButtonConfirmation } from './confirmation.js';
import { TimerAlarm } from './alarm.js';
import type { ConversationItem } from '../realtime/protocol.js';
import type { TurnRecord } from './turn.js';

/** systemd's notify protocol, as sd-notify.ts provides it (a no-op without NOTIFY_SOCKET). */
export interface Notifier {
  ready(status?: string): void;
  status(text: string): void;
  reloading(): void;
  stopping(): void;
  startWatchdog(): void;
  stop(): void;
}

export interface AudioParts {
  /** Components in start order (capture source, player); stopped in reverse. */
  components: Component[];
  mic: MicPort;
  speaker: SpeakerPort;
  /** Live volume change, when the player supports it. */
  setVolume?(volume: number): void;
}

export interface SessionPart extends SessionPort, Component {
  applyProfile(
    session: ReturnType<typeof profileToSession>,
  ): Promise<{ ok: true; mode: string; message: string; deferred?: string[] } | { ok: false; error: PttError }>;
  setTiming(timing: SessionTiming): void;
  /** Items sent into every new session right after it is verified, before any audio. */
  setRestore?(source: RestoreSource | undefined): void;
  /** A conversation item (a function call's output, a typed question); false when the link is not verified. */
  sendItem(item: ConversationItem): boolean;
  /** With options: an out-of-band response (an announcement: say, a timer), only when verified. */
  createResponse(options?: OutOfBandResponse): boolean;
  /** Connects now (on-demand: something is to be said). */
  connect(): void;
  /** A response is still running on the server: an announcement waits for it. */
  readonly responding: boolean;
}

export interface GpioParts {
  components: Component[];
  button: ButtonPort;
  led?: LedPort;
}

/** Builds each group of parts from a config; the daemon decides when. */
export interface PartsFactory {
  audio(config: Config): AudioParts;
  session(config: Config): SessionPart;
  /** `status` answers the control socket's `status` command; `commands` its `profile` and `forget`, `device` say/ask/stop/volume/mute/talk. */
  gpio(config: Config, status: () => string, commands?: DaemonCommands, device?: DeviceCommands): GpioParts;
  earcon(name: EarconName): Buffer;
  /** Configured audio devices that do not exist yet (the daemon waits for them); none if absent. */
  missingDevices?(config: Config): Promise<AwaitedDevice[]>;
}

export interface DaemonOptions {
  configPath: string;
  config: Config;
  logger: Logger;
  parts: PartsFactory;
  notifier: Notifier;
  env?: Readonly<Record<string, string | undefined>>;
  /** Re-read the file when it changes (SIGHUP always re-reads). Default true. */
  watch?: boolean;
  /** Longest wait for a turn to finish before a reload restarts a part under it. */
  quietWaitMs?: number;
  /** How often the device list is looked at while a configured device is missing. Default 2 s. */
  devicePollMs?: number;
}

export type DaemonEvents = {
  state: [ConductorState];
  turn: [TurnRecord];
  transcript: [TranscriptEntry];
  ready: [];
  reloaded: [{ keys: string[]; applied: ReloadStepKind[]; ok: boolean }];
  invalidConfig: [ConfigProblem[]];
  /** A part could not be restarted and the old one could not be brought back: the daemon must exit. */
  fatal: [PttError];
  /** Another profile is in force (verified by the server). */
  profile: [{ name: string; from: string; mode: string }];
};

type Group = 'transcripts' | 'audio' | 'tools' | 'session' | 'conductor' | 'home' | 'gpio' | 'watcher';

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

export class Daemon extends TypedEmitter<DaemonEvents> {
  readonly #o: DaemonOptions;
  readonly #log: Logger;
  #config: Config;
  #audio: AudioParts | undefined;
  #session: SessionPart | undefined;
  #gpio: GpioParts | undefined;
  #conductor: Conductor | undefined;
  #transcripts: TranscriptFile | undefined;
  #tools: DaemonTools | undefined;
  #toolCalls: ToolCalls | undefined;
  #confirmation: ButtonConfirmation | undefined;
  #alarm: TimerAlarm | undefined;
  /** A re-apply of the profile for changed tool definitions is queued. */
  #toolsDirty = false;
  /** The speaker's gain now (config, or set by voice through the volume tool). */
  #gain = 1;
  #watcher: ConfigWatcher | undefined;
  /** The home layer (commands, MQTT, hooks): home-wiring.ts. */
  readonly #home: HomeWiring;
  /** What is running, per group, in start order. */
  readonly #running = new Map<Group, Component[]>();
  #readySent = false;
  #stopping = false;
  /** The devices start() is waiting for, for the status line. */
  #awaited: AwaitedDevice[] = [];
  #wakeWait: (() => void) | undefined;
  #reloads: Promise<void> = Promise.resolve();
  readonly #profiles: ProfileRuntime;
  readonly #memory: MemoryKeeper;
  readonly #followUp: FollowUp;

  constructor(options: DaemonOptions) {
    super();
    this.#o = options;
    this.#config = options.config;
    this.#log = options.logger.child('daemon');
    this.#memory = new MemoryKeeper(memoryLimits(options.config), options.logger);
    this.#followUp = new FollowUp({
      session: () => this.#session,
      conductor: () => this.#conductor,
      config: () => this.#effective(),
      sessionOf: (c) => this.#withTools(profileToSession(c)),
      cue: () => this.#conductor?.cue(followUpEarcon()),
      logger: options.logger,
    });
    this.#profiles = new ProfileRuntime({ logger: options.logger, ...(options.env ? { env: options.env } : {}) });
    this.#home = new HomeWiring({
      config: options.config,
      logger: options.logger,
      ...(options.env ? { env: options.env as NodeJS.ProcessEnv } : {}),
      host: {
        conductor: () => this.#conductor,
        session: () => this.#session,
        mic: () => this.#audio?.mic,
        setVolume: (level) => this.#setGain(level),
        switchProfile: (name) => Promise.resolve(this.#commands().profile(name)),
        forget: () => this.#commands().forget(),
      },
    });
  }

  /** The device commands (say, ask, stop, volume, mute, talk), as the control socket and MQTT run them. */
  get commands(): DeviceCommands {
    return this.#home;
  }

  /** The profile in force. */
  get profile(): string {
    return this.#profiles.active;
  }

  get config(): Config {
    return this.#config;
  }

  get state(): ConductorState {
    return this.#conductor?.state ?? 'connecting';
  }

  /** Starts every part in order; if one fails, what started is stopped again and the error is thrown. */
  async start(): Promise<void> {
    const config = this.#config;
    try {
      await this.#profiles.load(config);
      // Built first: a missing API key is reported before any device is opened.
      this.#session = this.#o.parts.session(this.#effective());
      this.#wireSession(this.#session);
      if (config.log.transcriptFile) {
        this.#transcripts = new TranscriptFile(config.log.transcriptFile, this.#log);
        await this.#startGroup('transcripts', [this.#transcripts]);
      }
      // Built now, started last: presses only count once everything they drive is running.
      this.#gpio = this.#o.parts.gpio(config, () => this.#statusLine(), this.#commands(), this.#home);
      this.#wireGestures();
      if (!(await this.#waitForDevices(config))) return;
      this.#audio = this.#o.parts.audio(config);
      await this.#startGroup('audio', this.#audio.components);
      this.#wireVerified(this.#session);
      const conductor = new Conductor(
        {
          mic: this.#audio.mic,
          speaker: this.#audio.speaker,
          session: this.#session,
          button: this.#gpio.button,
          ...(this.#gpio.led ? { led: this.#gpio.led } : {}),
          earcon: (name) => this.#o.parts.earcon(name),
          logger: this.#o.logger,
          status: { status: (text) => this.#o.notifier.status(text) },
          toolCalls: this.#toolCallsHook(),
        },
        conductorOptions(this.#effective(), this.#profiles.active),
      );
      this.#conductor = conductor;
      this.#confirmation = new ButtonConfirmation({
        windowMs: () => this.#config.tools.confirmWindowMs,
        sound: (name) => conductor.sound(name),
        led: () => this.#gpio?.led,
        logger: this.#o.logger,
      });
      conductor.claimPresses(this.#confirmation);
      this.#alarm = new TimerAlarm({
        conductor: () => this.#conductor,
        session: () => this.#session,
        led: () => this.#gpio?.led,
        maxMs: () => this.#config.tools.alarmMaxMs,
        logger: this.#o.logger,
      });
      conductor.claimPresses(this.#alarm);
      conductor.on('state', (state) => {
        this.#home.onState(state);
        this.emit('state', state);
      });
      conductor.on('turn', (record) => {
        this.#home.onTurn(record);
        this.#memory.turn(record);
        this.#followUp.turnEnded(record);
        this.emit('turn', record);
      });
      conductor.on('transcript', (entry) => {
        this.#memory.transcript(entry);
        this.#home.onTranscript(entry);
        void this.#transcripts?.append({ ...entry, profile: this.#profiles.active });
        this.emit('transcript', entry);
      });
      // The session connects as it starts; the conductor must already be listening for it.
      await this.#startGroup('conductor', [conductor]);
      // Tools before the session: the first profile it sends already carries them.
      await this.#startTools(config);
      await this.#session.applyProfile(this.#sessionFor(config));
      // A broker never blocks: the bridge connects in the background.
      await this.#startGroup('home', this.#home.build(config));
      await this.#startGroup('session', [this.#session]);
      this.#tools?.on('toolsChanged', () => this.#queueToolsApply());
      if (!this.#running.has('gpio')) await this.#startGroup('gpio', this.#gpio.components);
      this.#gpio.led?.setState(conductor.state);
      this.#watcher = new ConfigWatcher({ path: this.#o.configPath, initial: config, env: this.#o.env, logger: this.#o.logger });
      this.#watcher.on('change', (next) => void this.#queueReload(next));
      this.#watcher.on('invalid', (problems) => this.#onInvalid(problems));
      this.#watcher.on('failed', (error) => {
        this.#log.error('reading the config file failed unexpectedly', { error });
        this.emit('fatal', error);
      });
      if (this.#o.watch !== false) await this.#startGroup('watcher', [this.#watcher]);
    } catch (err) {
      await this.stop();
      throw toPttError(err, 'DAEMON_START');
    }
    if (config.realtime.connection === 'on-demand') this.#sendReady('ready (on-demand: connects at the first press)');
    this.#log.info('daemon started', {
      version: VERSION,
      node: process.version,
      connection: config.realtime.connection,
      turnDetection: this.#effective().session.turnDetection.type,
      profile: this.#profiles.active,
    });
  }

  /**
   * Waits while a configured audio device is missing (a USB mic that enumerates late): systemd's
   * STATUS, the log and `realtime-ptt status` say which; the button and control socket run
   * meanwhile. False when the daemon was stopped while waiting.
   */
  async #waitForDevices(config: Config): Promise<boolean> {
    const check = this.#o.parts.missingDevices;
    if (!check) return true;
    let missing = await check(config);
    if (missing.length === 0) return true;
    // The control socket answers `status` while the daemon waits.
    await this.#startGroup('gpio', this.#gpio!.components);
    let said = '';
    while (missing.length > 0) {
      if (this.#stopping) return false;
      this.#awaited = missing;
      const line = this.#statusLine();
      if (line !== said) {
        said = line;
        this.#o.notifier.status(line);
        this.#log.warn(`${line}: it is not connected or not defined yet; the audio starts when it appears`, {
          devices: missing,
          hint: 'plug it in, or set audio.input.device / audio.output.device to a device that arecord -L / aplay -L lists',
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#o.devicePollMs ?? 2_000);
        this.#wakeWait = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeWait = undefined;
      if (this.#stopping) return false;
      missing = await check(config);
    }
    this.#log.info('the awaited audio devices are there; starting the audio', { devices: this.#awaited.map((d) => d.device) });
    this.#awaited = [];
    return true;
  }

  /** Stops every part in reverse order; a part that fails or hangs is logged and skipped. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wakeWait?.();
    this.#o.notifier.stopping();
    // Reverse of start, except that the conductor goes before the session: it ends a turn in
    // progress (and logs it) while the session can still be told.
    const order: Group[] = ['watcher', 'gpio', 'home', 'conductor', 'session', 'tools', 'audio', 'transcripts'];
    for (const group of order) await this.#stopGroup(group);
    await this.#memory.stop();
    this.#followUp.dispose();
    this.#o.notifier.stop();
    this.#log.info('daemon stopped');
  }

  /** SIGHUP: re-read the config file and apply what changed. */
  async reload(): Promise<void> {
    this.#o.notifier.reloading();
    const watcher = this.#watcher;
    if (!watcher) return;
    await watcher.reload();
    await this.#reloads;
    // A reload that found nothing to change still has to tell systemd it is done.
    this.#o.notifier.ready(this.#statusLine());
  }

  // ---- reload ----

  #onInvalid(problems: ConfigProblem[]): void {
    this.#log.error('the edited config is invalid; the config in force is kept', {
      path: this.#o.configPath,
      problems: formatProblems(problems).trimEnd(),
    });
    this.emit('invalidConfig', problems);
  }

  #queueReload(next: Config): Promise<void> {
    this.#reloads = this.#reloads
      .then(() => this.#apply(next))
      .catch((err: unknown) => {
        const error = toPttError(err, 'RELOAD_FAILED');
        this.#log.error('reload failed', { error });
        this.emit('fatal', error);
      });
    return this.#reloads;
  }

  async #apply(next: Config): Promise<void> {
    if (this.#stopping) return;
    const before = this.#config;
    const plan = planReload(before, next);
    if (plan.steps.length === 0) return;
    this.#o.notifier.reloading();
    const applied: ReloadStepKind[] = [];
    let ok = true;
    this.#followUp.stop('the config changed');
    this.#config = next;
    this.#profiles.reconcile(next);
    for (const step of plan.steps) {
      if (this.#stopping) return;
      if (await this.#runStep(step, before, next)) applied.push(step.kind);
      else ok = false;
    }
    // The conductor follows the config in force, whatever the steps kept or brought back.
    this.#conductor?.setOptions(conductorOptions(this.#effective(), this.#profiles.active));
    this.#memory.setLimits(memoryLimits(this.#config));
    this.#o.notifier.ready(this.#statusLine());
    const keys = plan.keys;
    this.#log.info('config reloaded', { keys, applied, ok });
    this.emit('reloaded', { keys, applied, ok });
  }

  /** Runs one step of a reload plan; false when it could not be applied (the previous settings stay). */
  async #runStep(step: ReloadStep, before: Config, next: Config): Promise<boolean> {
    switch (step.kind) {
      case 'live':
        this.#o.logger.setLevel(next.log.level);
        if (before.audio.output.volume !== next.audio.output.volume) {
          this.#gain = next.audio.output.volume;
          this.#audio?.setVolume?.(next.audio.output.volume);
        }
        if (JSON.stringify(sessionTiming(before)) !== JSON.stringify(sessionTiming(next))) this.#session?.setTiming(sessionTiming(next));
        this.#home.applyLive(next);
        return true;
      case 'apply-tools':
        // Changed definitions re-apply the profile through `toolsChanged` (queued after this reload).
        await this.#tools?.applyConfig(next);
        return true;
      case 'apply-profile': {
        const result = await this.#session!.applyProfile(this.#sessionFor(next));
        if (result.ok) {
          this.#log.info('changed profile applied', { mode: result.mode, message: result.message, keys: step.keys });
          return true;
        }
        // The session went back to the profile that worked; the config in force says so too.
        this.#config = { ...this.#config, session: before.session };
        this.#log.error('the server did not accept the changed profile; the previous one stays in force', { error: result.error });
        return false;
      }
      case 'rebuild-session':
        return this.#restart('session', before, next, 'connection settings changed');
      case 'restart-audio':
        return this.#restart('audio', before, next, 'audio settings changed');
      case 'restart-gpio':
        return this.#restart('gpio', before, next, 'GPIO settings changed');
      case 'restart-home': {
        await this.#stopGroup('home');
        const { components, ok } = this.#home.rebuild(next, before);
        if (!ok) this.#config = { ...this.#config, mqtt: before.mqtt };
        await this.#startGroup('home', components);
        return ok;
      }
      case 'needs-restart':
        this.#log.warn('these settings take effect when the daemon restarts (systemctl restart realtime-ptt)', { keys: step.keys });
        return true;
    }
  }

  /** Restarts one group under a new config; if that fails, brings the old one back (or gives up loudly). */
  async #restart(group: 'audio' | 'session' | 'gpio', before: Config, next: Config, reason: string): Promise<boolean> {
    await this.#whenQuiet();
    if (this.#stopping) return false;
    const conductor = this.#conductor!;
    await conductor.stop(`${reason}: ${group} restarted`);
    await this.#stopGroup(group);
    let ok = true;
    try {
      await this.#build(group, next);
      this.#log.info(`${group} restarted`, { reason });
    } catch (err) {
      ok = false;
      const error = toPttError(err, 'RELOAD_RESTART');
      this.#log.error(`${group} could not restart with the new settings; going back to the previous ones`, { error });
      await this.#stopGroup(group);
      this.#config = {
        ...this.#config,
        ...(group === 'audio'
          ? { audio: before.audio }
          : group === 'gpio'
            ? { gpio: before.gpio }
            : { realtime: before.realtime, session: before.session }),
      };
      try {
        await this.#build(group, before);
      } catch (again) {
        const fatal = toPttError(again, 'RELOAD_ROLLBACK');
        this.emit('fatal', fatal);
        throw fatal;
      }
    }
    await conductor.start();
    return ok;
  }

  async #build(group: 'audio' | 'session' | 'gpio', config: Config): Promise<void> {
    const conductor = this.#conductor!;
    if (group === 'audio') {
      this.#audio?.mic.detach?.();
      this.#audio = this.#o.parts.audio(config);
      await this.#startGroup('audio', this.#audio.components);
      await conductor.rewire({ mic: this.#audio.mic, speaker: this.#audio.speaker }, 'audio restarted');
    } else if (group === 'session') {
      this.#session = this.#o.parts.session(this.#profiles.effective(config));
      this.#wireSession(this.#session);
      this.#wireVerified(this.#session);
      await this.#session.applyProfile(this.#sessionFor(config));
      await conductor.rewire({ session: this.#session }, 'session rebuilt');
      await this.#startGroup('session', [this.#session]);
    } else {
      this.#gpio = this.#o.parts.gpio(config, () => this.#statusLine(), this.#commands(), this.#home);
      this.#wireGestures();
      await this.#startGroup('gpio', this.#gpio.components);
      await conductor.rewire({ button: this.#gpio.button, ...(this.#gpio.led ? { led: this.#gpio.led } : {}) }, 'GPIO restarted');
    }
  }

  /** Resolves when no turn is in progress (or after quietWaitMs): a restart should not cut someone off. */
  async #whenQuiet(): Promise<void> {
    const busy = (s: ConductorState) => s === 'listening' || s === 'thinking' || s === 'speaking';
    const conductor = this.#conductor;
    if (!conductor || !busy(conductor.state) || (conductor.handsFree && conductor.state === 'listening')) return;
    const limit = this.#o.quietWaitMs ?? 30_000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, limit);
      function done(): void {
        clearTimeout(timer);
        conductor!.off('state', onState);
        resolve();
      }
      const onState = (s: ConductorState) => {
        if (!busy(s)) done();
      };
      conductor.on('state', onState);
    });
  }

  /** Playback gain now (the volume command, the volume tool); false when the audio parts are not running. */
  #setGain(level: number): boolean {
    this.#gain = level;
    this.#audio?.setVolume?.(level);
    return this.#audio?.setVolume !== undefined;
  }

  // ---- profiles ----

  /** The config in force with `session` replaced by the active profile. */
  #effective(): Config {
    return this.#profiles.effective(this.#config);
  }

  #commands(): DaemonCommands {
    return {
      profile: async (name) => {
        const config = this.#config;
        if (name === undefined) return `active: ${this.#profiles.active}; profiles: ${profileNames(config).join(', ')}`;
        const refused = this.#profiles.check(config, name);
        if (refused) throw refused;
        const busy = this.#busy();
        const applied = this.switchProfile(name);
        if (busy) return `ok: switching to ${name} when the answer in progress ends`;
        const result = await applied;
        return result.ok ? `ok: ${name} (${result.mode})` : `error: ${result.error.message}`;
      },
      forget: () => `ok: forgot ${this.#memory.forget()} texts; the next session starts fresh`,
    };
  }

  /** Memory restored into every new session; the follow-up window sees the server's VAD. */
  #wireSession(session: SessionPart): void {
    session.setRestore?.(() => this.#memory.items());
    session.on('speechStarted', () => this.#followUp.speechStarted());
  }

  #wireGestures(): void {
    // Registered before the conductor's listener (the button is built before the conductor starts
    // or is rewired): a press in the follow-up window is back to push to talk before it is handled.
    this.#gpio?.button.on('press', () => this.#followUp.pressed());
    // Only two taps switch: a quick press after a question is a barge-in, not a gesture.
    let lastHeldMs = Number.POSITIVE_INFINITY;
    this.#gpio?.button.on('release', (e) => {
      lastHeldMs = e.heldMs ?? Number.POSITIVE_INFINITY;
    });
    this.#gpio?.button.on('doublePress', () => {
      if (this.#config.profiles.switchGesture !== 'doublePress' || lastHeldMs >= this.#config.conversation.minHoldMs) return;
      void this.switchProfile(this.#profiles.next(this.#config));
    });
  }

  /**
   * Switches the active profile like a hot reload: a verified session.update on the open session
   * (a voice change after the first answer: a reconnect when idle). Queued behind reloads, and
   * run only when no turn is in progress: the switch of a press during an answer is applied
   * after that answer has played (or at the quiet wait's limit). A refused profile leaves the old one.
   */
  switchProfile(name: string): Promise<SwitchResult> {
    const refused = this.#profiles.check(this.#config, name);
    if (refused) {
      this.#log.warn('profile switch refused', { error: refused });
      return Promise.resolve({ ok: false, error: refused });
    }
    const run = this.#reloads.then(async () => {
      await this.#whenQuiet();
      return this.#applySwitch(name);
    });
    this.#reloads = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #applySwitch(name: string): Promise<SwitchResult> {
    if (this.#stopping) return { ok: false, error: new PttError('DAEMON_STOPPING', 'the daemon is stopping') };
    this.#followUp.stop('the profile changes');
    const result = await this.#profiles.apply(this.#config, name, this.#session, (c) => this.#withTools(profileToSession(c)));
    if (!result.ok) return result;
    this.#conductor?.setOptions(conductorOptions(result.config, name));
    this.#conductor?.cue(profileEarcon(result.position));
    this.emit('profile', { name, from: result.from, mode: result.mode });
    return result;
  }

  #busy(): boolean {
    const s = this.#conductor?.state;
    return s === 'listening' || s === 'thinking' || s === 'speaking';
  }

  // ---- tools ----

  async #startTools(config: Config): Promise<void> {
    this.#gain = config.audio.output.volume;
    this.#tools = new DaemonTools({
      config,
      logger: this.#o.logger,
      env: { ...(this.#o.env ?? process.env) },
      ...(this.#confirmation ? { confirm: this.#confirmation } : {}),
      volume: {
        get: () => this.#gain,
        set: (value) => void this.#setGain(value),
      },
    });
    // Listening before the start: a timer that expired while the daemon was down fires in it.
    this.#tools.on('timerFired', (timer, info) => this.#alarm?.fired(timer, info));
    await this.#startGroup('tools', [this.#tools, ...(this.#alarm ? [this.#alarm] : [])]);
  }

  #toolCallsHook() {
    const calls = new ToolCalls({
      session: () => this.#session,
      executor: () => this.#tools!.executor,
      maxRounds: () => this.#config.tools.maxRoundsPerTurn,
      confirm: () => this.#confirmation,
      logger: this.#o.logger,
    });
    this.#toolCalls = calls;
    return {
      run: calls.run.bind(calls),
      endTurn: calls.endTurn.bind(calls),
      budgetMs: () => this.#config.tools.callTimeoutMs + this.#config.tools.confirmWindowMs,
    };
  }

  /** The session the config asks for under the active profile, with the device's tools after the profile's own. */
  #sessionFor(config: Config): ReturnType<typeof profileToSession> {
    return this.#withTools(profileToSession(this.#profiles.effective(config)));
  }

  #withTools(session: ReturnType<typeof profileToSession>): ReturnType<typeof profileToSession> {
    return this.#tools ? withDeviceTools(session, this.#tools.definitions()) : session;
  }

  /** An MCP server went down or came back: the profile follows, verified like any change. */
  #queueToolsApply(): void {
    if (this.#toolsDirty) return;
    this.#toolsDirty = true;
    this.#reloads = this.#reloads.then(async () => {
      this.#toolsDirty = false;
      if (this.#stopping || !this.#session) return;
      const result = await this.#session.applyProfile(this.#sessionFor(this.#config));
      if (result.ok) this.#log.info('profile applied with the changed tools', { mode: result.mode, message: result.message });
      else this.#log.error('the server did not accept the profile with the changed tools', { error: result.error });
    });
  }

  // ---- lifecycle helpers ----

  /** Verified: READY, the tool calls, the profile on MQTT; errors to MQTT. */
  #wireVerified(session: SessionPart): void {
    session.on('verified', (info) => {
      this.#onVerified(info.sessionId);
      this.#home.onVerified();
    });
    session.on('error', (error) => this.#home.onError(error));
  }

  #onVerified(sessionId: string | undefined): void {
    this.#toolCalls?.verified(sessionId);
    if (!this.#readySent) this.#sendReady(this.#statusLine());
  }

  #sendReady(status: string): void {
    if (this.#readySent) return;
    this.#readySent = true;
    this.#o.notifier.ready(status);
    this.#o.notifier.startWatchdog();
    this.emit('ready');
  }

  #statusLine(): string {
    if (this.#awaited.length > 0) return `waiting for ${describeAwaited(this.#awaited)}`;
    return this.#conductor?.state ?? 'starting';
  }

  async #startGroup(group: Group, components: Component[]): Promise<void> {
    const started: Component[] = [];
    this.#running.set(group, started);
    for (const c of components) {
      await c.start();
      started.push(c);
    }
  }

  async #stopGroup(group: Group): Promise<void> {
    const components = this.#running.get(group) ?? [];
    this.#running.delete(group);
    for (const c of [...components].reverse()) {
      try {
        await withDeadline(c.stop(), 1_500, c.name);
      } catch (err) {
        this.#log.error(`${c.name} did not stop cleanly`, { error: toPttError(err, 'STOP_FAILED', { component: c.name }) });
      }
    }
  }
}

function withDeadline(p: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((_, reject) => {
    timer = setTimeout(
      () => reject(new PttError('STOP_TIMEOUT', `${name} did not stop within ${ms} ms`, { context: { component: name, ms } })),
      ms,
    );
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
