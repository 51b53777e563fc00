/**
 * A throwaway ALSA setup for tests: real libasound, no sound card.
 *
 *   const alsa = await createAlsaSandbox();        // temp dir, FIFO, asoundrc
 *   alsa.useInProcess();                            // this process's libasound (alsa-capture) sees the devices
 *   spawn('realtime-ptt', [...], { env: { ...process.env, ...alsa.env } })   // or a child sees them
 *   alsa.mic.start(); await alsa.mic.feed(pcm);     // the "microphone", written at real time
 *   alsa.readOutput();                              // what aplay played to the "speaker"
 *   await alsa.cleanup();
 *
 * Devices (see DESIGN.md, "Testing without a Pi"):
 * - `captureDevice` (`ptt_mic`): ALSA `file` plugin reading `micFifo`. The plugin does one read()
 *   of the FIFO per period and keeps stale samples for whatever that read did not fill, so the
 *   feeder writes exactly one capture period per write, at real time, and writes silence when
 *   it has nothing queued: the FIFO must never reach EOF or stall while a capture is open (EOF
 *   makes the capture spin at ~2000x repeating its last period; a stall blocks the capture's
 *   threadpool thread so close() cannot finish).
 * - `playbackDevice` (`ptt_play`): `file` plugin writing `outputFile` with `truncate false`, so
 *   each aplay process (a respawn, a restart after interrupt) writes a new segment
 *   `out.raw`, `out.raw.0001`, ... ; `readOutput()` concatenates them in order. The `null`
 *   slave is not paced: bytes land in the file as soon as aplay writes them, so the file shows
 *   exactly what the player handed to the device and when.
 * - With `createAlsaSandbox({ dac: true })`, `playbackDevice` is `ptt_dac` instead: the `file`
 *   plugin writing into a FIFO that `dac.py` consumes at real time, like a sound card (aplay
 *   blocks when it is full), and `readOutput()` is what a listener has heard so far. Positions
 *   (played ms, truncation) are checked against it: the unpaced `ptt_play` cannot tell when a
 *   byte would be heard. A stop leaves at most the DAC's own 85 ms buffer to play out.
 * - `missingDevice`: a name defined nowhere, for open-failure tests.
 *
 * Order matters: start the feeder (`mic.start()`) before opening a capture (the plugin's open()
 * of the FIFO blocks until a writer exists, inside a threadpool thread), and stop the capture
 * before `cleanup()` (its read loop only sees the close request after a read returns).
 *
 * How libasound finds this config: alsa-lib 1.2.8 reads the files listed in ALSA_CONFIG_PATH
 * (':'-separated; default /usr/share/alsa/alsa.conf, whose hooks then load ~/.asoundrc and
 * $XDG_CONFIG_HOME/alsa/asoundrc). We set ALSA_CONFIG_PATH=<alsa.conf>:<sandbox asoundrc>
 * rather than XDG_CONFIG_HOME because snd_config_update(), run at every snd_pcm_open(),
 * re-reads the configuration when that file list changes, but never notices a changed
 * XDG_CONFIG_HOME once the config is loaded. So in-process (alsa-capture runs libasound inside
 * the test's own process) `useInProcess()` works even after another sandbox was used; it sets
 * process.env, which Node passes to the C environment that libasound's getenv() reads.
 * Children get `env` (AplayPlayer forwards ALSA_CONFIG_PATH to aplay).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BYTES_PER_MS } from '../../src/core/pcm-format.js';

/** Where Debian's libasound2 keeps its top-level configuration. */
export const SYSTEM_ALSA_CONF = '/usr/share/alsa/alsa.conf';

export interface MicFeeder {
  /** Opens the FIFO and starts the real-time clock (silence until something is fed). */
  start(): void;
  /** Queues PCM (split into whole periods, the last one padded with silence); resolves once written. */
  feed(pcm: Buffer): Promise<void>;
  /** Everything written so far, silence included, in order. */
  readonly written: Buffer;
  /** Periods that could not be written because the FIFO was full (nobody reading). Only silence is ever dropped. */
  readonly droppedSilencePeriods: number;
  /**
   * Stops writing but keeps the FIFO open: a capture's read then blocks, as with a stalled
   * device. Always resume() (or stop()) before the test ends: a threadpool thread blocked in
   * read() keeps the process from exiting.
   */
  pause(): void;
  resume(): void;
  /** Stops the clock and closes the FIFO (a capture still reading then sees EOF). */
  stop(): void;
}

export interface AlsaSandbox {
  dir: string;
  /** The sandbox asoundrc. */
  configFile: string;
  /** Environment entries that make libasound in a child process see the sandbox devices. */
  env: { ALSA_CONFIG_PATH: string };
  captureDevice: string;
  playbackDevice: string;
  missingDevice: string;
  micFifo: string;
  periodMs: number;
  periodBytes: number;
  outputFile: string;
  mic: MicFeeder;
  /** Points this process's libasound at the sandbox (call before opening a capture in-process). */
  useInProcess(): void;
  /** Everything played to `playbackDevice` (all aplay segments in order; with the DAC, what it has played by now). */
  readOutput(): Buffer;
  /** Stops the feeder, restores ALSA_CONFIG_PATH if useInProcess() changed it, removes the directory. */
  cleanup(): Promise<void>;
}

/**
 * `keepWritten: false` (benchmarks that feed for minutes): the feeder does not keep what it wrote,
 * so `mic.written` is empty and the process feeding does not grow.
 */
export async function createAlsaSandbox(options: { periodMs?: number; dac?: boolean; keepWritten?: boolean } = {}): Promise<AlsaSandbox> {
  const periodMs = options.periodMs ?? 20;
  const periodBytes = periodMs * BYTES_PER_MS;
  const dir = mkdtempSync(join(tmpdir(), 'ptt-alsa-'));
  const micFifo = join(dir, 'mic.fifo');
  const outputFile = join(dir, 'out.raw');
  const configFile = join(dir, 'asoundrc');
  const dacFifo = join(dir, 'dac.fifo');
  const dacOutput = join(dir, 'dac.raw');
  execFileSync('mkfifo', [micFifo, dacFifo]);
  const dac = options.dac ? await startDac(dacFifo, dacOutput) : undefined;
  writeFileSync(
    configFile,
    [
      `pcm.ptt_mic { type file; slave.pcm "null"; file "/dev/null"; infile "${micFifo}"; format "raw" }`,
      `pcm.ptt_play { type file; slave.pcm "null"; file "${outputFile}"; format "raw"; truncate false }`,
      `pcm.ptt_dac { type file; slave.pcm "null"; file "${dacFifo}"; format "raw" }`,
      '',
    ].join('\n'),
  );
  const env = { ALSA_CONFIG_PATH: `${SYSTEM_ALSA_CONF}:${configFile}` };
  const mic = new FifoFeeder(micFifo, periodBytes, periodMs, options.keepWritten ?? true);
  let savedConfigPath: string | undefined | null = null;

  return {
    dir,
    configFile,
    env,
    captureDevice: 'ptt_mic',
    playbackDevice: dac ? 'ptt_dac' : 'ptt_play',
    missingDevice: 'ptt_no_such_device',
    micFifo,
    periodMs,
    periodBytes,
    outputFile,
    mic,
    useInProcess() {
      if (savedConfigPath === null) savedConfigPath = process.env.ALSA_CONFIG_PATH;
      process.env.ALSA_CONFIG_PATH = env.ALSA_CONFIG_PATH;
    },
    readOutput() {
      return dac ? readFileSync(dacOutput) : readSegments(outputFile);
    },
    async cleanup() {
      mic.stop();
      dac?.kill();
      if (savedConfigPath !== null) {
        if (savedConfigPath === undefined) delete process.env.ALSA_CONFIG_PATH;
        else process.env.ALSA_CONFIG_PATH = savedConfigPath;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** dac.py on `fifo`, once it has opened it (an aplay opening the device then never waits). */
function startDac(fifo: string, output: string): Promise<ChildProcess> {
  writeFileSync(output, '');
  const child = spawn('python3', [join(import.meta.dirname, 'dac.py'), fifo, output], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`the sandbox DAC needs python3: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`the sandbox DAC exited with code ${code}`)));
    child.stdout.once('data', () => resolve(child));
  });
}

function readSegments(outputFile: string): Buffer {
  const dir = outputFile.slice(0, outputFile.lastIndexOf('/'));
  const base = outputFile.slice(outputFile.lastIndexOf('/') + 1);
  const names = readdirSync(dir).filter((n) => n === base || (n.startsWith(`${base}.`) && /^\d{4}$/.test(n.slice(base.length + 1))));
  names.sort(); // out.raw < out.raw.0001 < out.raw.0002
  return Buffer.concat(names.map((n) => readFileSync(join(dir, n))));
}

class FifoFeeder implements MicFeeder {
  #fd: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #started = 0;
  #periodsWritten = 0;
  #queue: Array<{ period: Buffer; done?: () => void }> = [];
  #written: Buffer[] = [];
  #dropped = 0;

  constructor(
    private readonly path: string,
    private readonly periodBytes: number,
    private readonly periodMs: number,
    private readonly keepWritten = true,
  ) {}

  get written(): Buffer {
    return Buffer.concat(this.#written);
  }

  get droppedSilencePeriods(): number {
    return this.#dropped;
  }

  start(): void {
    if (this.#fd !== undefined) return;
    // O_RDWR: opening a FIFO write-only blocks until a reader appears; read-write never does (Linux).
    // O_NONBLOCK: a full FIFO (no capture reading) must not freeze the test's event loop.
    this.#fd = openSync(this.path, constants.O_RDWR | constants.O_NONBLOCK);
    this.#started = performance.now();
    this.#periodsWritten = 0;
    this.#tick();
  }

  feed(pcm: Buffer): Promise<void> {
    return new Promise((resolve) => {
      for (let off = 0; off < pcm.length; off += this.periodBytes) {
        const period = Buffer.alloc(this.periodBytes);
        pcm.copy(period, 0, off, Math.min(pcm.length, off + this.periodBytes));
        this.#queue.push({ period });
      }
      const last = this.#queue[this.#queue.length - 1];
      if (last && pcm.length > 0) last.done = resolve;
      else resolve();
    });
  }

  // Clock-driven rather than setInterval: writes every period that is due, so timer lateness
  // delays a period but never loses or duplicates one.
  #tick = (): void => {
    if (this.#fd === undefined) return;
    const due = Math.floor((performance.now() - this.#started) / this.periodMs) + 1;
    while (this.#periodsWritten < due) {
      const next = this.#queue[0];
      const period = next ? next.period : Buffer.alloc(this.periodBytes);
      try {
        // One write per period, smaller than PIPE_BUF, so it lands atomically.
        writeSync(this.#fd, period);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        if (next) break; // keep real audio queued; retry on the next tick
        this.#dropped++;
        this.#periodsWritten++;
        continue;
      }
      if (this.keepWritten) this.#written.push(period);
      this.#periodsWritten++;
      if (next) {
        this.#queue.shift();
        next.done?.();
      }
    }
    const nextAt = this.#started + this.#periodsWritten * this.periodMs;
    this.#timer = setTimeout(this.#tick, Math.max(1, nextAt - performance.now()));
  };

  pause(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  resume(): void {
    if (this.#fd === undefined || this.#timer) return;
    // Restart the clock from now: the stall is not made up with a burst.
    this.#started = performance.now();
    this.#periodsWritten = 0;
    this.#tick();
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    for (const q of this.#queue) q.done?.();
    this.#queue = [];
  }
}

/** Drops leading and trailing zero samples (the silence the player and feeder add around audio). */
export function trimSilence(pcm: Buffer): Buffer {
  let start = 0;
  let end = pcm.length - (pcm.length % 2);
  while (start < end && pcm.readInt16LE(start) === 0) start += 2;
  while (end > start && pcm.readInt16LE(end - 2) === 0) end -= 2;
  return pcm.subarray(start, end);
}

/** Deterministic non-silent test audio: a ramp pattern with no zero samples, so trimming is exact. */
export function testPcm(ms: number, seed = 1): Buffer {
  const out = Buffer.alloc(ms * BYTES_PER_MS);
  for (let i = 0; i < out.length / 2; i++) {
    const v = ((i * 37 + seed * 1013) % 20000) - 10000;
    out.writeInt16LE(v === 0 ? 1 : v, i * 2);
  }
  return out;
}

/** True when libasound's config for a child with `env` defines `device` (via `aplay -L`). */
export function deviceListed(device: string, env: Record<string, string>): boolean {
  const out = execFileSync('aplay', ['-L'], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return out.split('\n').some((l) => l.trim() === device);
}
