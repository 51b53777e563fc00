/**
 * RealtimeSession lifecycle against the real simulator: persistent and on-demand connections,
 * reconnect with backoff, refusals (401/403, 4000), dead peers, rotation before expiry and stop().
 * The client-secret bootstrap and live profile changes are in secrets-profiles.test.ts.
 *
 * No wall-clock assertions: everything is checked through events, their order, counts and
 * messages. The few short sleeps only give a wrong reconnect the chance to happen.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from '../../src/realtime/index.js';
import { PROFILE, startRelay, stopRigs, when, type Relay } from './harness.js';
import { clientTypes, KEY, setup, sleep, tone, verifiedCount, waitingDelays, WRONG_KEY } from './lifecycle-helpers.js';

afterEach(async () => {
  vi.restoreAllMocks();
  await stopRigs();
});

function indexOf(timeline: string[], entry: string): number {
  const i = timeline.indexOf(entry);
  if (i < 0) throw new Error(`'${entry}' not in timeline: ${timeline.join(' ')}`);
  return i;
}

// ---- connection modes --------------------------------------------------------------------------

describe('connection: persistent', () => {
  it('connects and verifies at start without any audio, then stays connected', async () => {
    const h = await setup({ connection: 'persistent', timeouts: { idleCloseMs: 30 } });
    await h.session.start();
    const [info] = await when(h, 'verified');
    expect(info).toMatchObject({ bootstrap: 'session-update', attempts: 1, updatesSent: 1 });
    expect(info.sessionId).toMatch(/^sess_/);
    expect(h.states.map(([s]) => s)).toEqual(['connecting', 'verifying', 'ready']);
    expect(h.session.verified).toBe(true);
    expect(clientTypes(h.sim, 0)).toEqual(['session.update']);
    expect(h.sim.framesOf('session.update')[0]!.event.session).toEqual(PROFILE);
    // idleCloseMs is an on-demand setting: a persistent session stays warm past it.
    await sleep(200);
    expect(h.session.state).toBe('ready');
    expect(h.sim.connections).toHaveLength(1);
    expect(h.sim.connections[0]!.closedWith).toBeUndefined();
    expect(h.errors).toEqual([]);
  });
});

describe('connection: on-demand', () => {
  it('opens nothing until the first audio, verifies before any append, closes when idle, and verifies again on the next audio', async () => {
    const h = await setup({ connection: 'on-demand', timeouts: { idleCloseMs: 80 } });
    await h.session.start();
    expect(h.states).toEqual([['idle', 'on-demand: connects on the first audio']]);
    await sleep(150);
    expect(h.sim.connections).toHaveLength(0);

    const first = tone(300, 1);
    expect(h.session.appendAudio(first)).toBe(true);
    await verifiedCount(h, 1);
    const committed = when(h, 'inputCommitted');
    expect(h.session.commit()).toEqual({ committed: true, shortTap: false, audioMs: 300 });
    expect((await committed)[0].audioMs).toBe(300);
    const [, idleDetail] = await when(h, 'state', (s) => s === 'idle');
    expect(idleDetail).toBe('closed after 80 ms idle');
    await vi.waitFor(() => expect(h.sim.connections[0]!.closedWith).toMatchObject({ code: 1000, by: 'client' }));
    expect(h.sim.connections).toHaveLength(1);

    const second = tone(200, 2);
    h.session.appendAudio(second);
    const info = await verifiedCount(h, 2);
    expect(info.attempts).toBe(1);
    h.session.commit();
    await when(h, 'inputCommitted');

    for (const c of [0, 1]) {
      const types = clientTypes(h.sim, c);
      expect(types[0]).toBe('session.update');
      // The server confirmed the profile before the first byte of audio arrived.
      expect(indexOf(h.timeline, `s${c}<session.updated`)).toBeLessThan(indexOf(h.timeline, `c${c}>input_audio_buffer.append`));
    }
    // Each connection carried only its own turn's audio.
    const bytes = (c: number) =>
      h.sim.framesOf('input_audio_buffer.append', c).reduce((n, f) => n + Buffer.from(String(f.event.audio), 'base64').length, 0);
    expect([bytes(0), bytes(1)]).toEqual([first.length, second.length]);
    expect(h.errors).toEqual([]);
  });

  it('a turn command alone opens the connection, and the idle close waits for the response to finish', async () => {
    const h = await setup({
      connection: 'on-demand',
      timeouts: { idleCloseMs: 50 },
      sim: { replyMs: 600, deltaMs: 100, pace: 'realtime' },
    });
    await h.session.start();
    h.session.createResponse();
    await verifiedCount(h, 1);
    const [done] = await when(h, 'responseDone');
    expect(done.status).toBe('completed');
    await when(h, 'state', (s) => s === 'idle');
    expect(clientTypes(h.sim, 0)).toEqual(['session.update', 'response.create']);
    expect(indexOf(h.timeline, 's0<session.updated')).toBeLessThan(indexOf(h.timeline, 'c0>response.create'));
    // A 600 ms reply is longer than idleCloseMs: the socket stayed open until response.done.
    expect(indexOf(h.timeline, 'responseDone:completed')).toBeLessThan(h.timeline.lastIndexOf('state:idle'));
    expect(h.sim.sentOf('response.output_audio.delta', 0)).toHaveLength(6);
  });
});

describe('setTiming (a config reload)', () => {
  it('new timeouts and reconnect delays take effect without a new connection', async () => {
    const h = await setup({ connection: 'on-demand', timeouts: { idleCloseMs: 60_000 }, backoff: { minMs: 10, maxMs: 20 } });
    await h.session.start();
    h.session.setTiming({ timeouts: { idleCloseMs: 40 }, backoff: { minMs: 30, maxMs: 30 } });
    h.session.appendAudio(tone(200, 1));
    await verifiedCount(h, 1);
    h.session.commit();
    const [, idleDetail] = await when(h, 'state', (s) => s === 'idle');
    expect(idleDetail).toBe('closed after 40 ms idle');

    h.sim.setFaults((i) => (i === 1 ? { dropAfterEvents: 0 } : {}));
    h.session.appendAudio(tone(200, 2));
    await verifiedCount(h, 2);
    // The one wait came from the new range: 30 ms steps, so 15 to 30 ms.
    expect(waitingDelays(h)).toHaveLength(1);
    expect(waitingDelays(h)[0]).toBeGreaterThanOrEqual(15);
    expect(waitingDelays(h)[0]).toBeLessThanOrEqual(30);
  });
});

// ---- reconnect ---------------------------------------------------------------------------------

describe('reconnect', () => {
  it('retries dropped connections with exponential backoff and jitter, and a verified session resets it', async () => {
    const h = await setup({ backoff: { minMs: 10, maxMs: 50 } });
    h.sim.setFaults((i) => (i < 4 ? { dropAfterEvents: 0 } : {}));
    await h.session.start();
    const info = await verifiedCount(h, 1);
    expect(info.attempts).toBe(5);
    expect(h.sim.connections).toHaveLength(5);
    const delays = waitingDelays(h);
    expect(delays).toHaveLength(4);
    // Step n is min(max, min * 2^n); the delay is half the step plus up to half again.
    [10, 20, 40, 50].forEach((step, n) => {
      expect(delays[n]).toBeGreaterThanOrEqual(step / 2);
      expect(delays[n]).toBeLessThanOrEqual(step);
    });
    expect(h.errors.map((e) => e.code).every((c) => c === 'REALTIME_CONNECTION_LOST' || c === 'REALTIME_CONNECT_FAILED')).toBe(true);
    expect(h.errors).toHaveLength(4);

    // A drop of the verified session starts again from the first step.
    h.sim.closeConnection(4, 1006);
    const again = await verifiedCount(h, 2);
    expect(again.attempts).toBe(1);
    const last = waitingDelays(h).at(-1)!;
    expect(last).toBeGreaterThanOrEqual(5);
    expect(last).toBeLessThanOrEqual(10);
  });

  it('close 1001 of a verified session (the 60-minute cap) reconnects at once, without a backoff wait or an error', async () => {
    const h = await setup();
    await h.session.start();
    await verifiedCount(h, 1);
    const before = h.states.length;
    h.sim.closeConnection(0, 1001, 'Session expired');
    const info = await verifiedCount(h, 2);
    const after = h.states.slice(before);
    expect(after.map(([s]) => s)).toEqual(['connecting', 'verifying', 'ready']);
    expect(after[0]![1]).toBe('server closed the session (1001: Session expired)');
    expect(info.attempts).toBe(1);
    expect(h.errors).toEqual([]);
    expect(h.sim.connections).toHaveLength(2);
  });

  it('close 1001 before verification takes the backoff, so a server that closes every session cannot cause a hot loop', async () => {
    const h = await setup();
    h.sim.setFaults((i) => (i === 0 ? { sessionUpdate: 'ignore', closeAfterMs: { ms: 0, code: 1001 } } : {}));
    await h.session.start();
    const info = await verifiedCount(h, 1);
    expect(info.attempts).toBe(2);
    expect(h.states.map(([s]) => s)).toEqual(['connecting', 'verifying', 'waiting', 'connecting', 'verifying', 'ready']);
  });
});

describe('Backoff (properties)', () => {
  /** A small deterministic PRNG (mulberry32) so a failure is reproducible. */
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('every delay lies within [step/2, step] of a doubling step capped at maxMs, for any random source', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const minMs = 1 + Math.floor(random() * 1000);
      const maxMs = minMs + Math.floor(random() * 60_000);
      const b = new Backoff({ minMs, maxMs, random: prng(seed * 7919) });
      for (let n = 0; n < 40; n++) {
        const step = Math.min(maxMs, minMs * 2 ** n);
        const d = b.next();
        expect(d).toBeGreaterThanOrEqual(Math.floor(step / 2));
        expect(d).toBeLessThanOrEqual(Math.ceil(step));
        expect(b.attempt).toBe(n + 1);
      }
      b.reset();
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(Math.floor(minMs / 2));
      expect(d).toBeLessThanOrEqual(minMs);
    }
  });

  it('jitter spreads a fleet: devices with different random sources do not retry in lockstep', () => {
    const firstRetry = new Set<number>();
    for (let seed = 1; seed <= 50; seed++) firstRetry.add(new Backoff({ minMs: 1000, maxMs: 30_000, random: prng(seed) }).next());
    expect(firstRetry.size).toBeGreaterThan(40);
  });

  it('never overflows for very many attempts', () => {
    const b = new Backoff({ minMs: 500, maxMs: 30_000, random: () => 1 });
    for (let n = 0; n < 2000; n++) expect(b.next()).toBeLessThanOrEqual(30_000);
  });
});

// ---- refusals ----------------------------------------------------------------------------------

describe('refusals', () => {
  it.each([401, 403] as const)(
    'HTTP %i at the handshake is reported as a bad key (no key in it) and retried only after slowRetryMs',
    async (status) => {
      const h = await setup({ timeouts: { slowRetryMs: 150 } });
      h.sim.setFaults((i) => (i === 0 ? { rejectHandshake: status } : {}));
      await h.session.start();
      const info = await verifiedCount(h, 1);
      expect(info.attempts).toBe(2);
      expect(h.errors).toHaveLength(1);
      const e = h.errors[0]!;
      expect(e.code).toBe('REALTIME_BAD_KEY');
      expect(e.message).toBe(`the server refused the API key (HTTP ${status} at the WebSocket handshake)`);
      expect(e.hint).toMatch(/API key/);
      // The slow delay, not a backoff step (at most 50 ms here).
      expect(waitingDelays(h)).toEqual([150]);
    },
  );

  it('a wrong API key is never retried fast', async () => {
    const h = await setup({ apiKey: WRONG_KEY, timeouts: { slowRetryMs: 60_000 } });
    await h.session.start();
    const [e] = await when(h, 'error');
    expect(e.code).toBe('REALTIME_BAD_KEY');
    expect(h.sim.connections[0]).toMatchObject({ rejectedWith: 401, authMatched: false });
    // Several backoff maximums later there is still only the one attempt.
    await sleep(250);
    expect(h.sim.connections).toHaveLength(1);
    expect(h.session.state).toBe('waiting');
    expect(waitingDelays(h)).toEqual([60_000]);
  });

  it('close 4000 is reported as a refused beta shape and retried only slowly', async () => {
    // A proxy that adds the beta header is the real-world way to get a 4000 from OpenAI.
    const h = await setup({
      timeouts: { slowRetryMs: 60_000 },
      webSocketFactory: (url, headers) =>
        new WebSocket(url, { headers: { ...headers, 'OpenAI-Beta': 'realtime=v1' }, perMessageDeflate: false }),
    });
    await h.session.start();
    const [e] = await when(h, 'error');
    expect(e.code).toBe('REALTIME_BETA_REFUSED');
    expect(e.message).toBe(
      'the server closed the connection with code 4000: it refused a beta-shaped request (beta API shape is no longer supported)',
    );
    expect(e.hint).toMatch(/OpenAI-Beta/);
    expect(h.sim.connections[0]!.closedWith).toMatchObject({ code: 4000, by: 'server' });
    await sleep(250);
    expect(h.sim.connections).toHaveLength(1);
    expect(waitingDelays(h)).toEqual([60_000]);
    expect(h.verified).toEqual([]);
  });

  it('close 4000 on a verified session is reported the same way', async () => {
    const h = await setup({ timeouts: { slowRetryMs: 100 } });
    await h.session.start();
    await verifiedCount(h, 1);
    h.sim.closeConnection(0, 4000, 'beta API shape is no longer supported');
    const [e] = await when(h, 'error');
    expect(e.code).toBe('REALTIME_BETA_REFUSED');
    await verifiedCount(h, 2);
    expect(waitingDelays(h)).toEqual([100]);
  });
});

// ---- dead peer ---------------------------------------------------------------------------------

describe('dead peer', () => {
  it('a server that accepts the socket and then never answers (not even a ping) is detected and replaced', async () => {
    const h = await setup({ timeouts: { pingMs: 60, verifyMs: 20_000 } });
    h.sim.setFaults((i) => (i === 0 ? { stall: true } : {}));
    await h.session.start();
    const [e] = await when(h, 'error');
    expect(e.code).toBe('REALTIME_DEAD_PEER');
    expect(e.message).toBe('no pong from the server within 60 ms; the connection is dead');
    const info = await verifiedCount(h, 1);
    expect(info.attempts).toBe(2);
    expect(h.sim.connections[0]!.closedWith).toMatchObject({ by: 'client' });
  });

  it('a verified connection that goes silent (network black hole, no FIN) is detected by ping/pong and replaced', async () => {
    let proxy: Relay | undefined;
    const h = await setup({
      // Not shorter: a ping timer that fires after a long event-loop stall runs before the pong is read.
      timeouts: { pingMs: 250, verifyMs: 20_000 },
      via: async (sim) => {
        proxy = await startRelay(sim.port);
        return proxy.url;
      },
    });
    await h.session.start();
    await verifiedCount(h, 1);
    proxy!.blackhole();
    const [e] = await when(h, 'error');
    expect(e.code).toBe('REALTIME_DEAD_PEER');
    const info = await verifiedCount(h, 2);
    expect(info.attempts).toBe(1);
    expect(proxy!.pairs).toBe(2);
    // Audio goes to the new connection.
    h.session.appendAudio(tone(100));
    await h.sim.waitForFrame((f) => f.type === 'input_audio_buffer.append' && f.connection === 1);
  });
});

// ---- rotation ----------------------------------------------------------------------------------

describe('rotation before expires_at', () => {
  // Connection 0 expires in 30 s and rotateBeforeMs is 60 s: its rotation is due at once.
  // Later connections get the default hour, so they are not rotated again.
  const rotating = (i: number) => (i === 0 ? { expiresInS: 30 } : {});

  it('rotates to a fresh session while idle, closing the old one cleanly', async () => {
    const h = await setup({ timeouts: { rotateBeforeMs: 60_000 } });
    h.sim.setFaults(rotating);
    await h.session.start();
    await verifiedCount(h, 2);
    expect(h.sim.connections).toHaveLength(2);
    await vi.waitFor(() => expect(h.sim.connections[0]!.closedWith).toMatchObject({ code: 1000, by: 'client' }));
    expect(h.errors).toEqual([]);
    expect(h.states.map(([s]) => s)).toEqual(['connecting', 'verifying', 'ready', 'connecting', 'verifying', 'ready']);
    expect(h.states[3]![1]).toBe('rotate before the session expires');
    // The new session is verified like the first one.
    expect(clientTypes(h.sim, 1)).toEqual(['session.update']);
  });

  it('does not rotate while a response is in progress; it rotates after response.done', async () => {
    const h = await setup({ timeouts: { rotateBeforeMs: 60_000 }, sim: { replyMs: 800, deltaMs: 100, pace: 'realtime' } });
    h.sim.setFaults(rotating);
    await h.session.start();
    // A whole turn held in the gate: it goes out the moment the session is verified, which is
    // also the moment the rotation becomes due.
    h.session.appendAudio(tone(300));
    h.session.commit();
    h.session.createResponse();
    const [done] = await when(h, 'responseDone');
    expect(done.status).toBe('completed');
    await verifiedCount(h, 2);
    expect(h.sim.sentOf('response.output_audio.delta', 0)).toHaveLength(8);
    expect(h.sim.sentOf('response.done', 0)).toHaveLength(1);
    expect(indexOf(h.timeline, 's0<response.done')).toBeLessThan(indexOf(h.timeline, 'close0'));
    expect(indexOf(h.timeline, 'responseDone:completed')).toBeLessThan(indexOf(h.timeline, 'close0'));
    expect(h.sim.connections[0]!.closedWith).toMatchObject({ code: 1000, by: 'client' });
    expect(h.errors).toEqual([]);
  });
});

// ---- client-secret bootstrap -------------------------------------------------------------------

/**
 * The child's script: three sessions (persistent with ping, on-demand with its idle timer, one
 * stuck in a backoff wait), each stopped; then the process must end by itself. The key comes in
 * through the environment, never argv.
 */
const CHILD = `
const { RealtimeSession } = await import(process.env.SESSION_MODULE);
const base = { model: 'gpt-realtime', provider: 'openai', apiKey: process.env.PTT_KEY, bootstrap: 'session-update', session: JSON.parse(process.env.PROFILE), backoff: { minMs: 5000, maxMs: 5000 } };
const timeouts = { pingMs: 1000, idleCloseMs: 60000, rotateBeforeMs: 1000, closeMs: 2000 };
const once = (s, event, pred = () => true) => new Promise((resolve) => { const l = (...a) => { if (pred(...a)) { s.off(event, l); resolve(a); } }; s.on(event, l); });
const a = new RealtimeSession({ ...base, url: process.env.SIM_URL, connection: 'persistent', timeouts });
a.start(); await once(a, 'verified'); await a.stop(); console.log('stopped persistent');
const b = new RealtimeSession({ ...base, url: process.env.SIM_URL, connection: 'on-demand', timeouts });
b.start(); b.appendAudio(Buffer.alloc(4800)); await once(b, 'verified'); await b.stop(); console.log('stopped on-demand');
const c = new RealtimeSession({ ...base, url: process.env.DEAD_URL, connection: 'persistent', timeouts });
c.start(); await once(c, 'state', (s) => s === 'waiting'); await c.stop(); console.log('stopped waiting');
// A socket refused a moment ago is released on a later turn of the loop; timers are not.
await new Promise((r) => setTimeout(r, 100));
console.log('left ' + JSON.stringify(process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap')));
`;

describe('stop()', () => {
  it('closes cleanly, never reconnects, and refuses audio afterwards', async () => {
    const h = await setup({ timeouts: { pingMs: 1000 } });
    await h.session.start();
    await verifiedCount(h, 1);
    const closed = new Promise((resolve) => h.sim.once('close', resolve));
    await h.session.stop();
    await closed;
    expect(h.session.state).toBe('stopped');
    expect(h.states.at(-1)).toEqual(['stopped', 'stopped']);
    expect(h.sim.connections[0]!.closedWith).toMatchObject({ code: 1000, by: 'client' });
    await sleep(150);
    expect(h.sim.connections).toHaveLength(1);
    // Audio after stop is refused out loud, and opens nothing.
    expect(h.session.appendAudio(tone(100))).toBe(false);
    expect(h.errors.at(-1)!.code).toBe('REALTIME_STOPPED');
    expect(h.sim.connections).toHaveLength(1);
  });

  it('stop during a backoff wait cancels the retry', async () => {
    const h = await setup({ backoff: { minMs: 100, maxMs: 100 } });
    h.sim.setFaults({ dropAfterEvents: 0 });
    await h.session.start();
    await when(h, 'state', (s) => s === 'waiting');
    await h.session.stop();
    await sleep(250);
    expect(h.sim.connections).toHaveLength(1);
    expect(h.session.state).toBe('stopped');
  });

  it('leaves no timer or socket behind: a process that stops its sessions exits by itself', async () => {
    const h = await setup();
    // A port that refuses connections: the third session waits in its backoff when stopped.
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadPort = (dead.address() as { port: number }).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      env: {
        ...process.env,
        SESSION_MODULE: new URL('../../src/realtime/index.ts', import.meta.url).href,
        SIM_URL: h.sim.url,
        DEAD_URL: `ws://127.0.0.1:${deadPort}/v1/realtime`,
        PTT_KEY: KEY,
        PROFILE: JSON.stringify(PROFILE),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    // Generous: this is "does it exit at all", not a timing. A leftover timer (ping 1 s, backoff
    // 5 s, idle 60 s, rotation ~1 h) or socket would keep it alive far past this.
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running after 20 s');
      }, 20_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c ?? 'killed');
      });
    });
    expect({ code, out }).toEqual({ code: 0, out: 'stopped persistent\nstopped on-demand\nstopped waiting\nleft []\n' });
    expect(h.sim.connections).toHaveLength(2);
    await vi.waitFor(() =>
      expect(h.sim.connections.map((c) => c.closedWith)).toMatchObject([
        { code: 1000, by: 'client' },
        { code: 1000, by: 'client' },
      ]),
    );
  });
});
