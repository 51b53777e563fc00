/**
 * The home parts the daemon adds (MQTT bridge when mqtt.url is set, state hooks) behind one
 * small facade, so the composition root only forwards what happens: a state change, a
 * transcript line, a finished turn, the verified profile, an error. Both parts take these
 * without blocking and without throwing.
 */
import type { Config } from '../config/schema.js';
import type { Component } from '../core/component.js';
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { DeviceCommands } from './commands.js';
import { StateHooks } from './hooks.js';
import { MqttBridge, type DeviceState, type ProfileSummary } from './mqtt-bridge.js';
import { resolveMqttSettings } from './mqtt-settings.js';

export interface HomeParts {
  /** Start in order, stop in reverse, like the daemon's other components. */
  readonly components: Component[];
  readonly bridge: MqttBridge | undefined;
  readonly hooks: StateHooks;
  onState(state: DeviceState): void;
  onTranscript(role: 'user' | 'assistant', text: string): void;
  onTurn(turn: Record<string, unknown>): void;
  onProfile(summary: ProfileSummary): void;
  onError(err: unknown): void;
  /** hooks.* changed (live); mqtt.* restarts the home parts (apply tag `restart-home`). */
  applyHooks(config: Config): void;
}

export function createHomeParts(options: {
  config: Config;
  env?: NodeJS.ProcessEnv;
  commands: DeviceCommands;
  logger: Logger;
}): HomeParts | PttError {
  const { config, commands, logger } = options;
  const settings = resolveMqttSettings(config, options.env ?? process.env);
  if (settings instanceof PttError) return settings;
  const bridge = settings ? new MqttBridge({ settings, commands, logger }) : undefined;
  const hooks = new StateHooks({ on: config.hooks.on, timeoutMs: config.hooks.timeoutMs, logger });
  return {
    components: bridge ? [hooks, bridge] : [hooks],
    bridge,
    hooks,
    onState: (state) => {
      bridge?.publishState(state);
      hooks.onState(state);
    },
    onTranscript: (role, text) => bridge?.publishTranscript(role, text),
    onTurn: (turn) => bridge?.publishTurn(turn),
    onProfile: (summary) => bridge?.publishProfile(summary),
    onError: (err) => bridge?.publishError(err),
    applyHooks: (next) => hooks.configure(next.hooks.on, next.hooks.timeoutMs),
  };
}
