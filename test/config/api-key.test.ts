import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { memoryLogger } from '../../src/core/logger.js';
import { forgetSecrets, redact } from '../../src/core/secrets.js';
import { redactConfig, resolveApiKey, type Config } from '../../src/config/index.js';
import { tempDir, valid } from './helpers.js';

const CRED_KEY = 'sk-credential-AAAAAAAAAAAAAAAA';
const FILE_KEY = 'sk-keyfile-BBBBBBBBBBBBBBBBBBBB';
const ENV_KEY = 'sk-environment-CCCCCCCCCCCCCCCC';

const tmp = tempDir();
afterEach(() => forgetSecrets());
afterAll(() => tmp.cleanup());

function setup(opts: { cred?: string; file?: string }): { env: Record<string, string>; config: Config } {
  const credDir = tmp.file(`cred-${Math.random().toString(36).slice(2)}`);
  mkdirSync(credDir);
  if (opts.cred !== undefined) writeFileSync(`${credDir}/openai-api-key`, opts.cred);
  const keyFile = tmp.file(`key-${Math.random().toString(36).slice(2)}`);
  if (opts.file !== undefined) writeFileSync(keyFile, opts.file);
  const config = valid(opts.file !== undefined ? `realtime: {apiKeyFile: "${keyFile}"}` : '');
  return { env: { CREDENTIALS_DIRECTORY: credDir, OPENAI_API_KEY: ENV_KEY }, config };
}

describe('resolveApiKey: credential > apiKeyFile > OPENAI_API_KEY', () => {
  it('the systemd credential wins over the key file and the environment', () => {
    const { env, config } = setup({ cred: `${CRED_KEY}\n`, file: FILE_KEY });
    expect(resolveApiKey(config, env)).toMatchObject({ ok: true, key: CRED_KEY, source: 'credential' });
  });

  it('the key file is next, trimmed', () => {
    const { env, config } = setup({ file: `  ${FILE_KEY}\n\n` });
    expect(resolveApiKey(config, env)).toMatchObject({ ok: true, key: FILE_KEY, source: 'apiKeyFile' });
  });

  it('OPENAI_API_KEY is the last resort, trimmed', () => {
    const { env, config } = setup({});
    expect(resolveApiKey(config, { ...env, OPENAI_API_KEY: ` ${ENV_KEY} ` })).toMatchObject({ ok: true, key: ENV_KEY, source: 'env' });
    expect(resolveApiKey(config, { OPENAI_API_KEY: ENV_KEY })).toMatchObject({ ok: true, source: 'env' });
  });

  it('no key anywhere: NO_API_KEY naming all three places', () => {
    const r = resolveApiKey(valid(''), { OPENAI_API_KEY: '  ' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('NO_API_KEY');
    expect(r.error.hint).toMatch(/credential openai-api-key/);
    expect(r.error.hint).toMatch(/realtime\.apiKeyFile/);
    expect(r.error.hint).toMatch(/OPENAI_API_KEY/);
  });

  it('a configured key file that is missing, unreadable or empty is an error, not a silent fall-through', () => {
    const missing = resolveApiKey(valid(`realtime: {apiKeyFile: "${tmp.file('nope')}"}`), { OPENAI_API_KEY: ENV_KEY });
    expect(missing).toMatchObject({ ok: false, error: { code: 'API_KEY_UNREADABLE' } });
    if (!missing.ok) expect(missing.error.message).toMatch(/nope does not exist/);

    const dir = resolveApiKey(valid(`realtime: {apiKeyFile: "${tmp.dir}"}`), {});
    expect(dir).toMatchObject({ ok: false, error: { code: 'API_KEY_UNREADABLE', context: { errno: 'EISDIR' } } });

    const { env, config } = setup({ file: '\n' });
    expect(resolveApiKey(config, env)).toMatchObject({ ok: false, error: { code: 'API_KEY_EMPTY' } });
  });

  it('the key found is registered: logs and printed text never show it', () => {
    const key = 'plain-key-without-sk-prefix-123456';
    const r = resolveApiKey(valid(''), { OPENAI_API_KEY: key });
    expect(r.ok).toBe(true);
    const log = memoryLogger();
    log.info('connecting', { header: `Authorization: ${key}`, nested: { key } });
    expect(log.lines.join('\n')).not.toContain(key);
    expect(redact(`x ${key} y`)).toBe('x [redacted] y');
  });
});

describe('redactConfig', () => {
  it('hides a registered key pasted anywhere in the config, leaves everything else', () => {
    const key = 'pasted-secret-value-987654321';
    resolveApiKey(valid(''), { OPENAI_API_KEY: key });
    const config = valid(`session:\n  instructions: "my key is ${key}"\n  tools: [{type: function, name: f, description: "token ${key}"}]`);
    const printed = JSON.stringify(redactConfig(config));
    expect(printed).not.toContain(key);
    expect(redactConfig(config).session.instructions).toBe('my key is [redacted]');
    expect(redactConfig(config).gpio).toEqual(config.gpio);
    expect(config.session.instructions).toContain(key); // the config in force is untouched
  });

  it('key-shaped strings are hidden even if never registered', () => {
    const config = valid('session: {instructions: "sk-proj-abcdefghijklmnop"}');
    expect(redactConfig(config).session.instructions).toBe('[redacted]');
  });
});
