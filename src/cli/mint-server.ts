/**
 * realtime-ptt mint-server: the fleet's key holder (see src/fleet/mint-server.ts), and
 * `realtime-ptt mint-server hash-token --device NAME` to make a device token and its line.
 */
import { readFileSync } from 'node:fs';
import { resolveApiKeyFrom } from '../config/api-key.js';
import { PttError } from '../core/errors.js';
import { createLogger, type LogLevel } from '../core/logger.js';
import { isPlainObject } from '../core/guards.js';
import { MintServer } from '../fleet/mint-server.js';
import { generateToken, tokenLine } from '../fleet/tokens.js';
import { parseCommandArgs, type CliCommand } from './command.js';

export const DEFAULT_TOKENS_FILE = '/etc/realtime-ptt/mint-tokens';

const USAGE = `usage: realtime-ptt mint-server [options]
       realtime-ptt mint-server hash-token --device NAME [--token-stdin]

Holds the one OpenAI API key of a fleet and mints ephemeral client secrets for devices that
present their own token (POST /v1/realtime/client_secrets, Authorization: Bearer <token>).
Devices set realtime.bootstrap: client-secret, realtime.mintUrl and their token
(credential device-token or realtime.deviceTokenFile) and hold no API key.

The key: systemd credential openai-api-key, --key-file, or OPENAI_API_KEY (never argv).
Prints the mint URL on stdout; logs go to stderr. SIGHUP re-reads the tokens file (so does
any change to it); SIGTERM/SIGINT stop.

options:
      --tokens FILE          device tokens, one '<device> sha256:<hex>' a line (default ${DEFAULT_TOKENS_FILE})
      --host H               address to listen on (default 127.0.0.1: put a TLS proxy in front, or use --tls-*)
  -p, --port N               TCP port (default 8443; 0 picks a free one)
      --tls-cert FILE        serve HTTPS with this PEM certificate (with --tls-key)
      --tls-key FILE         PEM private key of --tls-cert
      --upstream URL         Realtime REST base (default https://api.openai.com/v1)
      --key-file FILE        file holding the API key (after the credential)
      --impose-session FILE  JSON GA session object used for every device instead of its own
      --rate N               mints a device may make per minute (default 10)
      --burst N              mints a device may make at once (default 5)
      --log-level L          debug | info | warn | error (default info)
  -h, --help                 show this help

hash-token makes a new token (or hashes one read from stdin with --token-stdin) and prints the
line for the tokens file and the token for the device.
`;

function whole(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max)
    throw new PttError('USAGE', `--${name} must be a whole number from 0 to ${max}, got '${value}'`);
  return Number(value);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new PttError('USAGE', `${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'EIO'})`);
  }
}

async function hashToken(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, { usage: USAGE, options: { device: { type: 'string' }, 'token-stdin': { type: 'boolean' } } });
  if (!args) return 0;
  const device = args.values.device;
  if (!device) throw new PttError('USAGE', `hash-token needs --device NAME\n\n${USAGE}`);
  let token = generateToken();
  if (args.values['token-stdin']) {
    token = readFileSync(0, 'utf8').trim();
    if (token.length < 20) throw new PttError('USAGE', 'the token on stdin is shorter than 20 characters; let hash-token make one');
  }
  const line = tokenLine(device, token);
  process.stdout.write(
    `# line for the tokens file (then: systemctl reload realtime-ptt-mint):\n${line}\n` +
      (args.values['token-stdin']
        ? ''
        : `# token for the device ${device} (its credential device-token or realtime.deviceTokenFile); keep no other copy:\n${token}\n`),
  );
  return 0;
}

export const command: CliCommand = {
  async run(argv) {
    if (argv[0] === 'hash-token') return hashToken(argv.slice(1));
    const args = parseCommandArgs(argv, {
      usage: USAGE,
      options: {
        tokens: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string', short: 'p' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        upstream: { type: 'string' },
        'key-file': { type: 'string' },
        'impose-session': { type: 'string' },
        rate: { type: 'string' },
        burst: { type: 'string' },
        'log-level': { type: 'string' },
      },
    });
    if (!args) return 0;
    const v = args.values;
    const level = (v['log-level'] ?? 'info') as LogLevel;
    if (!['debug', 'info', 'warn', 'error'].includes(level))
      throw new PttError('USAGE', `--log-level must be debug, info, warn or error, got '${level}'`);
    if (Boolean(v['tls-cert']) !== Boolean(v['tls-key'])) throw new PttError('USAGE', '--tls-cert and --tls-key go together');
    const upstream = v.upstream ?? 'https://api.openai.com/v1';
    let up: URL;
    try {
      up = new URL(upstream);
    } catch {
      throw new PttError('USAGE', `--upstream '${upstream}' is not a URL`);
    }
    if (up.protocol !== 'https:' && !(up.protocol === 'http:' && /^(localhost|127(?:\.\d+){3}|\[::1\])$/.test(up.hostname))) {
      throw new PttError('USAGE', `--upstream must be https:// (http:// only to a loopback host): the key would travel in clear text`);
    }
    let imposedSession: Record<string, unknown> | undefined;
    if (v['impose-session']) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readText(v['impose-session'], 'session file'));
      } catch (err) {
        if (err instanceof PttError) throw err;
        throw new PttError('USAGE', `--impose-session ${v['impose-session']} is not JSON`, {
          hint: 'write the GA session object, e.g. from `realtime-ptt print-session`',
        });
      }
      if (!isPlainObject(parsed)) throw new PttError('USAGE', `--impose-session ${v['impose-session']} must hold a JSON object`);
      imposedSession = parsed;
    }
    const key = resolveApiKeyFrom(v['key-file'] ?? null, process.env);
    if (!key.ok) throw key.error;
    const logger = createLogger({ level, sink: process.stderr, format: process.stderr.isTTY ? 'pretty' : 'json' });
    const server = new MintServer({
      apiKey: key.key,
      upstream,
      tokensFile: v.tokens ?? DEFAULT_TOKENS_FILE,
      logger,
      host: v.host ?? '127.0.0.1',
      port: whole('port', v.port, 8443, 65535),
      ...(v['tls-cert'] && v['tls-key']
        ? { tls: { cert: readText(v['tls-cert'], 'certificate'), key: readText(v['tls-key'], 'TLS key') } }
        : {}),
      ...(imposedSession ? { imposedSession } : {}),
      rate: { perMinute: Math.max(1, whole('rate', v.rate, 10, 10_000)), burst: Math.max(1, whole('burst', v.burst, 5, 10_000)) },
    });
    await server.start();
    process.stdout.write(`${server.url}\n`);
    const onHup = () => void server.reload();
    process.on('SIGHUP', onHup);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    process.off('SIGHUP', onHup);
    await server.stop();
    logger.info('mint server stopped', { minted: server.minted });
    return 0;
  },
};
