/**
 * `realtime-ptt press | release | tap [ms] | status | profile [NAME] | forget`, and the device
 * commands `say TEXT | ask TEXT | stop | volume LEVEL | mute on|off | talk` (home/commands.ts): one line to the running daemon's
 * control socket, its answer printed. The socket path comes from --socket, else from the
 * config file's control.socket (--config / REALTIME_PTT_CONFIG), else the default.
 */
import { CONFIG_OPTION, configPathFrom, parseCommandArgs, type CliCommand } from './command.js';
import { PttError } from '../core/errors.js';
import { loadConfig } from '../config/index.js';
import { sendControlCommand } from '../gpio/control-client.js';
import { parseControlLine } from '../gpio/control-protocol.js';
import { COMMAND_NAMES, COMMAND_USAGE, type CommandName } from '../home/commands.js';

const DEFAULT_SOCKET = '/run/realtime-ptt/control.sock';

const isDeviceCommand = (name: string): name is CommandName => (COMMAND_NAMES as string[]).includes(name);

function usage(name: string): string {
  if (isDeviceCommand(name)) {
    const [synopsis, what] = COMMAND_USAGE[name].split(/ \((.*)\)$/);
    return `usage: realtime-ptt ${synopsis} [--socket PATH] [--config FILE]\n\n${what ?? ''}: sent to the running daemon (the same command as on MQTT)\n\noptions:\n  --socket PATH   the control socket (default: control.socket from the config file)\n  -c, --config FILE  the config file (default $REALTIME_PTT_CONFIG or /etc/realtime-ptt/config.yaml)\n`;
  }
  const args = name === 'tap' ? ' [ms]' : name === 'profile' ? ' [NAME]' : '';
  const what: Record<string, string> = {
    press: 'press the virtual button of the running daemon (like holding the real one)',
    release: 'release the virtual button',
    tap: 'press, hold for ms (default 200), release',
    status: "print the daemon's state",
    profile: 'without NAME: print the active profile and the list; with NAME: switch to it (after an answer in progress)',
    forget: 'forget the conversation so far: the next session starts fresh',
  };
  return `usage: realtime-ptt ${name}${args} [--socket PATH] [--config FILE]\n\n${what[name] ?? ''}\n\noptions:\n  --socket PATH   the control socket (default: control.socket from the config file)\n  -c, --config FILE  the config file (default $REALTIME_PTT_CONFIG or /etc/realtime-ptt/config.yaml)\n`;
}

async function socketPath(values: { socket?: string | boolean; config?: string | boolean }): Promise<string> {
  if (typeof values.socket === 'string') return values.socket;
  const path = configPathFrom(values);
  const loaded = await loadConfig(path);
  if (loaded.ok) return loaded.config.control.socket;
  // press/status should still work when the config has an unrelated problem.
  const fallback = process.env.REALTIME_PTT_CONTROL_SOCKET || DEFAULT_SOCKET;
  process.stderr.write(`realtime-ptt: note: could not use ${path} (${loaded.problems[0]?.message ?? 'invalid'}); trying ${fallback}\n`);
  return fallback;
}

export const command: CliCommand = {
  async run(argv, invokedAs) {
    const parsed = parseCommandArgs(argv, {
      usage: usage(invokedAs),
      options: { ...CONFIG_OPTION, socket: { type: 'string' } },
      allowPositionals: invokedAs === 'tap' || invokedAs === 'profile' || isDeviceCommand(invokedAs),
    });
    if (!parsed) return 0;
    const line = [invokedAs, ...parsed.positionals].join(' ');
    // Check locally first, so a typo is a usage error (exit 2) without a daemon.
    const check = parseControlLine(line);
    if (!check.ok) throw new PttError('USAGE', `${check.error}\n\n${usage(invokedAs)}`);
    // A switch waits for the server to confirm the profile.
    const answer = await sendControlCommand(await socketPath(parsed.values), line, invokedAs === 'profile' ? 20_000 : 5_000);
    if (answer.startsWith('error:')) {
      process.stderr.write(`realtime-ptt: ${answer.slice(6).trim()}\n`);
      return 1;
    }
    process.stdout.write(`${answer}\n`);
    return 0;
  },
};
