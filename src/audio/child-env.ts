/**
 * The whole environment an audio child (aplay, arecord) gets. ALSA needs to find its config
 * (HOME for ~/.asoundrc, XDG_CONFIG_HOME, ALSA_CONFIG_PATH) and a locale for messages; nothing
 * else is inherited, so an API key in the daemon's environment can never reach a child.
 */
import { PttError } from '../core/errors.js';

const PASSED = ['PATH', 'HOME', 'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'ALSA_CONFIG_PATH', 'LANG'] as const;

export function audioChildEnv(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of PASSED) if (from[key] !== undefined) env[key] = from[key];
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return env;
}

/** Why an audio tool (aplay, arecord) could not be started: not installed, or the system's reason. */
export function spawnError(cmd: string, err: NodeJS.ErrnoException, code: 'AUDIO_CAPTURE' | 'AUDIO_PLAYBACK'): PttError {
  if (err.code === 'ENOENT') {
    return new PttError('AUDIO_TOOL_MISSING', `cannot run ${cmd}: it is not installed`, {
      context: { command: cmd },
      hint: 'install the Debian package alsa-utils (sudo apt install alsa-utils)',
    });
  }
  return new PttError(code, `cannot run ${cmd}: ${err.message}`, { context: { command: cmd, errno: err.code } });
}

/** A running audio child exited on its own: what it said last, and that it is restarted. */
export function diedError(
  code: 'AUDIO_CAPTURE_DIED' | 'AUDIO_PLAYBACK_DIED',
  cmd: string,
  exit: { code: number | null; signal: NodeJS.Signals | null },
  context: { device: string; stderr: string },
  check: string,
): PttError {
  return new PttError(code, `${cmd} stopped unexpectedly (${exit.signal ?? `exit code ${exit.code}`})`, {
    context: { ...context, code: exit.code, signal: exit.signal },
    hint: `it is restarted automatically; check ${check} if this repeats`,
  });
}

/** An audio child that has not opened its device in time (another program holds it, usually). */
export function openTimeoutError(
  code: 'AUDIO_CAPTURE_OPEN' | 'AUDIO_PLAYBACK_OPEN',
  cmd: string,
  device: string,
  timeoutMs: number,
): PttError {
  const what = code === 'AUDIO_CAPTURE_OPEN' ? 'capture device' : 'playback device';
  return new PttError(code, `${cmd} did not open ${what} "${device}" within ${timeoutMs} ms`, {
    context: { device },
    hint: 'check that no other program holds the device (fuser -v /dev/snd/*)',
  });
}
