/**
 * Device status for questions like "how hot is the Pi?" or "is the Wi-Fi weak?". Every part
 * reads one source and says "unavailable" when this machine lacks it (no thermal zone in a
 * container, no wireless interface on Ethernet, no vcgencmd off a Pi).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg, networkInterfaces, totalmem, freemem, uptime } from 'node:os';
import { toolChildEnv } from '../../core/child-env.js';
import type { Tool } from '../types.js';

const UNAVAILABLE = 'unavailable';

export interface StatusSources {
  /** Root under which /sys and /proc are read (tests point it at a fixture tree). */
  root?: string;
  /** The vcgencmd command; null skips it. */
  vcgencmd?: string | null;
}

async function read(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

export async function cpuTemperature(root = ''): Promise<string> {
  const text = await read(`${root}/sys/class/thermal/thermal_zone0/temp`);
  const milli = Number(text?.trim());
  return text && Number.isFinite(milli) ? `${(milli / 1000).toFixed(1)} °C` : UNAVAILABLE;
}

/** /proc/net/wireless: "wlan0: 0000   54.  -56.  -256 ..." (link quality, level in dBm). */
export async function wifiSignal(root = ''): Promise<string | Record<string, string>> {
  const text = await read(`${root}/proc/net/wireless`);
  const rows = (text ?? '')
    .split('\n')
    .slice(2)
    .filter((l) => l.includes(':'));
  if (rows.length === 0) return UNAVAILABLE;
  const out: Record<string, string> = {};
  for (const row of rows) {
    const [iface, rest] = row.split(':') as [string, string];
    const cols = rest.trim().split(/\s+/);
    const quality = Number.parseFloat(cols[1] ?? '');
    const level = Number.parseFloat(cols[2] ?? '');
    out[iface.trim()] = `link quality ${quality}/70, signal ${level} dBm`;
  }
  return out;
}

const THROTTLE_BITS: Array<[number, string]> = [
  [0, 'under-voltage now'],
  [1, 'ARM frequency capped now'],
  [2, 'throttled now'],
  [3, 'soft temperature limit now'],
  [16, 'under-voltage has occurred'],
  [17, 'frequency capping has occurred'],
  [18, 'throttling has occurred'],
  [19, 'soft temperature limit has occurred'],
];

/** `vcgencmd get_throttled` prints "throttled=0x50005"; each bit is one condition. */
export function describeThrottled(output: string): string {
  const m = /throttled=(0x[0-9a-f]+)/i.exec(output);
  if (!m?.[1]) return UNAVAILABLE;
  const flags = Number.parseInt(m[1], 16);
  const set = THROTTLE_BITS.filter(([bit]) => flags & (1 << bit)).map(([, what]) => what);
  return set.length ? set.join(', ') : 'no under-voltage or throttling';
}

function throttling(command: string | null): Promise<string> {
  if (command === null) return Promise.resolve(UNAVAILABLE);
  return new Promise((resolve) => {
    execFile(command, ['get_throttled'], { env: toolChildEnv(), timeout: 2000 }, (err, stdout) => {
      resolve(err ? UNAVAILABLE : describeThrottled(stdout));
    });
  });
}

function addresses(): Record<string, string[]> | string {
  const out: Record<string, string[]> = {};
  let all: ReturnType<typeof networkInterfaces>;
  try {
    all = networkInterfaces();
  } catch {
    // getifaddrs() fails where netlink sockets are not allowed (a stricter sandbox): the rest still answers.
    return UNAVAILABLE;
  }
  for (const [name, infos] of Object.entries(all)) {
    const list = (infos ?? []).filter((i) => !i.internal).map((i) => i.address);
    if (list.length) out[name] = list;
  }
  return Object.keys(out).length ? out : UNAVAILABLE;
}

export async function deviceStatus(sources: StatusSources = {}): Promise<Record<string, unknown>> {
  const root = sources.root ?? '';
  const [temp, wifi, throttled] = await Promise.all([
    cpuTemperature(root),
    wifiSignal(root),
    throttling(sources.vcgencmd === undefined ? 'vcgencmd' : sources.vcgencmd),
  ]);
  const mb = (b: number) => Math.round(b / 1048576);
  const [l1, l5, l15] = loadavg();
  return {
    cpuTemperature: temp,
    uptimeMinutes: Math.round(uptime() / 60),
    load: { '1min': l1?.toFixed(2), '5min': l5?.toFixed(2), '15min': l15?.toFixed(2) },
    memory: { totalMB: mb(totalmem()), availableMB: mb(freemem()) },
    wifi,
    ipAddresses: addresses(),
    powerAndThrottling: throttled,
  };
}

export function deviceStatusTool(sources: StatusSources = {}): Tool {
  return {
    source: 'builtin',
    originalName: 'get_device_status',
    definition: {
      type: 'function',
      name: 'get_device_status',
      description:
        'Status of the device itself: CPU temperature, uptime, load, memory, Wi-Fi signal, IP addresses, under-voltage and throttling. Parts the device cannot measure say "unavailable".',
      parameters: { type: 'object', properties: {}, additionalProperties: false },
    },
    run: async () => ({ text: JSON.stringify(await deviceStatus(sources)) }),
  };
}
