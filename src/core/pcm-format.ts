/**
 * The one audio format of the whole project: PCM16 little-endian, mono, 24 kHz (what the GA
 * Realtime API's `audio/pcm` means). 1 ms is 48 bytes. Every module takes these from here.
 */
export const SAMPLE_RATE = 24_000;
export const CHANNELS = 1;
export const BYTES_PER_SAMPLE = 2;
export const BYTES_PER_MS = (SAMPLE_RATE * CHANNELS * BYTES_PER_SAMPLE) / 1000;

export function msToBytes(ms: number): number {
  // Round to whole samples so a buffer of this length never splits a sample.
  return Math.round((ms * SAMPLE_RATE) / 1000) * BYTES_PER_SAMPLE * CHANNELS;
}

export function bytesToMs(bytes: number): number {
  return bytes / BYTES_PER_MS;
}
