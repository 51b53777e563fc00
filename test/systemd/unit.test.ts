import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_PATH } from '../../src/cli/command.js';
import { EXIT_CONFIG } from '../../src/cli/run.js';
import { CREDENTIAL_NAME, parseConfig } from '../../src/config/index.js';

const UNIT = join(import.meta.dirname, '../../systemd/realtime-ptt.service');
const text = readFileSync(UNIT, 'utf8');

/** Every `Key=value` of a section, in order (systemd allows a key more than once). */
function settings(section: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let current = '';
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t.startsWith('[')) current = t;
    else if (current === `[${section}]` && t && !t.startsWith('#')) {
      const i = t.indexOf('=');
      out.push([t.slice(0, i), t.slice(i + 1)]);
    }
  }
  return out;
}
const service = settings('Service');
const get = (key: string): string[] => service.filter(([k]) => k === key).map(([, v]) => v);

// systemd-analyze needs an existing ExecStart binary: a copy of the unit points at this Node.
const dir = mkdtempSync(join(tmpdir(), 'ptt-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const copy = join(dir, 'realtime-ptt.service');
writeFileSync(copy, text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));

function analyze(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('systemd-analyze', args, { cwd: dir, encoding: 'utf8' });
  if (r.error) throw new Error(`systemd-analyze cannot run (${r.error.message}): install systemd to test the unit`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('systemd/realtime-ptt.service', () => {
  it('passes systemd-analyze verify without a warning', () => {
    const r = analyze(['verify', '--man=no', copy]);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  it('has an overall exposure level of 2.5 or better', () => {
    const r = analyze(['security', '--offline=yes', '--no-pager', copy]);
    const m = /Overall exposure level for realtime-ptt\.service: (\d+\.\d+)/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.5);
  });

  it('is a notify service with a watchdog, SIGHUP reload and bounded restarts', () => {
    expect(get('Type')).toEqual(['notify']);
    expect(get('NotifyAccess')).toEqual(['main']);
    expect(get('WatchdogSec')).toEqual(['30s']);
    expect(get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(get('Restart')).toEqual(['on-failure']);
    // An invalid config exits EX_CONFIG: restarting in a loop cannot fix it.
    expect(get('RestartPreventExitStatus')).toEqual([String(EXIT_CONFIG)]);
    const unit = Object.fromEntries(settings('Unit'));
    expect(Number(unit.StartLimitBurst)).toBeGreaterThan(0);
    expect(Number(unit.StartLimitIntervalSec)).toBeGreaterThan(0);
  });

  it('runs as its own user in audio and gpio, with the key as a credential the config module reads', () => {
    expect(get('User')).toEqual(['realtime-ptt']);
    expect(get('SupplementaryGroups')).toEqual(['audio gpio']);
    expect(get('LoadCredential')).toEqual([`${CREDENTIAL_NAME}:/etc/realtime-ptt/openai-api-key`]);
    expect(get('ExecStart')[0]).toMatch(new RegExp(` run --config ${DEFAULT_CONFIG_PATH}$`));
    expect(text).not.toMatch(/OPENAI_API_KEY/);
  });

  it('creates the directories the default config uses (control socket, transcript file)', () => {
    const parsed = parseConfig('{}', {});
    if (!parsed.ok) throw new Error('the empty config is invalid');
    const defaults = parsed.config;
    expect(get('RuntimeDirectory')).toEqual(['realtime-ptt']);
    expect(defaults.control.socket.startsWith('/run/realtime-ptt/')).toBe(true);
    expect(get('StateDirectory')).toEqual(['realtime-ptt']);
    expect(String(defaults.log.transcriptFile).startsWith('/var/lib/realtime-ptt/')).toBe(true);
    expect(get('ConfigurationDirectory')).toEqual(['realtime-ptt']);
  });

  it('lets in ALSA and GPIO devices only, never forbids W+X memory (V8 JIT, also of Node MCP children), allows netlink', () => {
    expect(get('DevicePolicy')).toEqual(['closed']);
    expect(get('DeviceAllow')).toEqual(['char-alsa rw', '/dev/gpiomem rw', 'char-gpiochip rw']);
    expect(get('MemoryDenyWriteExecute')).toEqual([]);
    expect(get('PrivateUsers')).toEqual([]);
    // getifaddrs() needs a netlink socket: the device status tool and MCP children list interfaces.
    expect(get('RestrictAddressFamilies')).toEqual(['AF_UNIX AF_INET AF_INET6 AF_NETLINK']);
    expect(get('CapabilityBoundingSet')).toEqual(['']);
  });
});

// `systemd-analyze` prints nothing about itself being missing: make that loud at import time.
execFileSync('systemd-analyze', ['--version']);
