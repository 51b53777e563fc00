/**
 * Shared helpers for the RealtimeSession tests against the project's simulator: a session wired to
 * a simulator with short timeouts, one ordered log of what both sides put on the wire, the gate
 * check (no audio or turn command on a connection before that connection's profile was verified)
 * and distinct PCM patterns to check that audio arrives complete and in order.
 */
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { expect } from 'vitest';
import type { PttError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import {
  RealtimeSession,
  diffSession,
  type GaSessionConfig,
  type RealtimeSessionEvents,
  type RealtimeSessionOptions,
  type SessionState,
  type VerifiedInfo,
} from '../../src/realtime/index.js';
import { RealtimeSimulator, type FaultPlan, type SimulatorOptions } from '../../src/simulator/index.js';
import { validateClientEvent } from '../support/realtime-schema.js';

export const API_KEY = 'sk-harness-test-key-0001';

/** A push-to-talk profile as the config produces it: no server VAD, every section set. */
export const PROFILE: GaSessionConfig = {
  type: 'realtime',
  model: 'gpt-realtime',
  output_modalities: ['audio'],
  instructions: 'You are a kitchen timer. Answer in one short sentence.',
  audio: {
    input: {
      format: { type: 'audio/pcm', rate: 24000 },
      transcription: { model: 'whisper-1', language: 'en' },
      noise_reduction: { type: 'near_field' },
      turn_detection: null,
    },
    output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'cedar', speed: 1.1 },
  },
  max_output_tokens: 512,
  tools: [
    {
      type: 'function',
      name: 'set_timer',
      description: 'Starts a timer.',
      parameters: { type: 'object', properties: { seconds: { type: 'integer' } }, required: ['seconds'] },
    },
  ],
};

/** Short enough that the fault tests run in seconds; tests that wait for a verify timeout set their own verifyMs. */
export const FAST_TIMEOUTS = {
  connectMs: 2_000,
  verifyMs: 2_000,
  idleCloseMs: 60_000,
  pingMs: 0,
  slowRetryMs: 30,
  rotateBeforeMs: 0,
  secretMarginMs: 0,
  closeMs: 200,
};

/** One entry of the merged wire log: `in` = a client frame the simulator received, `out` = a frame it sent. */
export interface WireEntry {
  dir: 'in' | 'out';
  connection: number;
  type: string;
  event: Record<string, unknown>;
}

export interface Rig {
  sim: RealtimeSimulator;
  session: RealtimeSession;
  /** Every frame in the order the simulator saw or sent it (causal order, unlike `at` in whole ms). */
  wire: WireEntry[];
  /**
   * The same order as short labels, with the session's events woven in: `c0>type` a client frame
   * on connection 0, `s0<type` a frame the simulator sent, `close0`, `state:ready`, `error:CODE`,
   * `verified`, `responseDone:status`.
   */
  timeline: string[];
  errors: PttError[];
  states: Array<[SessionState, string]>;
  verified: VerifiedInfo[];
  /** The session's log (debug and up). */
  log: ReturnType<typeof memoryLogger>;
  /** Client-secret mint requests the session made. */
  mints: number;
  /** Every PCM buffer appendAudio accepted (returned true), in order. */
  accepted: Buffer[];
  /** Appends and records what was accepted. */
  append(pcm: Buffer): boolean;
  stop(): Promise<void>;
}

const rigs: Rig[] = [];

/** Commits the input and waits for the server's input_audio_buffer.committed. */
export async function commitAndWait(rig: Rig): Promise<void> {
  const committed = rig.session.next('inputCommitted', 5000);
  rig.session.commit();
  await committed;
}

export async function startRig(
  options: {
    faults?: FaultPlan | ((i: number) => FaultPlan);
    sim?: SimulatorOptions;
    session?: Partial<RealtimeSessionOptions>;
    /** Leave the session unstarted (the test appends or listens first). */
    noStart?: boolean;
    /** The URL the session connects to instead of the simulator's own (a relay in front of it). */
    via?: (sim: RealtimeSimulator) => Promise<string>;
  } = {},
): Promise<Rig> {
  const sim = new RealtimeSimulator({ replyMs: 300, apiKey: API_KEY, ...options.sim });
  if (options.faults) sim.setFaults(options.faults);
  await sim.start();
  const wire: WireEntry[] = [];
  const timeline: string[] = [];
  sim.on('frame', (f) => {
    wire.push({ dir: 'in', connection: f.connection, type: f.type, event: f.event });
    timeline.push(`c${f.connection}>${f.type}`);
  });
  sim.on('sent', (f) => {
    wire.push({ dir: 'out', connection: f.connection, type: f.type, event: f.event });
    timeline.push(`s${f.connection}<${f.type}`);
  });
  sim.on('close', (r) => timeline.push(`close${r.index}`));
  const log = memoryLogger('debug');
  let mints = 0;
  const fetchImpl: typeof fetch = (input, init) => {
    if (String(input).endsWith('/realtime/client_secrets')) mints += 1;
    return fetch(input, init);
  };
  const session = new RealtimeSession({
    logger: log,
    fetchImpl,
    url: options.via ? await options.via(sim) : sim.url,
    model: 'gpt-realtime',
    provider: 'openai',
    apiKey: API_KEY,
    bootstrap: 'session-update',
    connection: 'persistent',
    session: PROFILE,
    backoff: { minMs: 10, maxMs: 50 },
    ...options.session,
    timeouts: { ...FAST_TIMEOUTS, ...options.session?.timeouts },
  });
  const errors: PttError[] = [];
  const states: Array<[SessionState, string]> = [];
  const verified: VerifiedInfo[] = [];
  session.on('error', (e) => {
    errors.push(e);
    timeline.push(`error:${e.code}`);
  });
  session.on('state', (state, detail) => {
    states.push([state, detail]);
    timeline.push(`state:${state}`);
  });
  session.on('verified', (info) => {
    verified.push(info);
    timeline.push('verified');
  });
  session.on('responseDone', (r) => timeline.push(`responseDone:${r.status}`));
  const accepted: Buffer[] = [];
  const secrets = [API_KEY, options.session?.apiKey ?? API_KEY, options.sim?.apiKey ?? API_KEY];
  const rig: Rig = {
    sim,
    session,
    wire,
    timeline,
    errors,
    states,
    verified,
    log,
    get mints() {
      return mints;
    },
    accepted,
    append(pcm) {
      const ok = session.appendAudio(pcm);
      if (ok) accepted.push(pcm);
      return ok;
    },
    async stop() {
      await session.stop();
      await sim.stop();
      // A secret must never reach a message, a hint, an error's context, a state's detail or the log.
      const everything = [
        ...log.lines,
        ...errors.map((e) => `${e.message} ${e.hint ?? ''} ${JSON.stringify(e.context)}`),
        ...states.map((st) => st[1]),
      ].join('\n');
      for (const secret of secrets) expect(everything).not.toContain(secret);
      expect(everything).not.toMatch(/ek_[A-Za-z0-9]{8,}/);
    },
  };
  rigs.push(rig);
  if (!options.noStart) await session.start();
  return rig;
}

const cleanups: Array<() => Promise<void>> = [];

/** For afterEach: stops every rig started since the last call, and the relays in front of them. */
export async function stopRigs(): Promise<void> {
  for (const rig of rigs.splice(0)) await rig.stop();
  for (const cleanup of cleanups.splice(0)) await cleanup();
}

export interface Relay {
  /** The WebSocket URL of the relay, for the session. */
  url: string;
  /** Stops reading from the client (a slow uplink: the client's socket fills up), or reads again. */
  stall(): void;
  resume(): void;
  /** Lets nothing through, either way, and closes nothing (a network black hole). */
  blackhole(): void;
  /** TCP connections relayed so far. */
  readonly pairs: number;
}

/** A TCP relay on 127.0.0.1 in front of `targetPort`, stopped by stopRigs(). */
export async function startRelay(targetPort: number): Promise<Relay> {
  const pairs: Array<{ client: Socket; upstream: Socket; holed: boolean }> = [];
  let stalled = false;
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    const pair = { client, upstream, holed: false };
    pairs.push(pair);
    if (stalled) client.pause();
    client.on('data', (d) => void (pair.holed || upstream.write(d)));
    upstream.on('data', (d) => void (pair.holed || client.write(d)));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(async () => {
    for (const p of pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `ws://127.0.0.1:${port}/v1/realtime`,
    stall() {
      stalled = true;
      for (const p of pairs) p.client.pause();
    },
    resume() {
      stalled = false;
      for (const p of pairs) p.client.resume();
    },
    blackhole() {
      for (const p of pairs) p.holed = true;
    },
    get pairs() {
      return pairs.length;
    },
  };
}

/**
 * The next `event` of the rig's session (from now on) whose arguments satisfy `pred`; on a
 * timeout the error shows the rig's timeline.
 */
export function when<K extends keyof RealtimeSessionEvents & string>(
  rig: Rig,
  event: K,
  pred: (...args: RealtimeSessionEvents[K]) => boolean = () => true,
  timeoutMs = 8000,
): Promise<RealtimeSessionEvents[K]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: RealtimeSessionEvents[K]): void => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      rig.session.off(event, listener);
      resolve(args);
    };
    const timer = setTimeout(() => {
      rig.session.off(event, listener);
      reject(new Error(`no matching '${event}' within ${timeoutMs} ms; timeline: ${rig.timeline.join(' ')}`));
    }, timeoutMs);
    rig.session.on(event, listener);
  });
}

/** `ms` of PCM16 whose bytes are a pattern unique to `n` (no two chunks alike, no chunk alike shifted). */
export function pcm(n: number, ms = 40): Buffer {
  const b = Buffer.alloc(Math.round(ms * 24) * 2);
  for (let i = 0; i < b.length; i += 2) {
    b[i] = n & 0xff;
    b[i + 1] = (i / 2 + n * 7) & 0xff;
  }
  return b;
}

/** The decoded audio of every input_audio_buffer.append the simulator received on a connection, in order. */
export function appendedOn(rig: Rig, connection: number): Buffer {
  return Buffer.concat(
    rig.wire
      .filter((e) => e.dir === 'in' && e.connection === connection && e.type === 'input_audio_buffer.append')
      .map((e) => Buffer.from(String(e.event.audio), 'base64')),
  );
}

export function connectionsWith(rig: Rig, type: string): number[] {
  return [...new Set(rig.wire.filter((e) => e.dir === 'in' && e.type === type).map((e) => e.connection))];
}

/** Resolves with the next error that matches, or rejects with what errors came instead. */
export function nextError(rig: Rig, code: string, timeoutMs = 5000): Promise<PttError> {
  const seen = rig.errors.find((e) => e.code === code);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const listener = (e: PttError): void => {
      if (e.code !== code) return;
      clearTimeout(timer);
      rig.session.off('error', listener);
      resolve(e);
    };
    const timer = setTimeout(() => {
      rig.session.off('error', listener);
      reject(
        new Error(`no ${code} error within ${timeoutMs} ms; got ${rig.errors.map((e) => `${e.code}: ${e.message}`).join(' | ') || 'none'}`),
      );
    }, timeoutMs);
    rig.session.on('error', listener);
  });
}

/**
 * Resolves with the `verified` event of the session on simulator connection `connection` (the
 * session holds one socket at a time, so it is the newest connection the simulator recorded).
 * Rejects when a later connection verifies first.
 */
export function verifiedOn(rig: Rig, connection: number, timeoutMs = 5000): Promise<VerifiedInfo> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      rig.session.off('verified', listener);
    };
    const listener = (info: VerifiedInfo): void => {
      const current = rig.sim.connections.length - 1;
      if (current < connection) return;
      done();
      if (current === connection) resolve(info);
      else reject(new Error(`verified on connection ${current}, expected ${connection}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(
        new Error(
          `not verified on connection ${connection} within ${timeoutMs} ms; connections: ${rig.sim.connections.length}; errors: ${rig.errors.map((e) => `${e.code}: ${e.message}`).join(' | ') || 'none'}`,
        ),
      );
    }, timeoutMs);
    rig.session.on('verified', listener);
  });
}

/** Resolves once `count` errors with `code` were emitted (counting those already seen). */
export function errorsOf(rig: Rig, code: string, count: number, timeoutMs = 5000): Promise<PttError[]> {
  const matching = (): PttError[] => rig.errors.filter((e) => e.code === code);
  if (matching().length >= count) return Promise.resolve(matching().slice(0, count));
  return new Promise((resolve, reject) => {
    const listener = (): void => {
      if (matching().length < count) return;
      clearTimeout(timer);
      rig.session.off('error', listener);
      resolve(matching().slice(0, count));
    };
    const timer = setTimeout(() => {
      rig.session.off('error', listener);
      reject(
        new Error(
          `${matching().length} of ${count} ${code} errors within ${timeoutMs} ms; got ${rig.errors.map((e) => `${e.code}: ${e.message}`).join(' | ') || 'none'}`,
        ),
      );
    }, timeoutMs);
    rig.session.on('error', listener);
  });
}

/**
 * Appends a fresh chunk shortly after every state change other than `ready` (connecting, waiting,
 * verifying): audio that arrives while the session recovers. Deferred with setImmediate, as a
 * microphone's audio comes from I/O, never from inside a session event. Returns a stop function.
 */
export function feedDuringRecovery(rig: Rig, firstChunk = 100, max = 16): () => void {
  let n = firstChunk;
  let on = true;
  const listener = (state: string): void => {
    if (state === 'ready' || state === 'stopped') return;
    setImmediate(() => {
      if (on && n < firstChunk + max) rig.append(pcm(n++));
    });
  };
  rig.session.on('state', listener);
  return () => {
    on = false;
    rig.session.off('state', listener);
  };
}

/** Frames that must never reach a connection before its profile is verified. */
const GATED = new Set(['input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', 'response.create']);

/**
 * The gate, per connection: every audio append and turn command comes after the server frame that
 * proved the profile on that connection (a session.updated, or for a client secret a session.created,
 * whose session matches one of `profiles` field by field). A connection that never proved it received none.
 */
export function expectGateHeld(rig: Rig, profiles: GaSessionConfig[] = [PROFILE]): void {
  const connections = new Set(rig.wire.map((e) => e.connection));
  for (const c of connections) {
    const entries = rig.wire.filter((e) => e.connection === c);
    const proof = entries.findIndex(
      (e) =>
        e.dir === 'out' &&
        (e.type === 'session.updated' || e.type === 'session.created') &&
        profiles.some((p) => diffSession(p, e.event.session).length === 0),
    );
    const firstGated = entries.findIndex((e) => e.dir === 'in' && GATED.has(e.type));
    if (firstGated === -1) continue;
    const trail = entries.slice(0, firstGated + 1).map((e) => `${e.dir === 'in' ? '>' : '<'}${e.type}`);
    expect(
      proof,
      `connection ${c}: ${entries[firstGated]!.type} with no verified profile before it (${trail.join(' ')})`,
    ).toBeGreaterThanOrEqual(0);
    expect(proof, `connection ${c}: ${entries[firstGated]!.type} before the profile was verified (${trail.join(' ')})`).toBeLessThan(
      firstGated,
    );
  }
}

/** Every frame the client sent validates against RealtimeClientEvent, unknown properties refused. */
export function expectConformingFrames(rig: Rig): void {
  const frames = rig.sim.frames;
  expect(frames.length).toBeGreaterThan(0);
  for (const f of frames) {
    expect({ type: f.type, errors: validateClientEvent(JSON.parse(f.raw)) }).toEqual({ type: f.type, errors: [] });
  }
}

/** Bytes appended in total, as one buffer. */
export function all(chunks: Buffer[]): Buffer {
  return Buffer.concat(chunks);
}

/** Compares PCM without printing kilobytes on failure: lengths and the first differing byte. */
export function expectSamePcm(got: Buffer, wanted: Buffer, what = 'audio'): void {
  if (got.equals(wanted)) return;
  let i = 0;
  while (i < got.length && i < wanted.length && got[i] === wanted[i]) i += 1;
  expect.fail(`${what}: got ${got.length} bytes, wanted ${wanted.length}; first difference at byte ${i}`);
}

/** Only the first connection (or the first `n`) has the fault; the ones after are healthy. */
export const firstOnly =
  (plan: FaultPlan, n = 1) =>
  (i: number): FaultPlan =>
    i < n ? plan : {};
