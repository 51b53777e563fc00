/** The daemon's contracts: what the parts factory builds, the options it is given, the events it emits. */
import type { Component } from '../core/component.js';
import type { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Config, ConfigProblem, ReloadStepKind, profileToSession } from '../config/index.js';
import type { TranscriptEntry } from './conductor.js';
import type { ButtonPort, ConductorState, EarconName, LedPort, MicPort, SessionPort, SpeakerPort } from './ports.js';
import type { AwaitedDevice } from './device-wait.js';
import type { SessionTiming } from './session-timing.js';
import type { DeviceCommands } from '../home/commands.js';
import type { OutOfBandResponse } from '../realtime/out-of-band.js';
import type { RestoreSource } from '../realtime/index.js';
import type { DaemonCommands } from '../gpio/index.js';
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

/** The daemon's parts, by group: started in this order's reverse of stop (see Daemon.stop). */
export type PartGroup = 'transcripts' | 'audio' | 'tools' | 'session' | 'conductor' | 'home' | 'gpio' | 'watcher';
