/**
 * Audio devices that do not exist yet. A USB microphone can enumerate seconds after the service
 * starts; exiting would let systemd's restart limits give up on it for good, so the daemon waits
 * in-process and starts the audio when the device appears. Only "missing" waits: a device that
 * exists but fails to open is an error waiting cannot fix, reported when the audio starts.
 */
import type { Config } from '../config/index.js';
import type { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { FILE_INPUT_PREFIX, WAV_OUTPUT_PREFIX } from './audio-parts.js';

export type DeviceKind = 'capture' | 'playback';

export interface AwaitedDevice {
  kind: DeviceKind;
  device: string;
  /** What the probe said (e.g. `audio open error: No such file or directory`). */
  reason: string;
}

/** The audio module's discovery functions (listAlsaDevices / probeDevice), as the wait needs them. */
export interface DeviceDiscovery {
  listAlsaDevices(): Promise<{ capture: string[]; playback: string[] }>;
  probeDevice(kind: DeviceKind, device: string): Promise<{ ok: boolean; error?: PttError }>;
}

/** What libasound and arecord/aplay say about a name or card that is not there. */
const MISSING = /No such file or directory|No such device|Unknown PCM|Cannot get card index|cannot find card/i;

/** Whether a failed open means "the device is not there (yet)" rather than "it is there and broken". */
export function looksMissing(error: PttError | undefined): boolean {
  return error !== undefined && MISSING.test(error.message);
}

/** A person's name for the device kind: the log and status line say which one is awaited. */
export function deviceRole(kind: DeviceKind): string {
  return kind === 'capture' ? 'microphone' : 'speaker';
}

export function describeAwaited(devices: readonly AwaitedDevice[]): string {
  return devices.map((d) => `${deviceRole(d.kind)} "${d.device}"`).join(' and ');
}

/**
 * The configured ALSA devices that are missing. A listed name exists and is not opened here (a
 * probe would take a period from a capture that is fine); a name not listed (plughw:1,0 is not
 * spelled as -L spells it) is probed, and counts as missing only when the probe says so.
 */
export async function findMissingDevices(config: Config, discovery: DeviceDiscovery): Promise<AwaitedDevice[]> {
  const wanted: Array<{ kind: DeviceKind; device: string }> = [];
  if (!config.audio.input.device.startsWith(FILE_INPUT_PREFIX)) wanted.push({ kind: 'capture', device: config.audio.input.device });
  if (!config.audio.output.device.startsWith(WAV_OUTPUT_PREFIX)) wanted.push({ kind: 'playback', device: config.audio.output.device });
  if (wanted.length === 0) return [];
  const listed = await discovery.listAlsaDevices();
  const missing: AwaitedDevice[] = [];
  for (const { kind, device } of wanted) {
    if (listed[kind].includes(device)) continue;
    const probe = await discovery.probeDevice(kind, device);
    if (!probe.ok && looksMissing(probe.error)) missing.push({ kind, device, reason: lastPart(probe.error!.message) });
  }
  return missing;
}

export interface DeviceWaitOptions {
  /** The devices found missing at first. */
  missing: AwaitedDevice[];
  check(): Promise<AwaitedDevice[]>;
  pollMs: number;
  stopped(): boolean;
  /** The devices waited for now ([] when they are all there), for the status line. */
  awaiting(devices: AwaitedDevice[]): void;
  /** systemd's STATUS. */
  status(line: string): void;
  log: Logger;
  /** Receives the function that ends the current poll early (the daemon stops), and undefined after it. */
  onPoll(wake: (() => void) | undefined): void;
}

/**
 * Polls until no configured device is missing, saying which are awaited (STATUS and the log, once
 * per change). False when the daemon was stopped while waiting.
 */
export async function waitForDevices(o: DeviceWaitOptions): Promise<boolean> {
  let missing = o.missing;
  let awaited = missing;
  let said = '';
  while (missing.length > 0) {
    if (o.stopped()) return false;
    awaited = missing;
    o.awaiting(missing);
    const line = `waiting for ${describeAwaited(missing)}`;
    if (line !== said) {
      said = line;
      o.status(line);
      o.log.warn(`${line}: it is not connected or not defined yet; the audio starts when it appears`, {
        devices: missing,
        hint: 'plug it in, or set audio.input.device / audio.output.device to a device that arecord -L / aplay -L lists',
      });
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, o.pollMs);
      o.onPoll(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    o.onPoll(undefined);
    if (o.stopped()) return false;
    missing = await o.check();
  }
  o.log.info('the awaited audio devices are there; starting the audio', { devices: awaited.map((d) => d.device) });
  o.awaiting([]);
  return true;
}

function lastPart(message: string): string {
  const i = message.lastIndexOf(': ');
  return i >= 0 ? message.slice(i + 2) : message;
}
