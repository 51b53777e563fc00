/**
 * realtime-ptt print-session [--config PATH] [--event]: prints the GA session object the
 * device profile produces, exactly what session.update or a client secret carries.
 */
import { profileNames, profileToSession, resolveApiKey, withProfile } from '../config/index.js';
import { PttError } from '../core/errors.js';
import { redact } from '../core/secrets.js';
import { CONFIG_OPTION, configPathFrom, loadConfigOrReport, parseCommandArgs, type CliCommand } from './command.js';

const USAGE = `usage: realtime-ptt print-session [--config PATH] [--profile NAME] [--event]

Prints, as JSON, the GA Realtime session object that the device profile in the config file
produces: what the daemon sends in session.update (or mints a client secret with).

options:
  -c, --config PATH  config file (default: $REALTIME_PTT_CONFIG or /etc/realtime-ptt/config.yaml)
      --profile NAME the session of profile NAME (profiles.named; default: main, the session section)
      --event        print the whole session.update client event
  -h, --help         show this help
`;

export const command: CliCommand = {
  async run(argv) {
    const args = parseCommandArgs(argv, {
      usage: USAGE,
      options: { ...CONFIG_OPTION, event: { type: 'boolean' }, profile: { type: 'string' } },
    });
    if (!args) return 0;
    const path = configPathFrom(args.values);
    const config = await loadConfigOrReport(path);
    if (!config) return 1;
    resolveApiKey(config, process.env); // registers the key, so redact() below hides it anywhere
    const name = args.values.profile ?? 'main';
    const profile = withProfile(config, name);
    if (!profile)
      throw new PttError('PROFILE_UNKNOWN', `there is no profile "${name}" in ${path}`, {
        hint: `use one of: ${profileNames(config).join(', ')}`,
      });
    const session = profileToSession(profile);
    const out = args.values.event ? { type: 'session.update', session } : session;
    process.stdout.write(`${redact(JSON.stringify(out, null, 2))}\n`);
    return 0;
  },
};
