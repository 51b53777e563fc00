/**
 * `npm run demo`: the whole product with no Pi, no microphone and no API key. Starts the local
 * simulator, writes a temporary config (virtual button, a generated WAV as the microphone, a WAV
 * file as the speaker), runs the real daemon (`node dist/cli.js run`), and plays a scripted
 * conversation through the control socket: a question, a question whose answer is interrupted
 * by a barge-in, a tap, and (on the simulator) a question the model answers with a tool: a
 * 3-second timer that goes off, rings and is announced. Prints the states, the transcripts, the
 * tool calls and every turn's timings.
 *
 *   node dist/demo/run-demo.js [--real] [--input speech.wav] [--out DIR]
 *
 * --real talks to the OpenAI Realtime API instead (OPENAI_API_KEY must be set; the key is handed
 * to the daemon in a 0600 file, never in its arguments or environment).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { encodeWav, loadPcm } from '../audio/index.js';
import { describeError, PttError } from '../core/errors.js';
import { RealtimeSimulator } from '../simulator/index.js';
import { FILE_INPUT_PREFIX, WAV_OUTPUT_PREFIX } from '../daemon/audio-parts.js';
import { DaemonProcess, type LogRecord } from './daemon-process.js';
import { synthesizeSpeech } from './speech.js';

const USAGE = `usage: npm run demo [-- --real] [-- --input speech.wav] [-- --out DIR]

  --real        talk to the OpenAI Realtime API (needs OPENAI_API_KEY) instead of the local simulator
  --input FILE  the "microphone": a 24 kHz mono 16-bit WAV (default: generated speech-like sound)
  --out DIR     where replies.wav and transcripts.jsonl go (default: ./demo-output)
`;

const SIM_KEY = 'sk-demo-local-simulator-key-0000';
const HOLD_MS = 1_500;

const t0 = performance.now();
const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(2).padStart(6)}s]`;
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function timings(r: LogRecord): string {
  const ms = (k: string) => (typeof r[k] === 'number' ? `${r[k]} ms` : 'n/a');
  return [
    `press->first append ${ms('pressToFirstAppendMs')}`,
    `release->commit ${ms('releaseToCommitMs')}`,
    `commit->first audio ${ms('commitToFirstDeltaMs')}`,
    `first audio->DAC ${ms('firstDeltaToDacMs')}`,
    `played ${ms('playedMs')}`,
    String(r.outcome),
  ].join(', ');
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: { real: { type: 'boolean' }, input: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    say(USAGE);
    return 0;
  }
  const real = args.values.real === true;
  const apiKey = real ? process.env.OPENAI_API_KEY : SIM_KEY;
  if (real && !apiKey) {
    throw new PttError('NO_API_KEY', '--real needs OPENAI_API_KEY in the environment', {
      hint: 'export OPENAI_API_KEY=sk-... and run again, or leave out --real to use the local simulator',
    });
  }
  const outDir = resolve(args.values.out ?? 'demo-output');
  mkdirSync(outDir, { recursive: true });
  const repliesWav = join(outDir, 'replies.wav');
  const transcripts = join(outDir, 'transcripts.jsonl');
  rmSync(transcripts, { force: true });

  const dir = mkdtempSync(join(tmpdir(), 'ptt-demo-'));
  const sim = real ? undefined : new RealtimeSimulator({ port: 0, apiKey: SIM_KEY, replyMs: 2_500, pace: 'realtime' });
  let daemon: DaemonProcess | undefined;
  try {
    // The microphone: the given recording, or generated speech-like sound, then silence.
    const input = join(dir, 'microphone.wav');
    if (args.values.input) {
      if (!existsSync(args.values.input))
        throw new PttError('DEMO_INPUT', `no such file: ${args.values.input}`, { hint: 'give a 24 kHz mono 16-bit WAV with --input' });
      writeFileSync(input, encodeWav(await loadPcm(args.values.input)));
    } else {
      writeFileSync(input, encodeWav(synthesizeSpeech(60_000)));
    }
    const keyFile = join(dir, 'api-key');
    writeFileSync(keyFile, `${apiKey}\n`, { mode: 0o600 });
    chmodSync(keyFile, 0o600);

    if (sim) await sim.start();
    const url = sim ? sim.url : 'wss://api.openai.com/v1/realtime';
    say(
      sim
        ? `realtime-ptt demo: local Realtime simulator at ${url} (no API key, no sound card, no Pi)`
        : `realtime-ptt demo: talking to ${url}`,
    );

    const configPath = join(dir, 'config.yaml');
    const socketPath = join(dir, 'control.sock');
    writeFileSync(
      configPath,
      stringify({
        realtime: { url, apiKeyFile: keyFile },
        session: { instructions: 'You are a friendly voice assistant in a demo. Answer in one or two short sentences.', voice: 'marin' },
        audio: { input: { device: `${FILE_INPUT_PREFIX}${input}` }, output: { device: `${WAV_OUTPUT_PREFIX}${repliesWav}` } },
        gpio: { backend: 'virtual' },
        control: { socket: socketPath },
        state: { dir: join(dir, 'state') },
        log: { level: 'debug', format: 'json', transcriptFile: transcripts },
      }),
    );

    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.OPENAI_API_KEY; // the daemon reads the key file
    let lastState = '';
    daemon = new DaemonProcess({
      configPath,
      socketPath,
      env,
      onRecord: (r) => {
        if (r.component === 'conductor' && r.msg === 'state' && r.state !== lastState) {
          lastState = String(r.state);
          say(`  ${stamp()} state: ${lastState}`);
        } else if (r.level === 'error' || (r.level === 'warn' && r.component !== 'audio')) {
          say(`  ${stamp()} ${r.level}: ${r.msg}`);
        }
      },
    });
    say(`${stamp()} daemon started (pid ${daemon.child.pid}); waiting for the device profile to be verified`);
    await daemon.waitForControl(20_000);
    await daemon.waitFor((r) => r.msg === 'profile verified', 'the profile verified', 20_000);
    let shown = 0;
    const showTranscripts = async () => {
      await sleep(real ? 1_500 : 200); // the user's transcription may trail the answer
      if (!existsSync(transcripts)) return;
      const lines = readFileSync(transcripts, 'utf8').split('\n').filter(Boolean);
      for (const line of lines.slice(shown)) {
        const t = JSON.parse(line) as { role: string; text: string; cut?: boolean; heardMs?: number } & Record<string, unknown>;
        if (t.role === 'tool') {
          say(`    tool     : ${t.tool} ${t.arguments} -> ${t.outcome} (${t.outputBytes} bytes in ${t.durationMs} ms)`);
          continue;
        }
        say(`    ${t.role === 'user' ? 'you      ' : 'assistant'}: ${t.text}${t.cut ? `  [cut: heard the first ${t.heardMs} ms]` : ''}`);
      }
      shown = lines.length;
    };
    const outcomes: string[] = [];
    const report = (label: string, r: LogRecord) => {
      outcomes.push(String(r.outcome));
      say(`  ${label}: ${timings(r)}${r.reason ? ` (${r.reason})` : ''}`);
    };
    const timeout = real ? 30_000 : 15_000;

    say(`\n${stamp()} turn 1: press, speak for ${HOLD_MS / 1000} s, release`);
    let next = daemon.nextTurn(timeout);
    await daemon.control('press');
    await sleep(HOLD_MS);
    await daemon.control('release');
    report('turn 1', await next);
    await showTranscripts();

    say(`\n${stamp()} turn 2: ask again, and interrupt the answer after 0.8 s (barge-in)`);
    const answered = daemon.nextTurn(timeout);
    await daemon.control('press');
    await sleep(HOLD_MS);
    const mark = daemon.records.length;
    await daemon.control('release');
    await daemon.waitFor((r) => r.component === 'conductor' && r.msg === 'state' && r.state === 'speaking', 'the answer', timeout, mark);
    await sleep(800);
    say(`  ${stamp()} press while it speaks`);
    await daemon.control('press');
    const cut = await answered;
    report('turn 2', cut);
    const cutLine = daemon.find((r) => r.msg === 'answer cut').at(-1);
    if (cutLine)
      say(
        `  cut after ${cutLine.playedMs} ms of ${cutLine.receivedMs} ms received${cutLine.truncated ? `; told the server: truncate ${JSON.stringify(cutLine.truncated)}` : ''}`,
      );
    next = daemon.nextTurn(timeout);
    await sleep(HOLD_MS);
    await daemon.control('release');
    report('turn 3 (the barge-in question)', await next);
    await showTranscripts();

    say(`\n${stamp()} turn 4: a short tap (nothing is asked)`);
    next = daemon.nextTurn(timeout);
    await daemon.control('tap 80');
    report('turn 4', await next);

    if (sim) {
      say(`\n${stamp()} turn 5: ask for a 3-second tea timer (the simulated model calls set_timer)`);
      sim.queueToolCalls([{ name: 'set_timer', arguments: { name: 'tea', seconds: 3 } }]);
      const since = daemon.records.length;
      next = daemon.nextTurn(timeout);
      await daemon.control('press');
      await sleep(HOLD_MS);
      await daemon.control('release');
      const toolTurn = await next;
      report('turn 5', toolTurn);
      for (const c of (toolTurn.tools ?? []) as Array<Record<string, unknown>>)
        say(`  tool call: ${c.tool} ${c.arguments} -> ${c.outcome} in ${c.durationMs} ms (${c.outputBytes} bytes of output)`);
      await showTranscripts();
      const fired = await daemon.waitFor((r) => r.msg === 'timer went off' && r.name === 'tea', 'the tea timer', timeout, since);
      say(`  ${stamp()} the timer "${fired.name}" went off: the alarm rings and the LED flickers until a press`);
      const announced = await daemon.waitFor((r) => r.msg === 'turn' && r.mode === 'say', 'the timer announcement', timeout, since);
      report('announcement', announced);
      await showTranscripts();
      say(`  ${stamp()} a tap stops the alarm (it starts no turn)`);
      await daemon.control('tap 100');
      await daemon.waitFor((r) => r.msg === 'alarm stopped', 'the alarm to stop', 5_000, since);
      say(`  ${stamp()} alarm stopped`);
    }

    say(`\n${stamp()} stopping the daemon (SIGTERM)`);
    const exit = await daemon.stop('SIGTERM');
    daemon = undefined;
    say(`  exited with code ${exit.code} in ${exit.ms} ms`);
    say(`\nreplies (and earcons) written to ${repliesWav}`);
    say(`transcripts written to ${transcripts}`);
    const expected = real
      ? ['complete', 'cut|complete', 'complete', 'tap']
      : ['complete', 'cut', 'complete', 'tap', 'complete', 'complete'];
    const ok = exit.code === 0 && expected.every((e, i) => e.split('|').includes(outcomes[i] ?? ''));
    if (!ok) {
      say(`\nthe demo did not go as scripted: turn outcomes ${outcomes.join(', ')} (expected ${expected.join(', ')})`);
      return 1;
    }
    say('\ndemo finished: every step went as scripted');
    return 0;
  } finally {
    if (daemon) await daemon.stop('SIGKILL');
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`demo: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
