/**
 * alsa-capture runs its read loop on a libuv threadpool thread for as long as the capture is
 * open, and that pool also serves fs, dns.lookup and zlib. The pool's size is fixed when it
 * first starts, which for an ESM entry point is before any user code (the module loader
 * reads files through it), so setting process.env.UV_THREADPOOL_SIZE in the daemon is too
 * late: it must come from the environment (the systemd unit sets UV_THREADPOOL_SIZE=8).
 * These helpers let the capture check its headroom and `doctor` report it.
 */
const DEFAULT_POOL = 4;
/** Threads fs/dns need left free for the config watcher, logs and lookups to stay responsive. */
export const RESERVED_THREADS = 2;

let held = 0;

export function threadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? Math.min(n, 1024) : DEFAULT_POOL;
}

/** Capture read loops currently occupying a threadpool thread in this process. */
export function captureThreadsHeld(): number {
  return held;
}

/** Whether one more capture can start and still leave RESERVED_THREADS for file I/O. */
export function captureThreadAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return held + 1 + RESERVED_THREADS <= threadpoolSize(env);
}

/** @internal used by AlsaCapture around the addon's worker lifetime. */
export function noteCaptureThread(delta: 1 | -1): void {
  held = Math.max(0, held + delta);
}
