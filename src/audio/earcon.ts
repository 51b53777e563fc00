/**
 * Short feedback tones generated in code (no audio assets with unclear licences). Each note
 * is a sine with 5 ms fades at both ends, so it starts and ends at zero: no clicks.
 */
import { fade, SAMPLE_RATE } from './pcm.js';

export type EarconName = 'press' | 'release' | 'error' | 'ready' | 'confirm' | 'alarm';

interface Note {
  hz: number;
  ms: number;
}

const SHAPES: Record<EarconName, Note[]> = {
  press: [{ hz: 880, ms: 70 }],
  release: [{ hz: 660, ms: 70 }],
  error: [
    { hz: 330, ms: 120 },
    { hz: 0, ms: 60 },
    { hz: 262, ms: 160 },
  ],
  ready: [
    { hz: 523, ms: 90 },
    { hz: 784, ms: 120 },
  ],
  // A question: up and up again, unlike any other cue (a tool waits for a press).
  confirm: [
    { hz: 587, ms: 90 },
    { hz: 880, ms: 90 },
    { hz: 0, ms: 80 },
    { hz: 587, ms: 90 },
    { hz: 880, ms: 140 },
  ],
  // The timer bell: three high beeps, repeated by the alarm until a press.
  alarm: [
    { hz: 1047, ms: 120 },
    { hz: 0, ms: 60 },
    { hz: 1047, ms: 120 },
    { hz: 0, ms: 60 },
    { hz: 1047, ms: 120 },
  ],
};

const AMPLITUDE = 0.25 * 32767; // -12 dBFS: audible, leaves headroom for the volume setting
const FADE_SAMPLES = (SAMPLE_RATE * 5) / 1000;
const cache = new Map<EarconName, Buffer>();

function note({ hz, ms }: Note): Buffer {
  const n = Math.round((SAMPLE_RATE * ms) / 1000);
  const out = Buffer.alloc(n * 2);
  if (hz === 0) return out;
  for (let i = 0; i < n; i++) out.writeInt16LE(Math.round(AMPLITUDE * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE)), i * 2);
  fade(out, 'in', FADE_SAMPLES);
  return fade(out, 'out', FADE_SAMPLES);
}

/** PCM16 24 kHz mono for the named cue; a fresh copy each call, so callers may modify it. */
export function earcon(name: EarconName): Buffer {
  let pcm = cache.get(name);
  if (!pcm) {
    const shape = SHAPES[name];
    if (!shape) throw new RangeError(`unknown earcon ${String(name)}`);
    pcm = Buffer.concat(shape.map(note));
    cache.set(name, pcm);
  }
  return Buffer.from(pcm);
}

export const EARCON_NAMES = Object.keys(SHAPES) as EarconName[];

const PROFILE_TONES_MAX = 8;
const profileCache = new Map<number, Buffer>();

/**
 * The cue of the Nth profile (1-based, file order, main first): N short high tones, so a person
 * counts which profile is now active without a voice saying it. Capped at 8 tones.
 */
export function profileEarcon(position: number): Buffer {
  const n = Math.min(PROFILE_TONES_MAX, Math.max(1, Math.floor(position)));
  let pcm = profileCache.get(n);
  if (!pcm) {
    const notes: Note[] = [];
    for (let i = 0; i < n; i++) notes.push({ hz: 1_047, ms: 60 }, { hz: 0, ms: 70 });
    pcm = Buffer.concat(notes.map(note));
    profileCache.set(n, pcm);
  }
  return Buffer.from(pcm);
}

/** The cue that the device keeps listening after an answer (follow-up window): a soft rising pair. */
export function followUpEarcon(): Buffer {
  return Buffer.concat([note({ hz: 659, ms: 50 }), note({ hz: 988, ms: 70 })]);
}
