/**
 * The real parts, built from the config: the Realtime session, the button with its control
 * socket and LED, and the audio devices. Backends are chosen by config values, so the same
 * daemon runs on a Pi, in the end-to-end tests and in the demo.
 */
import type { Logger } from '../core/logger.js';
import { profileToSession, resolveApiKey, type Config } from '../config/index.js';
import { ControlServer, createButton, createLed } from '../gpio/index.js';
import { RealtimeSession } from '../realtime/index.js';
import { audioChildEnv, listAlsaDevices, probeDevice } from '../audio/index.js';
import { findMissingDevices } from './device-wait.js';
import { sessionTiming } from './session-timing.js';
import { buildAudio, earconPcm } from './audio-parts.js';
import type { PartsFactory, SessionPart } from './daemon.js';

export interface PartsDeps {
  logger: Logger;
  env: Readonly<Record<string, string | undefined>>;
}

export function createParts(deps: PartsDeps): PartsFactory {
  const { logger, env } = deps;
  return {
    audio: (config) => buildAudio(config, { logger, env }),
    session: (config) => buildSession(config, deps),
    gpio(config, status, commands) {
      const button = createButton(config.gpio, { logger });
      const control = new ControlServer({ socketPath: config.control.socket, target: button.virtual, logger: logger.child('control') });
      control.setStatusProvider(status);
      control.setCommands(commands);
      const led = createLed(config.gpio, { logger });
      return { components: [led, button, control], button, led };
    },
    earcon: (name) => earconPcm(name),
    missingDevices: (config) =>
      findMissingDevices(config, {
        listAlsaDevices: () => listAlsaDevices(audioChildEnv(env)),
        probeDevice: (kind, device) => probeDevice(kind, device, audioChildEnv(env)),
      }),
  };
}

export function buildSession(config: Config, deps: PartsDeps): SessionPart {
  const key = resolveApiKey(config, deps.env);
  if (!key.ok) throw key.error;
  deps.logger.info('API key found', { source: key.source });
  const { realtime } = config;
  return new RealtimeSession({
    url: realtime.url,
    model: realtime.model,
    provider: realtime.provider,
    apiKey: key.key,
    bootstrap: realtime.bootstrap,
    connection: realtime.connection,
    session: profileToSession(config),
    ...sessionTiming(config),
    logger: deps.logger,
  });
}
