import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CREDENTIAL_NAME } from '../../src/config/index.js';

const UNIT = join(import.meta.dirname, '../../systemd/realtime-ptt-mint.service');
const text = readFileSync(UNIT, 'utf8');
const service = text
  .slice(text.indexOf('[Service]'), text.indexOf('[Install]'))
  .split('\n')
  .filter((l) => /^\w+=/.test(l))
  .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const);
const get = (key: string) => service.filter(([k]) => k === key).map(([, v]) => v);

const dir = mkdtempSync(join(tmpdir(), 'ptt-mint-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const copy = join(dir, 'realtime-ptt-mint.service');
writeFileSync(copy, text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
const analyze = (args: string[]) => {
  const r = spawnSync('systemd-analyze', args, { cwd: dir, encoding: 'utf8' });
  if (r.error) throw new Error(`systemd-analyze cannot run (${r.error.message})`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

describe('systemd/realtime-ptt-mint.service', () => {
  it('passes systemd-analyze verify without a warning', () => {
    const r = analyze(['verify', '--man=no', copy]);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  it('has an overall exposure level of 2.5 or better', () => {
    const r = analyze(['security', '--offline=yes', '--no-pager', copy]);
    const m = /Overall exposure level for realtime-ptt-mint\.service: (\d+\.\d+)/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(2.5);
  });

  it('gets the key as a credential (never the environment), reloads tokens on SIGHUP, and runs the mint-server command', () => {
    expect(get('LoadCredential')).toContain(`${CREDENTIAL_NAME}:/etc/realtime-ptt/openai-api-key`);
    expect(text).not.toMatch(/OPENAI_API_KEY/);
    expect(get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(get('DynamicUser')).toEqual(['yes']);
    // Every option of ExecStart is one the CLI knows (--help parses them strictly, then exits 0).
    const args = get('ExecStart')[0]!.split(' ').slice(2);
    expect(args[0]).toBe('mint-server');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args, '--help'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
