/**
 * Slow-uplink benchmark (figures only, no assertions): what a stalled uplink costs in memory.
 *
 *   npx tsx bench/uplink.ts [--audio-s 120]
 *
 * A TCP relay on 127.0.0.1 in front of the simulator stops reading, so the client's socket fills
 * up. The microphone keeps delivering `--audio-s` seconds of audio in 20 ms pieces, faster than
 * real time (a device after a fault, or a long outage compressed). Two clients, one after the
 * other, each on its own stalled relay:
 *   session: RealtimeSession.appendAudio (bounded socket buffer, gate bounded by maxQueuedMs);
 *   bare ws: the same input_audio_buffer.append frames sent with ws.send, nothing bounding them
 *            (what the session did before back-pressure).
 * Printed: the socket's largest bufferedAmount, audio refused, and the process RSS growth.
 */
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { BYTES_PER_MS } from '../src/core/pcm-format.js';
import { RealtimeSession, type GaSessionConfig, type UplinkReport } from '../src/realtime/index.js';
import { RealtimeSimulator } from '../src/simulator/index.js';

const { values } = parseArgs({ options: { 'audio-s': { type: 'string', default: '120' } } });
const AUDIO_S = Number(values['audio-s']);
const PIECE = Buffer.alloc(20 * BYTES_PER_MS, 7);
const PIECES = Math.round((AUDIO_S * 1000) / 20);
const KEY = 'sk-bench-uplink-000000000000';
const PROFILE: GaSessionConfig = { type: 'realtime', audio: { input: { turn_detection: null } } };

async function stalledRelay(port: number): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const upstream = tcpConnect(port, '127.0.0.1');
    sockets.push(client, upstream);
    upstream.on('data', (d) => client.write(d));
    // Reads until the session is verified (the handshake and session.update), then stops.
    let seen = 0;
    client.on('data', (d) => {
      upstream.write(d);
      seen += d.length;
      if (seen > 600) client.pause();
    });
    for (const s of [client, upstream]) s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/v1/realtime`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function feed(
  send: (pcm: Buffer) => boolean,
  buffered: () => number,
): Promise<{ maxBuffered: number; refused: number; rss: number }> {
  let maxBuffered = 0;
  let refused = 0;
  let rss = process.memoryUsage().rss;
  for (let i = 0; i < PIECES; i++) {
    if (!send(PIECE)) refused += 1;
    if (i % 50 === 49) {
      maxBuffered = Math.max(maxBuffered, buffered());
      rss = Math.max(rss, process.memoryUsage().rss);
      await tick();
    }
  }
  return { maxBuffered: Math.max(maxBuffered, buffered()), refused, rss: Math.max(rss, process.memoryUsage().rss) };
}

async function main(): Promise<void> {
  const sim = new RealtimeSimulator({ apiKey: KEY });
  await sim.start();
  console.log(`uplink bench: node ${process.version}, ${AUDIO_S} s of mic audio in 20 ms pieces into a stalled uplink\n`);

  // 1. The session.
  const relay1 = await stalledRelay(sim.port);
  let ws1: WebSocket | undefined;
  const session = new RealtimeSession({
    url: relay1.url,
    model: 'gpt-realtime',
    provider: 'openai',
    apiKey: KEY,
    bootstrap: 'session-update',
    connection: 'persistent',
    session: PROFILE,
    webSocketFactory: (url, headers) => (ws1 = new WebSocket(url, { headers, perMessageDeflate: false })),
  });
  const reports: UplinkReport[] = [];
  session.on('uplink', (r) => reports.push(r));
  session.on('error', () => {});
  const verified = session.next('verified', 5000);
  await session.start();
  await verified;
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  const s = await feed(
    (pcm) => session.appendAudio(pcm),
    () => ws1?.bufferedAmount ?? 0,
  );
  console.log('session (maxBufferedBytes 128 KiB, maxQueuedMs 10 s)');
  console.log(`  socket bufferedAmount max ${(s.maxBuffered / 1024).toFixed(1)} KiB`);
  console.log(`  audio held in the gate   ${Math.round(session.queuedMs)} ms; refused ${s.refused * 20} ms`);
  console.log(`  RSS growth               ${mb(s.rss - rss0)}  (peak RSS ${mb(s.rss)})`);
  console.log(`  uplink reports           ${reports.map((r) => r.state).join(', ') || 'none'}`);
  await session.stop();
  await relay1.close();

  // 2. A bare ws client, nothing bounding what it buffers.
  const relay2 = await stalledRelay(sim.port);
  const ws2 = new WebSocket(`${relay2.url}?model=gpt-realtime`, { headers: { Authorization: `Bearer ${KEY}` }, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws2.once('open', () => resolve());
    ws2.once('error', reject);
  });
  global.gc?.();
  const rss1 = process.memoryUsage().rss;
  const b = await feed(
    (pcm) => {
      ws2.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: pcm.toString('base64') }));
      return true;
    },
    () => ws2.bufferedAmount,
  );
  console.log('\nbare ws.send (no bound)');
  console.log(`  socket bufferedAmount max ${mb(b.maxBuffered)}`);
  console.log(`  RSS growth               ${mb(b.rss - rss1)}  (peak RSS ${mb(b.rss)})`);
  console.log(
    `\nratio bufferedAmount max (bare / session): ${(b.maxBuffered / Math.max(1, s.maxBuffered)).toFixed(0)}x; RSS growth ${mb(s.rss - rss0)} vs ${mb(b.rss - rss1)}`,
  );
  ws2.terminate();
  await relay2.close();
  await sim.stop();
}

await main();
