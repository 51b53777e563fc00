import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'ptt-install-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A built checkout as install.sh expects it: the real script, unit and example config, a small dist. */
function checkout(): string {
  const src = join(work, `src-${Math.random().toString(36).slice(2)}`);
  for (const part of [
    'systemd/install.sh',
    'systemd/realtime-ptt.service',
    'config/realtime-ptt.example.yaml',
    'package.json',
    'package-lock.json',
  ]) {
    mkdirSync(dirname(join(src, part)), { recursive: true });
    cpSync(join(REPO, part), join(src, part));
  }
  mkdirSync(join(src, 'dist/cli'), { recursive: true });
  writeFileSync(join(src, 'dist/cli.js'), '#!/usr/bin/env node\n');
  writeFileSync(join(src, 'dist/cli/doctor.js'), 'export {};\n');
  return src;
}

const KEY = 'sk-test-0123456789abcdefghij';

function install(src: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync('bash', [join(src, 'systemd/install.sh'), '--no-deps', ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Path -> mode, size, content hash and mtime: a second run that rewrites anything shows here. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p);
      const rel = relative(root, p);
      if (st.isDirectory()) {
        out[`${rel}/`] = st.mode.toString(8);
        walk(p);
      } else out[rel] = `${st.mode.toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16)} ${st.mtimeMs}`;
    }
  };
  walk(root);
  return out;
}

describe('systemd/install.sh', () => {
  it('installs package, config, 0600 key and unit into a prefix; a second run changes nothing', () => {
    const src = checkout();
    const root = join(work, 'root1');
    const first = install(src, ['--prefix', root], { OPENAI_API_KEY: KEY });
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).not.toContain(KEY);

    expect(existsSync(join(root, 'opt/realtime-ptt/dist/cli/doctor.js'))).toBe(true);
    expect(statSync(join(root, 'opt/realtime-ptt/systemd/install.sh')).mode & 0o777).toBe(0o755);
    const keyFile = join(root, 'etc/realtime-ptt/openai-api-key');
    expect(readFileSync(keyFile, 'utf8')).toBe(`${KEY}\n`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, 'etc/realtime-ptt/config.yaml'), 'utf8')).toBe(
      readFileSync(join(src, 'config/realtime-ptt.example.yaml'), 'utf8'),
    );
    const unit = readFileSync(join(root, 'etc/systemd/system/realtime-ptt.service'), 'utf8');
    const node = spawnSync('bash', ['-c', 'command -v node'], { encoding: 'utf8' }).stdout.trim();
    expect(unit).toMatch(new RegExp(`^ExecStart=${node} /opt/realtime-ptt/dist/cli.js run --config /etc/realtime-ptt/config.yaml$`, 'm'));

    const before = snapshot(root);
    const second = install(src, ['--prefix', root], { OPENAI_API_KEY: 'sk-another-key-0000000000' });
    expect(second.code).toBe(0);
    expect(second.out).toContain('nothing changed');
    expect(snapshot(root)).toEqual(before);
  });

  it('keeps an edited config and key, and follows an upgraded build (new and removed files)', () => {
    const src = checkout();
    const root = join(work, 'root2');
    expect(install(src, ['--prefix', root], { OPENAI_API_KEY: KEY }).code).toBe(0);
    writeFileSync(join(root, 'etc/realtime-ptt/config.yaml'), 'session:\n  voice: cedar\n');
    rmSync(join(src, 'dist/cli/doctor.js'));
    writeFileSync(join(src, 'dist/cli/new.js'), 'export {};\n');

    const r = install(src, ['--prefix', root], {});
    expect(r.code).toBe(0);
    expect(readFileSync(join(root, 'etc/realtime-ptt/config.yaml'), 'utf8')).toBe('session:\n  voice: cedar\n');
    expect(readFileSync(join(root, 'etc/realtime-ptt/openai-api-key'), 'utf8')).toBe(`${KEY}\n`);
    expect(existsSync(join(root, 'opt/realtime-ptt/dist/cli/doctor.js'))).toBe(false);
    expect(existsSync(join(root, 'opt/realtime-ptt/dist/cli/new.js'))).toBe(true);
  });

  it('--dry-run says what it would do and writes nothing', () => {
    const src = checkout();
    const root = join(work, 'root3');
    const r = install(src, ['--dry-run', '--prefix', root], { OPENAI_API_KEY: KEY });
    expect(r.code).toBe(0);
    expect(r.out).toContain('would write /etc/realtime-ptt/openai-api-key (root, 0600, 28 characters)');
    expect(r.out).toMatch(/would run: install -D -m 0644 .*realtime-ptt\.service/);
    expect(r.out).not.toContain(KEY);
    expect(existsSync(root)).toBe(false);
  });

  it('without a key and without a terminal it installs and says the service needs one', () => {
    const src = checkout();
    const r = install(src, ['--prefix', join(work, 'root4')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('WARNING: no API key');
    expect(existsSync(join(work, 'root4/etc/realtime-ptt/openai-api-key'))).toBe(false);
  });

  it('refuses a node older than 20 and an unbuilt checkout, with the fix', () => {
    const src = checkout();
    const bin = join(work, 'old-node');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'node'), '#!/bin/sh\necho 18.19.0\n');
    chmodSync(join(bin, 'node'), 0o755);
    const old = install(src, ['--prefix', join(work, 'root5')], { PATH: `${bin}:${process.env.PATH}` });
    expect(old.code).toBe(1);
    expect(old.err).toBe('install.sh: node 18.19.0 is too old (need >= 20)\n  fix: install Node.js 20 or newer\n');

    rmSync(join(src, 'dist'), { recursive: true });
    const unbuilt = install(src, ['--prefix', join(work, 'root5')]);
    expect(unbuilt.code).toBe(1);
    expect(unbuilt.err).toContain("fix: run 'npm ci && npm run build'");
    expect(existsSync(join(work, 'root5'))).toBe(false);
  });

  it('runs npm ci in the package only when the lock file changed, and npm never sees the key', () => {
    const src = checkout();
    const root = join(work, 'root6');
    const bin = join(work, 'fake-npm');
    mkdirSync(bin, { recursive: true });
    // A stand-in npm: records its arguments and environment, makes node_modules as npm ci would.
    writeFileSync(
      join(bin, 'npm'),
      `#!/bin/sh\necho "$*" >> ${join(work, 'npm-calls')}\nenv > ${join(work, 'npm-env')}\nmkdir -p node_modules\n`,
    );
    chmodSync(join(bin, 'npm'), 0o755);
    const run = () =>
      spawnSync('bash', [join(src, 'systemd/install.sh'), '--prefix', root], {
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}`, OPENAI_API_KEY: KEY },
      });
    expect(run().status).toBe(0);
    expect(run().status).toBe(0);
    const calls = () => readFileSync(join(work, 'npm-calls'), 'utf8').trim().split('\n');
    expect(calls()).toEqual(['ci --omit=dev --no-audit --no-fund']);
    expect(readFileSync(join(work, 'npm-env'), 'utf8')).not.toContain(KEY);

    writeFileSync(join(src, 'package-lock.json'), '{"lockfileVersion": 3, "changed": true}\n');
    expect(run().status).toBe(0);
    expect(calls()).toHaveLength(2);
  });

  it.each(['systemd/install.sh', '.ci/run'])('%s passes bash -n and shellcheck', (path) => {
    const script = join(REPO, path);
    expect(spawnSync('bash', ['-n', script], { encoding: 'utf8' }).status).toBe(0);
    const sc = spawnSync('shellcheck', [script], { encoding: 'utf8' });
    expect(sc.error, 'shellcheck is missing (Debian package shellcheck)').toBeUndefined();
    expect(sc.stdout).toBe('');
    expect(sc.status).toBe(0);
  });
});
