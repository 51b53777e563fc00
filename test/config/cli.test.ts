import { describe, expect, it, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { validateClientEvent } from '../support/realtime-schema.js';
import { EXAMPLE, FIXTURES, tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tmp = tempDir();
afterAll(() => tmp.cleanup());

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process (tsx, so no build and no race on dist/). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env };
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { cwd: ROOT, env: childEnv, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('realtime-ptt check-config', () => {
  it('the example file is valid: exit 0 and the effective config as YAML', async () => {
    const r = await cli(['check-config', '--config', EXAMPLE]);
    expect(r.stderr).toContain('config is valid');
    expect(r.code).toBe(0);
    const printed = parse(r.stdout) as { realtime: { url: string }; gpio: { pin: number } };
    expect(printed.realtime.url).toBe('wss://api.openai.com/v1/realtime');
    expect(printed.gpio.pin).toBe(17);
  });

  it('REALTIME_PTT_CONFIG chooses the file, --json prints JSON, env overrides show, the key never does', async () => {
    const key = 'sk-live-DO-NOT-PRINT-0123456789';
    const r = await cli(['check-config', '--json'], {
      REALTIME_PTT_CONFIG: join(FIXTURES, 'hands-free.yaml'),
      REALTIME_PTT_LOG_LEVEL: 'warn',
      OPENAI_API_KEY: key,
    });
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as { gpio: { backend: string }; log: { level: string } };
    expect(printed.gpio.backend).toBe('gpiomon');
    expect(printed.log.level).toBe('warn');
    // The profile names a key file, which wins over OPENAI_API_KEY, and it does not exist here.
    expect(r.stderr).toContain('API key: API key file /etc/realtime-ptt/key does not exist');
    expect(r.stdout + r.stderr).not.toContain(key);
  });

  it('a key pasted into the profile is redacted in the printout; a missing key is reported', async () => {
    const key = 'plainkey-without-known-shape-42424242';
    const path = tmp.file('pasted.yaml');
    writeFileSync(path, `session:\n  instructions: "the key is ${key}"\n`);
    const r = await cli(['check-config', '--config', path], { OPENAI_API_KEY: key });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('instructions: the key is [redacted]');
    expect(r.stderr).toContain('API key: found (env)');
    expect(r.stdout + r.stderr).not.toContain(key);
    const s = await cli(['print-session', '--config', path], { OPENAI_API_KEY: key });
    expect(s.stdout).toContain('the key is [redacted]');
    expect(s.stdout).not.toContain(key);
    const none = await cli(['check-config', '--config', path]);
    expect(none.code).toBe(0);
    expect(none.stderr).toMatch(/API key: no OpenAI API key is set\n {2}fix: .*OPENAI_API_KEY/);
  });

  it('an invalid file: exit 1 and every problem, no stack trace', async () => {
    const path = tmp.file('bad.yaml');
    writeFileSync(path, 'temperature: 0.7\nsession: {voice: marine, speed: 3}\ngpio: {pin: 40}\n');
    const r = await cli(['check-config', '-c', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/4 problems in the config/);
    for (const key of ['temperature', 'session.voice', 'session.speed', 'gpio.pin']) expect(r.stderr).toContain(`  - ${key}: `);
    expect(r.stderr).toMatch(/given: 40\n\s+allowed: an integer from 0 to 27/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a missing file says how to create one; --help prints usage', async () => {
    const missing = await cli(['check-config', '--config', tmp.file('absent.yaml')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/does not exist; create it from the commented example/);
    const help = await cli(['check-config', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: realtime-ptt check-config \[--config PATH\]/);
  });
});

describe('realtime-ptt print-session', () => {
  it('prints the GA session of the profile; --event wraps it in a session.update the schema accepts', async () => {
    const plain = await cli(['print-session', '--config', join(FIXTURES, 'hands-free.yaml')]);
    expect(plain.code).toBe(0);
    const session = JSON.parse(plain.stdout) as { type: string; audio: { output: { voice: unknown } } };
    expect(session.type).toBe('realtime');
    expect(session.audio.output.voice).toEqual({ id: 'voice_kitchen_01' });

    const event = await cli(['print-session', '--config', EXAMPLE, '--event']);
    expect(event.code).toBe(0);
    const update = JSON.parse(event.stdout) as { session: { audio: { input: { turn_detection: unknown } } } };
    expect(validateClientEvent(update)).toEqual([]);
    expect(update.session.audio.input.turn_detection).toBeNull();
  });

  it('an invalid profile: exit 1 with the problems; unknown options are a usage error', async () => {
    const r = await cli(['print-session', '--config', join(FIXTURES, 'beta-tutorial.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/9 problems in the config/);
    const help = await cli(['print-session', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: realtime-ptt print-session/);
    const usage = await cli(['print-session', '--bogus']);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toMatch(/bogus/);
  });
});
