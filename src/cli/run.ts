/**
 * realtime-ptt run [--config PATH]: the service entry point. Loads the config, starts the
 * daemon, and turns signals into its lifecycle: SIGTERM/SIGINT stop it (hard deadline), SIGHUP
 * reloads the config file.
 */
import { createLogger } from '../core/logger.js';
import { runDaemon } from '../daemon/main.js';
import { CONFIG_OPTION, configPathFrom, loadConfigOrReport, parseCommandArgs, type CliCommand } from './command.js';

const USAGE = `usage: realtime-ptt run [--config PATH]

Runs the daemon in the foreground (systemd starts it this way). Logs go to stdout: one JSON
object a line for the journal, readable lines on a terminal (log.format).

signals:
  SIGTERM, SIGINT  stop (within 2 s; exit 128+signal if cleanup hangs)
  SIGHUP           re-read the config file and apply what changed (systemctl reload)

options:
  -c, --config PATH  config file (default: $REALTIME_PTT_CONFIG or /etc/realtime-ptt/config.yaml)
  -h, --help         show this help
`;

/** EX_CONFIG from sysexits.h: the unit can list it in RestartPreventExitStatus. */
export const EXIT_CONFIG = 78;

export const command: CliCommand = {
  async run(argv) {
    const args = parseCommandArgs(argv, { usage: USAGE, options: { ...CONFIG_OPTION } });
    if (!args) return 0;
    const configPath = configPathFrom(args.values);
    const config = await loadConfigOrReport(configPath);
    if (!config) return EXIT_CONFIG;
    const logger = createLogger({ level: config.log.level, ...(config.log.format === 'auto' ? {} : { format: config.log.format }) });
    return runDaemon({ configPath, config, logger, env: process.env });
  },
};
