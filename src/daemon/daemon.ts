/**
 * The composition root: builds the parts from the config, starts them in order, stops them in
 * reverse (one failing stop does not keep the others running), and applies hot reloads by running
 * the steps of the reload plan (config/reload-plan.ts, from the schema's apply tags); an invalid
 * edit keeps the config in force.
 */
import { PttError, toPttError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import {
  ConfigWatcher,
  formatProblems,
  planReload,
  profileToSession,
  type Config,
  type ConfigProblem,
  type ReloadStepKind,
} from '../config/index.js';
import { profileNames } from '../config/profiles.js';
import { Conductor } from './conductor.js';
import { conductorOptions } from './conductor-options.js';
import type { ConductorState } from './ports.js';
import { describeAwaited, waitForDevices, type AwaitedDevice } from './device-wait.js';
import { TranscriptFile } from './transcript-file.js';
import type { DeviceCommands } from '../home/commands.js';
import { HomeWiring } from './home-wiring.js';
import { ProfileRuntime, type SwitchResult } from './profiles-runtime.js';
import { MemoryKeeper, memoryLimits } from './memory-keeper.js';
import { FollowUp } from './follow-up.js';
import { followUpEarcon, profileEarcon } from '../audio/index.js';
import type { DaemonCommands } from '../gpio/index.js';
import { DaemonTools, withDeviceTools } from './tools-wiring.js';
import { ToolCalls } from './tool-calls.js';
import { ButtonConfirmation } from './confirmation.js';
import { TimerAlarm } from './alarm.js';
import type { AudioParts, DaemonEvents, DaemonOptions, GpioParts, PartGroup, SessionPart } from './daemon-types.js';
import { RunningGroups } from './running-groups.js';
import { profileCommands, wireGestures } from './profile-controls.js';
import { isBusy, whenQuiet } from './quiet.js';
import { runStep, type ReloadHost } from './reload-steps.js';

export { conductorOptions } from './conductor-options.js';
export type { AudioParts, DaemonEvents, DaemonOptions, GpioParts, Notifier, PartsFactory, SessionPart } from './daemon-types.js';

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
  readonly #groups: RunningGroups<PartGroup>;
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
    this.#groups = new RunningGroups(this.#log);
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
        await this.#groups.start('transcripts', [this.#transcripts]);
      }
      // Built now, started last: presses only count once everything they drive is running.
      this.#gpio = this.#o.parts.gpio(config, () => this.#statusLine(), this.#commands(), this.#home);
      this.#wireGestures();
      if (!(await this.#waitForDevices(config))) return;
      this.#audio = this.#o.parts.audio(config);
      await this.#groups.start('audio', this.#audio.components);
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
        this.#transcripts?.append({ ...entry, profile: this.#profiles.active });
        this.emit('transcript', entry);
      });
      // The session connects as it starts; the conductor must already be listening for it.
      await this.#groups.start('conductor', [conductor]);
      // Tools before the session: the first profile it sends already carries them.
      await this.#startTools(config);
      await this.#session.applyProfile(this.#sessionFor(config));
      // A broker never blocks: the bridge connects in the background.
      await this.#groups.start('home', this.#home.build(config));
      await this.#groups.start('session', [this.#session]);
      this.#tools?.on('toolsChanged', () => this.#queueToolsApply());
      if (!this.#groups.has('gpio')) await this.#groups.start('gpio', this.#gpio.components);
      this.#gpio.led?.setState(conductor.state);
      this.#watcher = new ConfigWatcher({ path: this.#o.configPath, initial: config, env: this.#o.env, logger: this.#o.logger });
      this.#watcher.on('change', (next) => void this.#queueReload(next));
      this.#watcher.on('invalid', (problems) => this.#onInvalid(problems));
      this.#watcher.on('failed', (error) => {
        this.#log.error('reading the config file failed unexpectedly', { error });
        this.emit('fatal', error);
      });
      if (this.#o.watch !== false) await this.#groups.start('watcher', [this.#watcher]);
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
   * meanwhile, and systemd hears READY (the daemon is up; what it waits for is outside it).
   * False when the daemon was stopped while waiting.
   */
  async #waitForDevices(config: Config): Promise<boolean> {
    const check = this.#o.parts.missingDevices;
    if (!check) return true;
    const missing = await check(config);
    if (missing.length === 0) return true;
    // The control socket answers `status` while the daemon waits.
    await this.#groups.start('gpio', this.#gpio!.components);
    // READY now, with the wait as its status: systemd's start timeout (TimeoutStartSec) would
    // otherwise kill a daemon that waits longer for a late USB microphone.
    this.#awaited = missing;
    this.#sendReady(this.#statusLine());
    return waitForDevices({
      missing,
      check: () => check(config),
      pollMs: this.#o.devicePollMs ?? 2_000,
      stopped: () => this.#stopping,
      awaiting: (devices) => {
        this.#awaited = devices;
      },
      status: (line) => this.#o.notifier.status(line),
      log: this.#log,
      onPoll: (wake) => {
        this.#wakeWait = wake;
      },
    });
  }

  /** Stops every part in reverse order; a part that fails or hangs is logged and skipped. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wakeWait?.();
    this.#o.notifier.stopping();
    // Reverse of start, except that the conductor goes before the session: it ends a turn in
    // progress (and logs it) while the session can still be told.
    const order: PartGroup[] = ['watcher', 'gpio', 'home', 'conductor', 'session', 'tools', 'audio', 'transcripts'];
    for (const group of order) await this.#groups.stop(group);
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
      if (await runStep(this.#reloadHost(), step, before, next)) applied.push(step.kind);
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

  /** What the reload steps (reload-steps.ts) may read and change. */
  #reloadHost(): ReloadHost {
    return {
      log: this.#log,
      logger: this.#o.logger,
      home: this.#home,
      stopping: () => this.#stopping,
      keep: (previous) => {
        this.#config = { ...this.#config, ...previous };
      },
      setGain: (level) => void this.#setGain(level),
      session: () => this.#session,
      tools: () => this.#tools,
      conductor: () => this.#conductor!,
      sessionFor: (config) => this.#sessionFor(config),
      whenQuiet: () => whenQuiet(this.#conductor, this.#o.quietWaitMs ?? 30_000),
      build: (group, config) => this.#build(group, config),
      startGroup: (group, components) => this.#groups.start(group, components),
      stopGroup: (group) => this.#groups.stop(group),
      fatal: (error) => this.emit('fatal', error),
    };
  }

  async #build(group: 'audio' | 'session' | 'gpio', config: Config): Promise<void> {
    const conductor = this.#conductor!;
    if (group === 'audio') {
      this.#audio?.mic.detach?.();
      this.#audio = this.#o.parts.audio(config);
      await this.#groups.start('audio', this.#audio.components);
      await conductor.rewire({ mic: this.#audio.mic, speaker: this.#audio.speaker }, 'audio restarted');
    } else if (group === 'session') {
      this.#session = this.#o.parts.session(this.#profiles.effective(config));
      this.#wireSession(this.#session);
      this.#wireVerified(this.#session);
      await this.#session.applyProfile(this.#sessionFor(config));
      await conductor.rewire({ session: this.#session }, 'session rebuilt');
      await this.#groups.start('session', [this.#session]);
    } else {
      this.#gpio = this.#o.parts.gpio(config, () => this.#statusLine(), this.#commands(), this.#home);
      this.#wireGestures();
      await this.#groups.start('gpio', this.#gpio.components);
      await conductor.rewire({ button: this.#gpio.button, ...(this.#gpio.led ? { led: this.#gpio.led } : {}) }, 'GPIO restarted');
    }
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
    return profileCommands({
      config: () => this.#config,
      profiles: this.#profiles,
      busy: () => isBusy(this.#conductor?.state),
      switchProfile: (name) => this.switchProfile(name),
      forget: () => this.#memory.forget(),
    });
  }

  /** Memory restored into every new session; the follow-up window sees the server's VAD. */
  #wireSession(session: SessionPart): void {
    session.setRestore?.(() => this.#memory.items());
    session.on('speechStarted', () => this.#followUp.speechStarted());
    session.on('state', (state) => state === 'ready' && this.#toolCalls?.linkReady());
  }

  #wireGestures(): void {
    if (!this.#gpio) return;
    wireGestures(this.#gpio.button, {
      config: () => this.#config,
      pressed: () => this.#followUp.pressed(),
      switchNext: () => void this.switchProfile(this.#profiles.next(this.#config)),
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
      await whenQuiet(this.#conductor, this.#o.quietWaitMs ?? 30_000);
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
      profiles: {
        names: () => profileNames(this.#config),
        active: () => this.#profiles.active,
        switchTo: (name) => void this.switchProfile(name),
      },
    });
    // Listening before the start: a timer that expired while the daemon was down fires in it.
    this.#tools.on('timerFired', (timer, info) => this.#alarm?.fired(timer, info));
    this.#tools.on('timersChanged', (timers) => this.#home.bridge?.publishTimers(timers));
    await this.#groups.start('tools', [this.#tools, ...(this.#alarm ? [this.#alarm] : [])]);
  }

  #toolCallsHook() {
    const calls = new ToolCalls({
      session: () => this.#session,
      executor: () => this.#tools!.executor,
      maxRounds: () => this.#config.tools.maxRoundsPerTurn,
      confirm: () => this.#confirmation,
      onRecords: (turn, records) => this.#transcripts?.toolCalls(turn, records, this.#profiles.active),
      logger: this.#o.logger,
    });
    this.#toolCalls = calls;
    return calls.hook(() => this.#config.tools.callTimeoutMs + this.#config.tools.confirmWindowMs);
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
}
