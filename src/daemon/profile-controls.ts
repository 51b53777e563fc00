/**
 * How a person switches profiles: the control socket's `profile` and `forget` commands, and the
 * button's double press (with a press in the follow-up window going back to push to talk).
 */
import { profileNames, type Config } from '../config/index.js';
import type { DaemonCommands } from '../gpio/index.js';
import type { ButtonPort } from './ports.js';
import type { ProfileRuntime, SwitchResult } from './profiles-runtime.js';

export interface ProfileControlsHost {
  config(): Config;
  profiles: ProfileRuntime;
  /** A turn is in progress: a switch waits for it. */
  busy(): boolean;
  switchProfile(name: string): Promise<SwitchResult>;
  /** Forgets the remembered conversation; how many texts were dropped. */
  forget(): number;
}

export function profileCommands(host: ProfileControlsHost): DaemonCommands {
  return {
    profile: async (name) => {
      const config = host.config();
      if (name === undefined) return `active: ${host.profiles.active}; profiles: ${profileNames(config).join(', ')}`;
      const refused = host.profiles.check(config, name);
      if (refused) throw refused;
      const busy = host.busy();
      const applied = host.switchProfile(name);
      if (busy) return `ok: switching to ${name} when the answer in progress ends`;
      const result = await applied;
      return result.ok ? `ok: ${name} (${result.mode})` : `error: ${result.error.message}`;
    },
    forget: () => `ok: forgot ${host.forget()} texts; the next session starts fresh`,
  };
}

export function wireGestures(button: ButtonPort, host: { config(): Config; pressed(): void; switchNext(): void }): void {
  // Registered before the conductor's listener (the button is built before the conductor starts
  // or is rewired): a press in the follow-up window is back to push to talk before it is handled.
  button.on('press', () => host.pressed());
  // Only two taps switch: a quick press after a question is a barge-in, not a gesture.
  let lastHeldMs = Number.POSITIVE_INFINITY;
  button.on('release', (e) => {
    lastHeldMs = e.heldMs ?? Number.POSITIVE_INFINITY;
  });
  button.on('doublePress', () => {
    const config = host.config();
    if (config.profiles.switchGesture !== 'doublePress' || lastHeldMs >= config.conversation.minHoldMs) return;
    host.switchNext();
  });
}
