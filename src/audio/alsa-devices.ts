/**
 * ALSA device discovery for error messages and `doctor`: `arecord -L` / `aplay -L` list the
 * PCM names (plugins and cards) and `-l` lists the hardware cards, which we turn into the
 * `plughw:CARD=..,DEV=..` names people should configure.
 */
import { execFile } from 'node:child_process';
import { PttError } from '../core/errors.js';
import { audioChildEnv } from './child-env.js';

export interface AlsaDevices {
  capture: string[];
  playback: string[];
}

/** PCM names from `aplay -L`/`arecord -L`: unindented lines; descriptions are indented. */
export function parseDeviceNames(listing: string): string[] {
  return listing
    .split('\n')
    .filter((l) => l.length > 0 && !/^\s/.test(l))
    .map((l) => l.trim());
}

/** `card 1: Device [USB Audio Device], device 0: USB Audio [USB Audio]` -> plughw:CARD=Device,DEV=0. */
export function parseHardwareCards(listing: string): string[] {
  const out: string[] = [];
  for (const m of listing.matchAll(/^card (\d+): (\S+) \[.*?\], device (\d+):/gm)) out.push(`plughw:CARD=${m[2]},DEV=${m[3]}`);
  return out;
}

/**
 * The names worth suggesting in a hint: cards' plughw:/default/sysdefault entries and
 * user-defined devices, not the dozens of surround/iec958/hdmi variants `-L` also prints.
 */
export function suggestDevices(names: string[], max = 8): string {
  const useful = names.filter(
    (n) => n !== 'null' && !/^(surround\d+|front|rear|center_lfe|side|iec958|hdmi|usbstream|dmix|dsnoop|hw):/.test(n),
  );
  if (useful.length === 0) return 'none found (arecord -L / aplay -L list them)';
  return useful.slice(0, max).join(', ') + (useful.length > max ? `, ... (${useful.length - max} more)` : '');
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => {
    // "no soundcards found" exits non-zero but the -L listing before it is still useful.
    execFile(cmd, args, { env, timeout: 5000, encoding: 'utf8' }, (_err, stdout) => resolve(stdout ?? ''));
  });
}

/** Card ids in an `arecord -l` / `aplay -l` listing: the cards that have a device in that direction. */
function cardIds(listing: string): Set<string> {
  return new Set([...listing.matchAll(/^card \d+: (\S+) \[/gm)].map((m) => m[1]!));
}

/**
 * The names one direction can use: `-L` prints every PCM of every card whatever it can do (a
 * Pi's Headphones and HDMI cards show up in `arecord -L` though they cannot record), so a
 * `CARD=` name counts only if `-l` lists that card for the direction; dmix only plays and
 * dsnoop only records. Names without a card (plugins, user devices) are kept.
 */
export function devicesFor(kind: 'capture' | 'playback', listingL: string, listingl: string): string[] {
  const cards = cardIds(listingl);
  const wrongWay = kind === 'capture' ? /^dmix(:|$)/ : /^dsnoop(:|$)/;
  const names = parseDeviceNames(listingL).filter((n) => {
    if (wrongWay.test(n)) return false;
    const card = /CARD=([^,]+)/.exec(n)?.[1];
    return card === undefined || cards.has(card);
  });
  return [...new Set([...names, ...parseHardwareCards(listingl)])];
}

export async function listAlsaDevices(env: NodeJS.ProcessEnv = audioChildEnv()): Promise<AlsaDevices> {
  const [capL, capl, playL, playl] = await Promise.all([
    run('arecord', ['-L'], env),
    run('arecord', ['-l'], env),
    run('aplay', ['-L'], env),
    run('aplay', ['-l'], env),
  ]);
  return { capture: devicesFor('capture', capL, capl), playback: devicesFor('playback', playL, playl) };
}

export type ProbeResult =
  | { ok: true; device: string; kind: 'capture' | 'playback' }
  | { ok: false; device: string; kind: 'capture' | 'playback'; error: PttError };

/**
 * Opens the device at 24 kHz mono S16_LE for a moment with arecord/aplay (`-d 1` capture of one
 * second is too slow for doctor; `-s` reads/writes a few samples). A child process keeps a
 * hung device from blocking the daemon's own threadpool.
 */
export function probeDevice(kind: 'capture' | 'playback', device: string, env: NodeJS.ProcessEnv = audioChildEnv()): Promise<ProbeResult> {
  const cmd = kind === 'capture' ? 'arecord' : 'aplay';
  const args = ['-q', '-D', device, '-t', 'raw', '-f', 'S16_LE', '-r', '24000', '-c', '1', '-s', '240'];
  if (kind === 'playback') args.push('/dev/zero');
  else args.push('/dev/null');
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 3000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (!err) return resolve({ ok: true, device, kind });
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      const detail = missing ? `${cmd} is not installed` : lastLine(stderr) || err.message;
      resolve({
        ok: false,
        device,
        kind,
        error: new PttError(
          missing ? 'AUDIO_TOOL_MISSING' : 'AUDIO_DEVICE_PROBE',
          `${kind} device "${device}" does not open at 24 kHz mono S16_LE: ${detail}`,
          {
            context: { device, kind },
            hint: missing
              ? 'install the Debian package alsa-utils'
              : `pick a device from \`${cmd} -L\` (plughw:/plug devices convert rate and channels)`,
          },
        ),
      });
    });
  });
}

function lastLine(text: string | undefined): string {
  return (
    (text ?? '')
      .trim()
      .split('\n')
      .pop()
      ?.replace(/^(arecord|aplay): \S+: ?/, '') ?? ''
  );
}

/** A device that cannot be opened, with the devices of that direction this machine has (listing is best effort). */
export async function deviceOpenError(
  direction: 'capture' | 'playback',
  device: string,
  reason: string,
  options: { list?: () => Promise<string[]>; env?: NodeJS.ProcessEnv } = {},
): Promise<PttError> {
  let available: string[] = [];
  try {
    available = await (options.list ?? (async () => (await listAlsaDevices(audioChildEnv(options.env ?? process.env)))[direction]))();
  } catch {
    /* listing is best effort */
  }
  return new PttError(
    direction === 'capture' ? 'AUDIO_CAPTURE_OPEN' : 'AUDIO_PLAYBACK_OPEN',
    `cannot open ${direction} device "${device}": ${reason}`,
    {
      context: { device, reason, available },
      hint: `set audio.${direction === 'capture' ? 'input' : 'output'}.device to one of: ${suggestDevices(available)}`,
    },
  );
}

/** What every capture backend needs before it opens anything; refused naming the key to fix. */
export function checkCaptureOptions(device: unknown, periodMs: number): void {
  if (!Number.isInteger(periodMs) || periodMs < 5 || periodMs > 200) {
    throw new PttError('AUDIO_BAD_OPTION', `capture period ${periodMs} ms is out of range`, {
      context: { periodMs },
      hint: 'set audio.input.periodMs to a whole number from 5 to 200',
    });
  }
  if (typeof device !== 'string' || device.trim() === '') {
    throw new PttError('AUDIO_BAD_OPTION', 'no capture device configured', { hint: 'set audio.input.device (arecord -L lists them)' });
  }
}
