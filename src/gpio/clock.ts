/**
 * Milliseconds on CLOCK_MONOTONIC, the clock the kernel stamps GPIO edge events with
 * (libuv's hrtime reads the same clock on Linux), so gpiomon timestamps and our own
 * samples can be compared directly. Never jumps when NTP sets the wall clock.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
