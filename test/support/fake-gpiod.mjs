#!/usr/bin/env node
// A stand-in for libgpiod's command line tools (gpiomon, gpiodetect, gpiofind, gpioinfo, gpioset) in
// 1.x or 2.x flavour, for tests without GPIO hardware. Started through small wrapper
// scripts that FakeGpiod (fake-gpiod.ts) writes first on PATH. A gpiomon or gpioset
// connects to the test's control socket, says hello (pid, argv, env) and obeys commands:
// {"edge":"rising"|"falling","sec":N,"nsec":N} prints an edge line in the real format,
// {"die":code,"stderr":"..."} exits. Output formats are copied from libgpiod 1.6.3 and 2.x.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const dir = process.env.FAKE_GPIOD_DIR;
const [tool, ...args] = process.argv.slice(2);
const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
const major = Number(config.version.split('.')[0]);

function fail(msg, code = 1) {
  process.stderr.write(`${tool}: ${msg}\n`);
  process.exit(code);
}

if (args.includes('--version') || args.includes('-v')) {
  process.stdout.write(`${tool} (libgpiod) v${config.version}\nCopyright (C) 2017-2023 Bartosz Golaszewski\nLicense: GPL-2.0-or-later\n`);
  process.exit(0);
}

if (tool === 'gpiodetect') {
  for (const c of config.chips) process.stdout.write(`${c.name} [${c.label}] (${c.lines} lines)\n`);
  process.exit(0);
}

if (tool === 'gpiofind') {
  if (major >= 2) fail('command not found', 127);
  const found = config.lines[args[0]];
  if (!found) process.exit(1);
  process.stdout.write(`${found}\n`);
  process.exit(0);
}

if (tool === 'gpioinfo') {
  const found = config.lines[args[0]];
  if (major < 2 || !found) fail(`cannot find line '${args[0]}'`);
  process.stdout.write(`${found}\t"${args[0]}"        \tinput\n`);
  process.exit(0);
}

// gpiomon / gpioset: check the command line is one the real tool of this major accepts.
const options = args.filter((a) => a.startsWith('-'));
const positionals = args.filter((a) => !a.startsWith('-'));
const allowed =
  tool === 'gpiomon'
    ? major >= 2
      ? /^--(bias|edges|chip)=/
      : /^(--line-buffered|--bias=.*)$/
    : major >= 2
      ? /^--(chip=|toggle=\d+(us|ms|s)?(,\d+(us|ms|s)?)*$)/
      : /^--mode=signal$/; // periods as libgpiod's parse_period reads them
for (const o of options) if (!allowed.test(o)) fail(`unrecognized option '${o}'`);
const wantPositionals = major >= 2 ? 1 : 2;
if (positionals.length !== wantPositionals) fail('at least one GPIO line must be specified');
const chip = major >= 2 ? options.find((o) => o.startsWith('--chip='))?.slice(7) : positionals[0];
const offset = Number((major >= 2 ? positionals[0] : positionals[1]).split('=')[0]);
// 1.x without --line-buffered: stdout to a pipe is block-buffered, edges stay in the buffer.
const lineBuffered = major >= 2 || args.includes('--line-buffered');
let buffered = '';
function out(text) {
  if (lineBuffered) process.stdout.write(text);
  else buffered += text;
}
function exit(code) {
  if (buffered) process.stdout.write(buffered);
  process.exitCode = code;
  socket.destroy();
  process.exit(code);
}
process.on('SIGTERM', () => exit(0));

const socket = connect(join(dir, 'ctl.sock'));
socket.on('error', () => process.exit(3));
socket.write(`${JSON.stringify({ hello: tool, pid: process.pid, argv: args, env: process.env })}\n`);
let pending = '';
socket.setEncoding('utf8').on('data', (chunk) => {
  pending += chunk;
  let nl;
  while ((nl = pending.indexOf('\n')) >= 0) {
    const cmd = JSON.parse(pending.slice(0, nl));
    pending = pending.slice(nl + 1);
    if (cmd.die !== undefined) {
      if (cmd.stderr) process.stderr.write(`${tool}: ${cmd.stderr}\n`);
      exit(cmd.die);
    } else if (cmd.edge) {
      const nsec = String(cmd.nsec).padStart(9, '0');
      if (major >= 2) {
        const name = Object.entries(config.lines).find(([, v]) => v === `${chip} ${offset}`)?.[0];
        out(`${cmd.sec}.${nsec}\t${cmd.edge}\t${chip} ${offset}${name ? ` "${name}"` : ''}\n`);
      } else {
        const evname = cmd.edge === 'rising' ? ' RISING EDGE' : 'FALLING EDGE';
        out(`event: ${evname} offset: ${offset} timestamp: [${String(cmd.sec).padStart(8)}.${nsec}]\n`);
      }
    }
  }
});
socket.on('close', () => exit(0));
