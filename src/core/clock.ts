/**
 * Milliseconds on CLOCK_MONOTONIC, the clock the kernel stamps GPIO edge events with
 * (libuv's hrtime reads the same clock on Linux), so gpiomon timestamps and our own
 * samples can be compared directly. Never jumps when NTP sets the wall clock.
 * performance.now() counts on that clock from the process's start, so one reading of the
 * offset is enough (and it is cheaper than a BigInt hrtime on every audio event).
 */
const OFFSET_MS = (() => {
  performance.now(); // the first call sets things up: it would skew the reading around it
  const before = performance.now();
  const mono = Number(process.hrtime.bigint()) / 1e6;
  return mono - (before + performance.now()) / 2;
})();

export function monotonicMs(): number {
  return OFFSET_MS + performance.now();
}
