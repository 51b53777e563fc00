/**
 * realtime-ptt check-config [--config PATH] [--json]: prints the effective config with
 * secrets redacted and exits 0, or prints every problem and exits 1.
 */
import { stringify } from 'yaml';
import { profileNames, redactConfig, resolveApiKey, resolveProfile, type Config } from '../config/index.js';
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
    process.stderr.write(redact(describeProfiles(config)));
    process.stderr.write(
      key.ok
        ? `API key: found (${key.source}${key.path ? ` ${key.path}` : ''})\n`
        : `API key: ${key.error.message}\n  fix: ${key.error.hint ?? ''}\n`,
    );
    return 0;
  },
};

/** One line per profile: what a person tells them apart by (voice, turn detection, follow-up) and what it overrides. */
function describeProfiles(config: Config): string {
  const lines = profileNames(config).map((name) => {
    const p = resolveProfile(config, name);
    if (!p) return `  ${name}: cannot be resolved\n`;
    const voice = typeof p.voice === 'string' ? p.voice : JSON.stringify(p.voice);
    const followUp = p.followUp.windowMs === null ? 'off' : `${p.followUp.windowMs} ms (${p.followUp.turnDetection})`;
    const over =
      name === 'main' ? 'the session section' : `overrides ${Object.keys(config.profiles.named[name] ?? {}).join(', ') || 'nothing'}`;
    const first = name === config.profiles.active ? ', active at first start' : '';
    return `  ${name}: voice ${voice}, turn detection ${p.turnDetection.type}, follow-up ${followUp}; ${over}${first}\n`;
  });
  return `profiles (switch: ${config.profiles.switchGesture}):\n${lines.join('')}`;
}
