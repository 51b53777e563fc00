/**
 * Synthesized reply audio: a soft rising two-partial chirp, PCM16 LE mono 24 kHz.
 * Deterministic (same turn, same bytes) so tests can compare what reached the speaker.
 */
import { BYTES_PER_MS, SAMPLE_RATE } from '../core/pcm-format.js';

/** Reply audio of `ms` milliseconds; the turn number shifts the pitch so consecutive replies differ. */
export function synthesizeReply(ms: number, turn = 1): Buffer {
  const samples = Math.max(0, Math.round((ms * SAMPLE_RATE) / 1000));
  const out = Buffer.alloc(samples * 2);
  const duration = samples / SAMPLE_RATE;
  // Steps of a whole tone per turn, wrapping after five replies: pleasant, never shrill.
  const f0 = 330 * 2 ** ((((turn - 1) % 5) * 2) / 12);
  const f1 = f0 * 1.5;
  const fade = Math.min(0.015, duration / 4); // 15 ms raised-cosine edges: no clicks
  for (let n = 0; n < samples; n++) {
    const t = n / SAMPLE_RATE;
    const phase = 2 * Math.PI * (f0 * t + ((f1 - f0) * t * t) / (2 * Math.max(duration, 1e-9)));
    const edge = Math.min(t, duration - t);
    const env = edge >= fade ? 1 : 0.5 - 0.5 * Math.cos((Math.PI * Math.max(edge, 0)) / fade);
    const v = (0.3 * env * (Math.sin(phase) + 0.3 * Math.sin(2 * phase))) / 1.3;
    out.writeInt16LE(Math.round(v * 32767), n * 2);
  }
  return out;
}

/** Splits `pcm` into chunks of `deltaMs` (the last one may be shorter). */
export function chunkAudio(pcm: Buffer, deltaMs: number): Buffer[] {
  const size = Math.max(2, Math.round(deltaMs * BYTES_PER_MS));
  const chunks: Buffer[] = [];
  for (let i = 0; i < pcm.length; i += size) chunks.push(pcm.subarray(i, Math.min(i + size, pcm.length)));
  return chunks;
}
