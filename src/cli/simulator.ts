/**
 * realtime-ptt simulator: runs the local Realtime-protocol simulator until SIGINT/SIGTERM.
 * The WebSocket URL goes to stdout (one line, for scripts); connection logs go to stderr.
 */
import { PttError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { applyFaultSpec, FAULT_NAMES } from '../simulator/fault-spec.js';
import { parseToolCallSpec } from '../simulator/tool-call-spec.js';
import { DEFAULT_PACE, parsePace, RealtimeSimulator, type FaultPlan, type Pace } from '../simulator/index.js';
import { parseCommandArgs, type CliCommand } from './command.js';

const USAGE = `usage: realtime-ptt simulator [--port N] [--host H] [--fault NAME=VALUE ...] [--reply-ms N] [--pace N|realtime|instant]
                           [--tool-call NAME=JSON ...]

Runs a local server that speaks OpenAI's GA Realtime protocol (WebSocket at /v1/realtime,
POST /v1/realtime/client_secrets) for tests and demos. Prints its URL, logs connections,
and runs until interrupted.

options:
  -p, --port N          TCP port (default 0: a free one)
      --host H          address to listen on (default 127.0.0.1)
      --fault NAME=VAL  inject a fault on every connection; repeatable. Names:
                        ${FAULT_NAMES.join(', ')}
                        e.g. --fault dropAfterEvents=5 --fault closeAfterMs=60000:1001
      --tool-call NAME=JSON
                        the first response calls this function with these arguments (a JSON
                        object; a bare NAME is {}) instead of speaking; repeatable: several
                        calls in that one response. The answer after their outputs is spoken.
                        e.g. --tool-call 'set_timer={"seconds":3}' --tool-call get_local_time
      --reply-ms N      length of each synthesized spoken reply (default 1500)
      --delta-ms N      audio per response.output_audio.delta (default 100)
      --pace P          how fast reply audio is streamed: a multiple of real time (default 4,
                        like the real server), realtime (1x) or instant (as fast as possible)
      --realtime        the same as --pace realtime
      --log-level L     debug | info | warn | error (default info)
  -h, --help            show this help

Authentication: with SIMULATOR_API_KEY set in the environment, clients must send that key
(Authorization: Bearer or api-key); otherwise any key is accepted.
`;

function whole(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new PttError('USAGE', `--${name} must be a whole number, got '${value}'\n\n${USAGE}`);
  return Number(value);
}

export const command: CliCommand = {
  async run(argv) {
    const args = parseCommandArgs(argv, {
      usage: USAGE,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        fault: { type: 'string', multiple: true },
        'tool-call': { type: 'string', multiple: true },
        'reply-ms': { type: 'string' },
        'delta-ms': { type: 'string' },
        pace: { type: 'string' },
        realtime: { type: 'boolean' },
        'log-level': { type: 'string' },
      },
    });
    if (!args) return 0;
    const v = args.values;
    const level = v['log-level'] ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level))
      throw new PttError('USAGE', `--log-level must be debug, info, warn or error, got '${level}'`);
    const port = whole('port', v.port, 0);
    if (port > 65535) throw new PttError('USAGE', `--port must be at most 65535, got ${port}`);
    if (v.realtime && v.pace !== undefined && v.pace !== 'realtime')
      throw new PttError('USAGE', `--realtime and --pace ${v.pace} contradict each other; give one\n\n${USAGE}`);
    let pace: Pace = v.realtime ? 'realtime' : DEFAULT_PACE;
    if (v.pace !== undefined) {
      const parsed = parsePace(v.pace);
      if (parsed === undefined)
        throw new PttError(
          'USAGE',
          `--pace must be a positive number (a multiple of real time), realtime or instant, got '${v.pace}'\n\n${USAGE}`,
        );
      pace = parsed;
    }
    let faults: FaultPlan = {};
    for (const spec of v.fault ?? []) faults = applyFaultSpec(faults, spec);
    const calls = (v['tool-call'] ?? []).map(parseToolCallSpec);
    const logger = createLogger({ level: level as 'info', sink: process.stderr, format: process.stderr.isTTY ? 'pretty' : 'json' });
    const sim = new RealtimeSimulator({
      port,
      host: v.host ?? '127.0.0.1',
      replyMs: whole('reply-ms', v['reply-ms'], 1500),
      deltaMs: Math.max(1, whole('delta-ms', v['delta-ms'], 100)),
      pace,
      faults,
      ...(calls.length ? { toolCalls: [calls] } : {}),
      logger,
      maxRecordedFrames: 10_000,
      // From the environment, never argv: a key on the command line shows up in ps.
      ...(process.env.SIMULATOR_API_KEY ? { apiKey: process.env.SIMULATOR_API_KEY } : {}),
    });
    await sim.start();
    process.stdout.write(`${sim.url}\n`);
    if (calls.length) logger.info('the first response calls functions', { calls });
    if (Object.keys(faults).length) logger.info('faults on every connection', { faults });
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    await sim.stop();
    logger.info('simulator stopped', { connections: sim.connections.length, frames: sim.frames.length });
    return 0;
  },
};
