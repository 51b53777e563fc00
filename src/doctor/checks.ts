/**
 * The checks of `realtime-ptt doctor`, each a function of its dependencies (the config, audio,
 * GPIO and realtime modules' functions), so tests can run them against real sandboxes and the
 * CLI against the real machine. Every check returns results, never throws: one broken part must
 * not hide the report on the others.
 */
import { basename, dirname } from 'node:path';
import { PttError, toPttError } from '../core/errors.js';
import { resolveDeviceToken } from '../realtime/client-secret.js';
import { looksMissing } from '../daemon/device-wait.js';
import { CREDENTIAL_NAME, type ApiKeyResult, type Config, type ConfigProblem, type LoadResult } from '../config/index.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** What was checked, e.g. `config`, `api key`, `capture device`. */
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
const fromError = (name: string, status: CheckStatus, e: PttError): CheckResult => ({
  name,
  status,
  detail: e.message,
  ...(e.hint ? { fix: e.hint } : {}),
});

export interface ConfigDeps {
  loadConfig(path: string, env: Env): Promise<LoadResult>;
  formatProblems(problems: readonly ConfigProblem[]): string;
}

export async function checkConfig(path: string, env: Env, deps: ConfigDeps): Promise<{ result: CheckResult; config?: Config }> {
  const loaded = await deps.loadConfig(path, env);
  if (loaded.ok) return { result: ok('config', `${path} is valid`), config: loaded.config };
  return {
    result: {
      name: 'config',
      status: 'fail',
      detail: `${path}: ${deps.formatProblems(loaded.problems).trimEnd()}`,
      fix: `edit ${path} (realtime-ptt check-config --config ${path} shows the effective config); the other checks need a valid config`,
    },
  };
}

/** The credential file the unit's LoadCredential= reads, as this user sees it. */
export interface ServiceKeyFile {
  path: string;
  state: 'missing' | 'unreadable' | 'readable';
}

/**
 * The key's presence and shape, never the key: its source and length only. OpenAI keys start
 * with `sk-`; Azure keys are 32+ letters and digits. A wrong shape is a warning (a proxy may
 * take other keys), a missing or unreadable key a failure.
 */
export function checkApiKey(
  config: Config,
  env: Env,
  resolveApiKey: (c: Config, e: Env) => ApiKeyResult,
  serviceKey?: ServiceKeyFile,
): { result: CheckResult; key?: string } {
  // Outside systemd, read the service's credential file the way LoadCredential= hands it over.
  const asService = !env.CREDENTIALS_DIRECTORY && serviceKey?.state === 'readable' && basename(serviceKey.path) === CREDENTIAL_NAME;
  const found = resolveApiKey(config, asService ? { ...env, CREDENTIALS_DIRECTORY: dirname(serviceKey.path) } : env);
  if (!found.ok && found.error.code === 'NO_API_KEY' && serviceKey?.state === 'unreadable') {
    return {
      result: {
        name: 'api key',
        status: 'warn',
        detail: `the service's key file ${serviceKey.path} exists, but this user cannot read it (only root should)`,
        fix: 'run sudo realtime-ptt doctor to check it',
      },
    };
  }
  if (!found.ok) return { result: fromError('api key', 'fail', found.error) };
  const where = `${found.source}${found.path ? ` ${found.path}` : ''}`;
  const detail = `found (${where}), ${found.key.length} characters`;
  const azure = config.realtime.provider === 'azure';
  const shapeOk = /\s/.test(found.key) ? false : azure ? /^[A-Za-z0-9]{32,}$/.test(found.key) : /^sk-[A-Za-z0-9_-]{20,}$/.test(found.key);
  if (shapeOk) return { result: ok('api key', detail), key: found.key };
  return {
    result: {
      name: 'api key',
      status: 'warn',
      detail: `${detail}, but it does not look like ${azure ? 'an Azure key (32+ letters and digits)' : 'an OpenAI key (sk-..., no spaces)'}`,
      fix: `check that the whole key was pasted, on one line, into ${where}`,
    },
    key: found.key,
  };
}

export interface AudioDeps {
  listAlsaDevices(): Promise<{ capture: string[]; playback: string[] }>;
  probeDevice(kind: 'capture' | 'playback', device: string): Promise<{ ok: boolean; error?: PttError }>;
}

/** Simulation devices of the daemon (audio-parts.ts): a WAV/raw file mic and a WAV speaker. */
const SIMULATED = { capture: 'file:', playback: 'wav:' } as const;

export async function checkAudio(config: Config, deps: AudioDeps): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const devices = await deps.listAlsaDevices();
  for (const kind of ['capture', 'playback'] as const) {
    // `null` (the discard device) is always listed and is no sound device.
    const names = devices[kind].filter((n) => n !== 'null');
    results.push(
      names.length
        ? ok(`${kind} devices`, names.join(', '))
        : {
            name: `${kind} devices`,
            status: 'warn',
            detail: 'ALSA lists no sound device',
            fix: `plug in a ${kind === 'capture' ? 'USB microphone' : 'speaker or USB sound card'}; ${kind === 'capture' ? 'arecord' : 'aplay'} -l lists the cards`,
          },
    );
  }
  const configured = { capture: config.audio.input.device, playback: config.audio.output.device };
  const probes = await Promise.all(
    (['capture', 'playback'] as const).map(async (kind): Promise<CheckResult> => {
      const device = configured[kind];
      const name = `${kind} device`;
      if (device.startsWith(SIMULATED[kind])) return ok(name, `"${device}" is a simulation file, not ALSA`);
      const probe = await deps.probeDevice(kind, device);
      if (probe.ok) return ok(name, `"${device}" opens at 24 kHz mono S16_LE`);
      if (looksMissing(probe.error)) {
        return {
          name,
          status: 'fail',
          detail: `"${device}" is missing (not connected or not defined): ${probe.error!.message}; the daemon waits for it to appear`,
          fix: `plug it in, or set ${kind === 'capture' ? 'audio.input.device' : 'audio.output.device'} to one of: ${
            devices[kind]
              .filter((n) => n !== 'null')
              .slice(0, 8)
              .join(', ') || 'none listed'
          }`,
        };
      }
      return fromError(name, 'fail', probe.error ?? toPttError(`"${device}" does not open`, 'AUDIO_DEVICE_PROBE'));
    }),
  );
  return [...results, ...probes];
}

export interface GpioDeps {
  checkGpioAccess(gpio: Config['gpio']): Promise<{ backend?: string; why?: string; problems: PttError[] }>;
}

export async function checkGpio(config: Config, deps: GpioDeps): Promise<CheckResult[]> {
  const { backend, why, problems } = await deps.checkGpioAccess(config.gpio);
  // Which backend is in use and why (auto picks kernel edge events where it can), then its problems.
  const chosen =
    backend === undefined
      ? []
      : [
          ok(
            'gpio backend',
            backend === 'virtual' ? 'virtual button on the control socket only' : `${backend}, pin ${config.gpio.pin}: ${why}`,
          ),
        ];
  if (problems.length === 0) return [...chosen, ok('gpio', backend === 'virtual' ? 'nothing to check' : 'accessible')];
  return [...chosen, ...problems.map((p) => fromError('gpio', 'fail', p))];
}

export interface ServiceUserDeps {
  /** The user's group names, or undefined when there is no such user. */
  groupsOf(user: string): Promise<string[] | undefined>;
}

export const SERVICE_USER = 'realtime-ptt';
const SERVICE_GROUPS = ['audio', 'gpio'];

/** The unit runs as `realtime-ptt` with SupplementaryGroups=audio gpio; those groups must exist for it to start. */
export async function checkServiceUser(deps: ServiceUserDeps): Promise<CheckResult> {
  const groups = await deps.groupsOf(SERVICE_USER);
  if (groups === undefined) {
    return {
      name: 'service user',
      status: 'warn',
      detail: `no user ${SERVICE_USER}: the service is not installed`,
      fix: 'run sudo systemd/install.sh from the package (it creates the user)',
    };
  }
  const missing = SERVICE_GROUPS.filter((g) => !groups.includes(g));
  if (missing.length === 0) return ok('service user', `${SERVICE_USER} is in ${SERVICE_GROUPS.join(', ')}`);
  return {
    name: 'service user',
    status: 'fail',
    detail: `${SERVICE_USER} is not in group ${missing.join(', ')}, so it cannot open ${missing.includes('audio') ? 'the sound card' : 'the GPIO'}`,
    fix: `sudo usermod -aG ${missing.join(',')} ${SERVICE_USER} && sudo systemctl restart realtime-ptt`,
  };
}

export interface ConnectionDeps {
  /** Connects, applies and verifies the profile, then closes; resolves how long verification took. */
  verifySession(
    config: Config,
    apiKey: string,
  ): Promise<{ ok: true; ms: number; sessionId: string | undefined } | { ok: false; error: PttError }>;
}

export async function checkConnection(config: Config, apiKey: string, deps: ConnectionDeps): Promise<CheckResult> {
  const r = await deps.verifySession(config, apiKey);
  if (!r.ok)
    return {
      ...fromError('connection', 'fail', r.error),
      fix: r.error.hint ?? `check realtime.url (${config.realtime.url}) and the network`,
    };
  return ok(
    'connection',
    `${config.realtime.url} (${config.realtime.model}): profile verified in ${r.ms} ms${r.sessionId ? `, session ${r.sessionId}` : ''}`,
  );
}

/**
 * A fleet device's token for realtime.mintUrl (credential device-token or realtime.deviceTokenFile):
 * its presence and source, never the token. `key` is '' for the connection check: the session
 * mints through the mint server with the token instead.
 */
export function checkDeviceToken(config: Config, env: Env): { result: CheckResult; key?: string } {
  const token = resolveDeviceToken(config.realtime.deviceTokenFile, env as NodeJS.ProcessEnv);
  if (token instanceof PttError) return { result: fromError('device token', 'fail', token) };
  return {
    result: ok('device token', `found, ${token.length} characters; mints through ${config.realtime.mintUrl} (no API key on this device)`),
    key: '',
  };
}
