/**
 * The real parts, built from the config: the Realtime session, the button with its control
 * socket and LED, and the audio devices. Backends are chosen by config values, so the same
 * daemon runs on a Pi, in the end-to-end tests and in the demo.
 */
import type { Logger } from '../core/logger.js';
import { profileToSession, resolveApiKey, type Config } from '../config/index.js';
import { ControlServer, createButton, createLed } from '../gpio/index.js';
import { RealtimeSession } from '../realtime/index.js';
import { resolveDeviceToken, type MintVia } from '../realtime/client-secret.js';
import { PttError } from '../core/errors.js';
import { audioChildEnv, listAlsaDevices, probeDevice } from '../audio/index.js';
import { findMissingDevices } from './device-wait.js';
import { sessionTiming } from './session-timing.js';
import { buildAudio, earconPcm } from './audio-parts.js';
import type { PartsFactory, SessionPart } from './daemon-types.js';

export interface PartsDeps {
  logger: Logger;
  env: Readonly<Record<string, string | undefined>>;
}

export function createParts(deps: PartsDeps): PartsFactory {
  const { logger, env } = deps;
  return {
    audio: (config) => buildAudio(config, { logger, env }),
    session: (config) => buildSession(config, deps),
    gpio(config, status, commands, device) {
      const button = createButton(config.gpio, { logger });
      const control = new ControlServer({
        socketPath: config.control.socket,
        target: button.virtual,
        ...(device ? { device } : {}),
        logger: logger.child('control'),
      });
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

/** The API key, or on a fleet device (realtime.mintUrl) the device token for the owner's mint server and no key. */
function credentials(config: Config, deps: PartsDeps): { apiKey: string; mintVia?: MintVia } {
  const mintUrl = config.realtime.mintUrl;
  if (mintUrl !== null) {
    const token = resolveDeviceToken(config.realtime.deviceTokenFile, deps.env as NodeJS.ProcessEnv);
    if (token instanceof PttError) throw token;
    deps.logger.info('device token found; client secrets come from the mint server', { mintUrl });
    return { apiKey: '', mintVia: { url: mintUrl, deviceToken: token } };
  }
  const key = resolveApiKey(config, deps.env);
  if (!key.ok) throw key.error;
  deps.logger.info('API key found', { source: key.source });
  return { apiKey: key.key };
}

export function buildSession(config: Config, deps: PartsDeps): SessionPart {
  const { realtime } = config;
  return new RealtimeSession({
    url: realtime.url,
    model: realtime.model,
    provider: realtime.provider,
    ...credentials(config, deps),
    bootstrap: realtime.bootstrap,
    connection: realtime.connection,
    session: profileToSession(config),
    ...sessionTiming(config),
    logger: deps.logger,
  });
}
