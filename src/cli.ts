#!/usr/bin/env node
/**
 * realtime-ptt command line. Each subcommand lives in src/cli/<name>.ts and exports a
 * `CliCommand`; this file only dispatches, prints help, and turns failures into one
 * clear line and an exit code (never a stack trace).
 */
import { describeError } from './core/errors.js';
import { VERSION } from './core/version.js';
import type { CliCommand } from './cli/command.js';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ command: CliCommand }> }> = {
  run: { summary: 'run the daemon (the systemd service entry point)', load: () => import('./cli/run.js') },
  'check-config': { summary: 'validate the config file and print the effective config', load: () => import('./cli/check-config.js') },
  'print-session': { summary: 'print the GA session object the device profile produces', load: () => import('./cli/print-session.js') },
  doctor: { summary: 'check audio devices, GPIO access, config, key and connection', load: () => import('./cli/doctor.js') },
  simulator: { summary: 'run the local Realtime protocol simulator', load: () => import('./cli/simulator.js') },
  'mint-server': {
    summary: "mint client secrets for a fleet's devices (holds the one API key)",
    load: () => import('./cli/mint-server.js'),
  },
  press: { summary: 'press the virtual button of a running daemon', load: () => import('./cli/control.js') },
  release: { summary: 'release the virtual button of a running daemon', load: () => import('./cli/control.js') },
  tap: { summary: 'press and release the virtual button ([ms] held)', load: () => import('./cli/control.js') },
  status: { summary: 'print the state of a running daemon', load: () => import('./cli/control.js') },
  say: { summary: 'the running daemon speaks TEXT (an announcement)', load: () => import('./cli/control.js') },
  ask: { summary: 'ask the running daemon TEXT as a question; the answer is spoken', load: () => import('./cli/control.js') },
  stop: { summary: 'cut the answer playing (and drop waiting announcements)', load: () => import('./cli/control.js') },
  volume: { summary: 'set the playback volume, 0 to 1', load: () => import('./cli/control.js') },
  mute: { summary: 'mute on|off: the microphone', load: () => import('./cli/control.js') },
  talk: { summary: 'start a turn now, ended when the speaker stops talking', load: () => import('./cli/control.js') },
  'mqtt-forget': { summary: 'remove this device from Home Assistant (MQTT discovery)', load: () => import('./cli/mqtt-forget.js') },
  profile: {
    summary: 'print the active profile and the list, or switch a running daemon to [NAME]',
    load: () => import('./cli/control.js'),
  },
  forget: { summary: 'make a running daemon forget the conversation so far', load: () => import('./cli/control.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: realtime-ptt <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nrealtime-ptt <command> --help shows a command's options; realtime-ptt --version prints the version.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`realtime-ptt ${VERSION}\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`realtime-ptt: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const { command } = await entry.load();
  return command.run(rest, name);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`realtime-ptt: ${describeError(err)}\n`);
    if (process.env.REALTIME_PTT_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  },
);
