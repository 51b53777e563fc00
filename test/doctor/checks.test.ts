import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, resolveApiKey } from '../../src/config/index.js';
import { checkApiKey, checkGpio, checkServiceUser } from '../../src/doctor/checks.js';
import { checkGpioAccess } from '../../src/gpio/index.js';
import { exitCodeOf, formatReport, groupsOf, serviceKeyFile } from '../../src/doctor/run-doctor.js';
import { registerSecret } from '../../src/core/secrets.js';

describe('doctor checks', () => {
  it('says which GPIO backend is in use and why (auto on a Pi without gpiochip falls back to rpio)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptt-doctor-gpio-'));
    writeFileSync(join(dir, 'model'), 'Raspberry Pi Zero 2 W Rev 1.0\0');
    const parsed = parseConfig('gpio: { backend: auto, pin: 17 }\n', {});
    if (!parsed.ok) throw new Error('config');
    const host = { modelPath: join(dir, 'model'), devDir: dir };
    const results = await checkGpio(parsed.config, { checkGpioAccess: (gpio) => checkGpioAccess(gpio, { host, path: dir }) });
    expect(results[0]).toEqual({
      name: 'gpio backend',
      status: 'ok',
      detail: `rpio, pin 17: Raspberry Pi Zero 2 W Rev 1.0: rpio sampling as the fallback (no ${join(dir, 'gpiochip*')}, no gpiomon on PATH (sudo apt install gpiod))`,
    });
    expect(results[1]).toMatchObject({ name: 'gpio', status: 'fail', detail: expect.stringContaining('gpiomem') });
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads group membership from the real user database', async () => {
    expect(await groupsOf('root')).toContain('root');
    expect(await groupsOf('no-such-user-ptt')).toBeUndefined();
  });

  it('the service user: missing is a warning (not installed), missing groups a failure with the usermod fix', async () => {
    expect((await checkServiceUser({ groupsOf: async () => undefined })).status).toBe('warn');
    expect(await checkServiceUser({ groupsOf: async () => ['realtime-ptt', 'audio', 'gpio'] })).toMatchObject({ status: 'ok' });
    expect(await checkServiceUser({ groupsOf: async () => ['realtime-ptt', 'audio'] })).toEqual({
      name: 'service user',
      status: 'fail',
      detail: 'realtime-ptt is not in group gpio, so it cannot open the GPIO',
      fix: 'sudo usermod -aG gpio realtime-ptt && sudo systemctl restart realtime-ptt',
    });
  });

  it('the report aligns checks, puts each fix under its failure, redacts keys, and exits 1 only on a FAIL', () => {
    registerSecret('sk-pasted-into-detail-0123456789');
    const results = [
      { name: 'config', status: 'ok' as const, detail: 'fine' },
      { name: 'api key', status: 'warn' as const, detail: 'odd: sk-pasted-into-detail-0123456789', fix: 'paste it again' },
    ];
    expect(formatReport(results)).toBe(
      'OK    config   fine\nWARN  api key  odd: [redacted]\n               fix: paste it again\n\n0 failed, 1 warnings, 1 ok\n',
    );
    expect(exitCodeOf(results)).toBe(0);
    expect(exitCodeOf([...results, { name: 'gpio', status: 'fail', detail: 'no' }])).toBe(1);
  });
});

describe('doctor api key outside systemd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptt-doctor-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const parsed = parseConfig('{}', {});
  if (!parsed.ok) throw new Error('the empty config is invalid');
  const config = parsed.config;

  it("reads the service's credential file as LoadCredential= hands it over, showing only source and length", () => {
    const key = 'sk-service-credential-0123456789abcdef';
    writeFileSync(join(dir, 'openai-api-key'), `${key}\n`, { mode: 0o600 });
    const r = checkApiKey(config, {}, resolveApiKey, serviceKeyFile(join(dir, 'openai-api-key')));
    expect(r.result).toEqual({
      name: 'api key',
      status: 'ok',
      detail: `found (credential ${join(dir, 'openai-api-key')}), ${key.length} characters`,
    });
  });

  it('a key file only root can read is a warning that says to use sudo, a missing one a failure', () => {
    const unreadable = checkApiKey(config, {}, resolveApiKey, { path: '/etc/realtime-ptt/openai-api-key', state: 'unreadable' });
    expect(unreadable.result).toMatchObject({ status: 'warn', fix: 'run sudo realtime-ptt doctor to check it' });
    const missing = checkApiKey(config, {}, resolveApiKey, serviceKeyFile(join(dir, 'nothing-here')));
    expect(missing.result).toMatchObject({ status: 'fail', detail: 'no OpenAI API key is set' });
    expect(missing.result.fix).toMatch(/LoadCredential=openai-api-key/);
  });
});
