import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deviceStatus, describeThrottled } from '../../src/tools/builtin/device-status.js';
import { TimerStore, type Timer } from '../../src/tools/builtin/timers.js';
import { createBuiltins } from '../../src/tools/builtins.js';
import { ToolExecutor } from '../../src/tools/executor.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { resolveStateDir } from '../../src/core/state-file.js';

let dir: string;
const stores: Array<{ stop(): Promise<void> }> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-tools-'));
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The built-ins behind a registry and executor, as the daemon will use them. */
async function device(volume = { gain: 1 }) {
  const builtins = createBuiltins({
    enabled: { time: true, timers: true, volume: true, deviceStatus: true },
    stateDir: dir,
    volume: { get: () => volume.gain, set: (g) => void (volume.gain = g) },
    status: { vcgencmd: null },
  });
  stores.push(builtins);
  const fired: Array<[Timer, boolean]> = [];
  builtins.timers?.on('fired', (t, { late }) => fired.push([t, late]));
  await builtins.start();
  const registry = new ToolRegistry();
  registry.setSource('builtin', builtins.tools());
  const executor = new ToolExecutor({ registry, timeoutMs: 2_000, maxOutputBytes: 8_192 });
  let n = 0;
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await executor.call({ callId: `c${++n}`, name, arguments: JSON.stringify(args) });
    return { ...r, json: JSON.parse(r.output) as Record<string, unknown> };
  };
  return { builtins, registry, call, fired, volume };
}

describe('built-in tools', () => {
  it('offers only what the config enables', () => {
    const b = createBuiltins({ enabled: { time: true, timers: false, volume: false, deviceStatus: true }, stateDir: dir });
    expect(b.tools().map((t) => t.definition.name)).toEqual(['get_local_time', 'get_device_status']);
    const all = createBuiltins({
      enabled: { time: true, timers: true, volume: true, deviceStatus: true },
      stateDir: dir,
      volume: { get: () => 1, set() {} },
    });
    expect(all.tools().map((t) => t.definition.name)).toEqual([
      'get_local_time',
      'get_device_status',
      'set_timer',
      'set_alarm',
      'list_timers',
      'cancel_timer',
      'get_volume',
      'set_volume',
    ]);
  });

  it('tells the local date and time in the time zone of the machine', async () => {
    const { call } = await device();
    const { json } = await call('get_local_time');
    expect(json.timeZone).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(json.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Math.abs(Date.parse(String(json.iso)) - Date.now())).toBeLessThan(5_000);
  });

  it('a timer fires with its name, and timers survive a restart on disk', async () => {
    const first = await device();
    await first.call('set_timer', { name: 'tea', seconds: 1 });
    await first.call('set_alarm', { name: 'wake up', time: '07:30' });
    const listed = await first.call('list_timers');
    expect((listed.json.timers as Array<{ name: string }>).map((t) => t.name)).toEqual(['tea', 'wake up']);
    await first.builtins.stop();
    // A new process: a new store reading the same state directory.
    const second = await device();
    const names = ((await second.call('list_timers')).json.timers as Array<{ name: string }>).map((t) => t.name);
    expect(names).toEqual(['tea', 'wake up']);
    await second.builtins.timers?.next('fired', 3_000);
    expect(second.fired.map(([t, late]) => [t.name, t.kind, late])).toEqual([['tea', 'timer', false]]);
    await second.builtins.stop(); // waits for the write that removed the fired timer
    expect(JSON.parse(readFileSync(join(dir, 'timers.json'), 'utf8')).map((t: Timer) => t.name)).toEqual(['wake up']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a timer that came due while the daemon was down fires at start, marked late', async () => {
    const store = new TimerStore({ stateDir: dir });
    stores.push(store);
    await store.start();
    await store.set('bread', 'timer', Date.now() + 60_000);
    await store.set('laundry', 'timer', Date.now() + 200);
    await store.stop();
    await new Promise((r) => setTimeout(r, 300));
    const later = await device();
    expect(later.fired.map(([t, late]) => [t.name, late])).toEqual([['laundry', true]]);
    expect(((await later.call('list_timers')).json.timers as Array<{ name: string }>).map((t) => t.name)).toEqual(['bread']);
  });

  it('cancelling a timer that does not exist says which ones do', async () => {
    const { call } = await device();
    await call('set_timer', { name: 'eggs', seconds: 300 });
    const r = await call('cancel_timer', { name: 'pizza' });
    expect(r.record.outcome).toBe('error');
    expect((r.json.error as { message: string }).message).toBe('no timer or alarm named "pizza"; set: eggs');
    expect((await call('cancel_timer', { name: 'eggs' })).json).toEqual({ cancelled: 'eggs' });
  });

  it('a corrupt timers file is reported and does not stop the device', async () => {
    writeFileSync(join(dir, 'timers.json'), '{half');
    const store = new TimerStore({ stateDir: dir });
    stores.push(store);
    const errors: string[] = [];
    store.on('error', (e) => errors.push(e.message));
    await store.start();
    expect(errors).toEqual([`${join(dir, 'timers.json')} is not valid JSON; it is ignored`]);
    await store.set('ok', 'timer', Date.now() + 60_000);
    expect(store.list().map((t) => t.name)).toEqual(['ok']);
  });

  it('a volume set by voice is applied and survives a restart', async () => {
    const first = await device({ gain: 1 });
    expect((await first.call('set_volume', { percent: 35 })).json).toEqual({ volumePercent: 35 });
    expect(first.volume.gain).toBe(0.35);
    expect((await first.call('set_volume', { percent: 140 })).record.outcome).toBe('invalid-arguments');
    const second = await device({ gain: 1 });
    expect(second.volume.gain).toBe(0.35);
    expect((await second.call('get_volume')).json).toEqual({ volumePercent: 35 });
  });

  it('device status reads the Pi sources and says unavailable for what the machine lacks', async () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'sys/class/thermal/thermal_zone0'), { recursive: true });
    mkdirSync(join(root, 'proc/net'), { recursive: true });
    writeFileSync(join(root, 'sys/class/thermal/thermal_zone0/temp'), '48312\n');
    writeFileSync(
      join(root, 'proc/net/wireless'),
      'Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n wlan0: 0000   54.  -56.  -256        0      0      0      0     12        0\n',
    );
    const pi = await deviceStatus({ root, vcgencmd: null });
    expect(pi.cpuTemperature).toBe('48.3 °C');
    expect(pi.wifi).toEqual({ wlan0: 'link quality 54/70, signal -56 dBm' });
    const bare = await deviceStatus({ root: join(dir, 'nothing'), vcgencmd: '/nonexistent/vcgencmd' });
    expect(bare).toMatchObject({ cpuTemperature: 'unavailable', wifi: 'unavailable', powerAndThrottling: 'unavailable' });
    expect(bare.uptimeMinutes).toEqual(expect.any(Number));
    expect(describeThrottled('throttled=0x50005')).toBe(
      'under-voltage now, throttled now, under-voltage has occurred, throttling has occurred',
    );
    expect(describeThrottled('throttled=0x0')).toBe('no under-voltage or throttling');
  });

  it('the state directory is the configured one, else systemd StateDirectory, else /var/lib/realtime-ptt', () => {
    expect(resolveStateDir('/srv/ptt', { STATE_DIRECTORY: '/var/lib/x' })).toBe('/srv/ptt');
    expect(resolveStateDir(null, { STATE_DIRECTORY: '/var/lib/x:/var/lib/y' })).toBe('/var/lib/x');
    expect(resolveStateDir(null, {})).toBe('/var/lib/realtime-ptt');
  });
});
