/**
 * realtime-ptt doctor [--config PATH] [--connect]: checks the config, the API key (presence and
 * shape, never the key), the ALSA devices, GPIO access, the service user and, with --connect, a
 * real session with the profile verified. Prints OK/WARN/FAIL with a fix each; exit 1 on a FAIL.
 */
import { formatProblems, loadConfig, resolveApiKey } from '../config/index.js';
import { listAlsaDevices, probeDevice } from '../audio/index.js';
import { checkGpioAccess } from '../gpio/index.js';
import { exitCodeOf, formatReport, groupsOf, runDoctor } from '../doctor/run-doctor.js';
import { sessionVerifier } from '../doctor/verify-session.js';
import { checkMcpServers } from '../tools/doctor.js';
import { CONFIG_OPTION, configPathFrom, parseCommandArgs, type CliCommand } from './command.js';

const USAGE = `usage: realtime-ptt doctor [--config PATH] [--connect]

Checks what the daemon needs and prints OK, WARN or FAIL for each, with a fix:
the config file, the API key (its source and length, never the key), the ALSA capture and
playback devices (listed, and whether the configured ones open at 24 kHz mono), GPIO access,
the service user's groups, each MCP server of tools.mcpServers (connected once, its tools
listed), and with --connect a real connection with the profile verified.
Exit status 0 when nothing failed, 1 otherwise.

options:
  -c, --config PATH  config file (default: $REALTIME_PTT_CONFIG or /etc/realtime-ptt/config.yaml)
      --connect      also connect to realtime.url and verify the device profile (uses the network)
  -h, --help         show this help
`;

export const command: CliCommand = {
  async run(argv) {
    const args = parseCommandArgs(argv, { usage: USAGE, options: { ...CONFIG_OPTION, connect: { type: 'boolean' } } });
    if (!args) return 0;
    const env = process.env;
    const results = await runDoctor({
      configPath: configPathFrom(args.values),
      connect: args.values.connect === true,
      env,
      deps: {
        loadConfig,
        formatProblems,
        resolveApiKey,
        listAlsaDevices: () => listAlsaDevices(),
        probeDevice: (kind, device) => probeDevice(kind, device),
        checkGpioAccess: (gpio) => checkGpioAccess(gpio),
        groupsOf,
        ...sessionVerifier(env),
        checkMcpServers: (servers) => checkMcpServers(servers, { env, timeoutMs: 10_000 }),
      },
    });
    process.stdout.write(formatReport(results));
    return exitCodeOf(results);
  },
};
