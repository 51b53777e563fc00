/**
 * Helpers shared by the RealtimeSession lifecycle tests (lifecycle.test.ts, secrets-profiles.test.ts):
 * an unstarted rig with the tests' own key and slow retries after a refusal, and readings of it.
 */
import { DEFAULT_TIMEOUTS, type RealtimeSessionOptions, type VerifiedInfo } from '../../src/realtime/index.js';
import type { RealtimeSimulator, SimulatorOptions } from '../../src/simulator/index.js';
import { pcm, startRig, when, type Rig } from './harness.js';

export const KEY = 'sk-lifecycle-test-0123456789abcdefghij';
export const WRONG_KEY = 'sk-lifecycle-wrong-9876543210zyxwvuts';

/** PCM16 24 kHz mono, never silent: the harness's pattern, `seed` telling turns apart. */
export const tone = (ms: number, seed = 1): Buffer => pcm(seed, ms);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A rig for lifecycle tests: unstarted, slow retries after a refusal, the test's own key. */
export function setup(
  options: Partial<RealtimeSessionOptions> & { sim?: SimulatorOptions; via?: (sim: RealtimeSimulator) => Promise<string> } = {},
): Promise<Rig> {
  const { sim, timeouts, via, ...session } = options;
  return startRig({
    noStart: true,
    sim: { deltaMs: 100, apiKey: KEY, ...sim },
    ...(via ? { via } : {}),
    session: {
      apiKey: KEY,
      timeouts: {
        connectMs: 3000,
        verifyMs: 3000,
        slowRetryMs: 60_000,
        closeMs: 500,
        rotateBeforeMs: DEFAULT_TIMEOUTS.rotateBeforeMs,
        secretMarginMs: DEFAULT_TIMEOUTS.secretMarginMs,
        ...timeouts,
      },
      ...session,
    },
  });
}

/** Resolves once `count` verified events have been seen in total. */
export async function verifiedCount(h: Rig, count: number): Promise<VerifiedInfo> {
  while (h.verified.length < count) await when(h, 'verified');
  return h.verified[count - 1]!;
}

export function waitingDelays(h: Rig): number[] {
  return h.states.filter(([s]) => s === 'waiting').map(([, d]) => Number(/next attempt in (\d+) ms/.exec(d)?.[1] ?? NaN));
}

/** Client frame types of one connection, in order. */
export function clientTypes(sim: RealtimeSimulator, connection: number): string[] {
  return sim.frames.filter((f) => f.connection === connection).map((f) => f.type);
}
