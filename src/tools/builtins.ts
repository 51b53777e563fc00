/**
 * The built-in tools the config enables, with the parts that keep state (timers, volume). The
 * daemon starts `timers` and `volume` (their start() reads the state directory), listens to
 * `timers.on('fired')`, and puts `tools()` into the registry as source 'builtin'.
 */
import { deviceStatusTool, type StatusSources } from './builtin/device-status.js';
import { type ProfileControl, profileTool } from './builtin/profile.js';
import { timeTool } from './builtin/time.js';
import { TimerStore } from './builtin/timers.js';
import { PersistedVolume, type VolumeControl } from './builtin/volume.js';
import type { Tool } from './types.js';

export interface BuiltinSwitches {
  time: boolean;
  timers: boolean;
  volume: boolean;
  deviceStatus: boolean;
  profiles?: boolean;
}

export interface Builtins {
  timers: TimerStore | undefined;
  volume: PersistedVolume | undefined;
  tools(): Tool[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createBuiltins(options: {
  enabled: BuiltinSwitches;
  stateDir: string;
  /** The daemon's gain; without it the volume tools are left out. */
  volume?: VolumeControl;
  status?: StatusSources;
  /** The daemon's profile switch; the tool is offered only when there is more than one profile. */
  profiles?: ProfileControl;
  now?: () => number;
}): Builtins {
  const { enabled } = options;
  const timers = enabled.timers ? new TimerStore({ stateDir: options.stateDir, ...(options.now ? { now: options.now } : {}) }) : undefined;
  const volume =
    enabled.volume && options.volume ? new PersistedVolume({ stateDir: options.stateDir, control: options.volume }) : undefined;
  const fixed: Tool[] = [
    ...(enabled.time ? [timeTool(options.now ? () => new Date(options.now?.() ?? Date.now()) : undefined)] : []),
    ...(enabled.deviceStatus ? [deviceStatusTool(options.status)] : []),
    ...(enabled.profiles && options.profiles && options.profiles.names().length > 1 ? [profileTool(options.profiles)] : []),
  ];
  return {
    timers,
    volume,
    tools: () => [...fixed, ...(timers?.tools() ?? []), ...(volume?.tools() ?? [])],
    async start() {
      await timers?.start();
      await volume?.start();
    },
    async stop() {
      await timers?.stop();
      await volume?.stop();
    },
  };
}
