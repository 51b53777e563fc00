/**
 * Memory across reconnects: what restoring the conversation into a new session costs (figures only).
 *
 *   npx tsx bench/memory.ts [--runs 30]   (npm run bench:memory)
 *
 * For 0 (the floor), 10 and 50 remembered turns (a question of ~60 and an answer of ~160
 * characters each, the daemon's ConversationMemory with limits high enough to keep them all):
 * a RealtimeSession is started against the simulator (in this process, 127.0.0.1) with the memory
 * as its restore source; at `verified` one 20 ms chunk of audio is appended at once. Measured:
 * - verified -> restored: `verified` to the arrival at the simulator of the first append, which
 *   the session sends only after the last restored item (0 turns: the floor, the append alone);
 * - the extra bytes on the wire: conversation.item.create frames (client -> server) and the
 *   server's conversation.item.added/.done answers (server -> client), per session.
 */
import { parseArgs } from 'node:util';
import { parseConfig, profileToSession } from '../src/config/index.js';
import { BYTES_PER_MS } from '../src/core/pcm-format.js';
import { ConversationMemory } from '../src/daemon/conversation-memory.js';
import { RealtimeSession } from '../src/realtime/index.js';
import { RealtimeSimulator } from '../src/simulator/index.js';

const { values } = parseArgs({ options: { runs: { type: 'string' } } });
const RUNS = Number(values.runs ?? 30);
const WARMUP = 3;
const KEY = 'sk-bench-memory-0123456789abcdefghij';

const loaded = parseConfig('', {});
if (!loaded.ok) throw new Error('the default config does not validate');
const PROFILE = profileToSession(loaded.config);

function memoryOf(turns: number): ConversationMemory {
  const memory = new ConversationMemory({ maxTurns: 100, maxChars: 100_000, forgetAfterMs: null });
  for (let t = 1; t <= turns; t++) {
    memory.add({ turn: t, role: 'user', text: `Question ${t}: what will the weather be like tomorrow in town?` });
    memory.add({
      turn: t,
      role: 'assistant',
      text: `Answer ${t}: tomorrow looks mild, around fourteen degrees with light wind from the west, and a chance of rain in the late afternoon.`,
    });
  }
  return memory;
}

function summary(v: number[]): string {
  const s = [...v].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return `p50 ${at(0.5).toFixed(2)}  p95 ${at(0.95).toFixed(2)}  max ${s.at(-1)!.toFixed(2)} ms`;
}

async function run(sim: RealtimeSimulator, turns: number): Promise<{ ms: number; up: number; down: number }> {
  const items = memoryOf(turns).items();
  const session = new RealtimeSession({
    url: sim.url,
    model: 'gpt-realtime',
    provider: 'openai',
    apiKey: KEY,
    bootstrap: 'session-update',
    connection: 'persistent',
    session: PROFILE,
    timeouts: { pingMs: 0, closeMs: 500 },
  });
  session.setRestore(() => items);
  const conn = sim.connections.length;
  let verifiedAt = 0;
  const arrived = new Promise<number>((resolve) => {
    const onFrame = (f: { connection: number; type: string }) => {
      if (f.connection !== conn || f.type !== 'input_audio_buffer.append') return;
      sim.off('frame', onFrame);
      resolve(performance.now());
    };
    sim.on('frame', onFrame);
  });
  session.once('verified', () => {
    verifiedAt = performance.now();
    session.appendAudio(Buffer.alloc(20 * BYTES_PER_MS, 1));
  });
  await session.start();
  const at = await arrived;
  await new Promise((r) => setTimeout(r, 20)); // the server's answers to the items arrive
  await session.stop();
  const up = sim.framesOf('conversation.item.create', conn).reduce((n, f) => n + Buffer.byteLength(f.raw), 0);
  const down = sim.sent
    .filter((f) => f.connection === conn && (f.type === 'conversation.item.added' || f.type === 'conversation.item.done'))
    .reduce((n, f) => n + Buffer.byteLength(f.raw), 0);
  return { ms: at - verifiedAt, up, down };
}

async function main(): Promise<void> {
  const sim = new RealtimeSimulator({ port: 0, apiKey: KEY, maxRecordedFrames: 50_000 });
  await sim.start();
  console.log(`memory restore after verification (${RUNS} runs after ${WARMUP} warm-up; simulator in-process on 127.0.0.1)`);
  let floor = 0;
  for (const turns of [0, 10, 50]) {
    const times: number[] = [];
    let bytes = { up: 0, down: 0 };
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const r = await run(sim, turns);
      if (i >= WARMUP) times.push(r.ms);
      bytes = { up: r.up, down: r.down };
    }
    const p50 = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
    if (turns === 0) floor = p50;
    const items = turns * 2;
    console.log(
      `  ${String(turns).padStart(2)} turns (${String(items).padStart(3)} items): verified -> first audio after the restore ${summary(times)}` +
        (turns === 0 ? '  (floor: no restore)' : `  (p50 ${(p50 / floor).toFixed(1)}x the floor, +${(p50 - floor).toFixed(2)} ms)`),
    );
    if (turns > 0)
      console.log(
        `      extra bytes per new session: ${bytes.up} up (conversation.item.create), ${bytes.down} down (item.added/.done); ${Math.round(bytes.up / items)} B up per item`,
      );
  }
  await sim.stop();
}

await main();
