/**
 * realtime-ptt check-config [--config PATH] [--json]: prints the effective config with
 * secrets redacted and exits 0, or prints every problem and exits 1.
 */
import { stringify } from 'yaml';
import { redactConfig, resolveApiKey } from '../config/index.js';
import { redact } from '../core/secrets.js';
import { CONFIG_OPTION, configPathFrom, loadConfigOrReport, parseCommandArgs, type CliCommand } from './command.js';

const USAGE = `usage: realtime-ptt check-config [--config PATH] [--json]

Validates the config file and prints the effective config (file + defaults + environment
overrides) with secrets redacted, and says where the API key comes from (never the key).
Exit status 0 when valid, 1 with every problem listed. A missing key is reported, not an error.

options:
  -c, --config PATH  config file (default: $REALTIME_PTT_CONFIG or /etc/realtime-ptt/config.yaml)
      --json         print JSON instead of YAML
  -h, --help         show this help
`;

export const command: CliCommand = {
  async run(argv) {
    const args = parseCommandArgs(argv, { usage: USAGE, options: { ...CONFIG_OPTION, json: { type: 'boolean' } } });
    if (!args) return 0;
    const path = configPathFrom(args.values);
    const config = await loadConfigOrReport(path);
    if (!config) return 1;
    // Resolving the key registers it as a secret, so a key pasted into any value is redacted below.
    const key = resolveApiKey(config, process.env);
    const printable = redactConfig(config);
    const text = args.values.json ? `${JSON.stringify(printable, null, 2)}\n` : stringify(printable, { lineWidth: 0 });
    process.stdout.write(redact(text));
    process.stderr.write(`${path}: config is valid\n`);
    process.stderr.write(
      key.ok
        ? `API key: found (${key.source}${key.path ? ` ${key.path}` : ''})\n`
        : `API key: ${key.error.message}\n  fix: ${key.error.hint ?? ''}\n`,
    );
    return 0;
  },
};
