/**
 * The microphone as an `arecord` child writing raw PCM16 24 kHz mono into a FIFO this process
 * reads. The point is the idle cost: while nobody talks the daemon does not wake up per period.
 *
 * All reads are synchronous reads of everything the kernel pipe holds, on one timer:
 * - Idle (gate closed): every `idleBatchMs` (the pipe holds ~1.3 s; arecord blocks, then
 *   overruns, beyond that).
 * - Live (gate open, setLive(true)): first everything up to now (so the pre-roll is exact), then
 *   every `liveBatchMs`. Each read is emitted as one frame of whole periods, so a turn costs one
 *   wake-up and one append per batch, not per period. setLive(false) delivers what is pending
 *   before the turn is measured.
 *
 * Why a FIFO and not the child's stdout pipe: Node starts reading a child's stdout at once (a
 * libuv read per period); our own FIFO descriptor is read only when we ask. arecord gets the FIFO
 * as its stdout (a path argument would make it remove() the FIFO and write a plain file).
 *
 * arecord dying is respawned with backoff (respawner.ts) and reported once per outage; a
 * missing device fails start() with the list of capture devices; stop() kills the child and
 * waits for its exit. If the daemon dies, arecord's next write gets EPIPE and it exits too.
 */
import { type ChildProcessByStdio, execFile, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { checkCaptureOptions, deviceOpenError } from './alsa-devices.js';
import { audioChildEnv, diedError, openTimeoutError, spawnError } from './child-env.js';
import { BYTES_PER_SAMPLE, SAMPLE_RATE } from './pcm.js';
import { Respawner } from './respawner.js';
import { StallWatch } from './stall-watch.js';
import type { AudioSource, AudioSourceEvents } from './source.js';

export interface ArecordCaptureOptions {
  device: string;
  periodMs?: number;
  logger?: Logger;
  /** While idle (gate closed), the pipe is read this often (default 500 ms; the pipe holds ~1.3 s). */
  idleBatchMs?: number;
  /** While live, the pipe is read this often (config audio.input.batchMs; default 100 ms). */
  liveBatchMs?: number;
  /** ALSA buffer (arecord --buffer-time); default 25 periods. */
  alsaBufferMs?: number;
  /** arecord executable (tests point it elsewhere). */
  arecordPath?: string;
  /** The environment the minimal child env is picked from (default process.env). */
  env?: NodeJS.ProcessEnv;
  respawnMinMs?: number;
  respawnMaxMs?: number;
  /** How long start() waits for arecord to open the device. */
  openTimeoutMs?: number;
  /** A running capture that delivers nothing for this long is reported as stalled (MIC_STALLED). */
  stallMs?: number;
  /** Lists capture devices for the open error; defaults to arecord -L / -l. */
  listCaptureDevices?: () => Promise<string[]>;
}

type Child = ChildProcessByStdio<null, null, Readable>;

/** One arecord and the read end (non-blocking) of the FIFO it writes to. */
interface Run {
  child: Child;
  fd: number;
  closed: boolean;
}

/** A whole number of periods bigger than the pipe (64 KiB), so one read takes all it holds. */
const PIPE_READ_BYTES = 70 * 960;

export class ArecordCapture extends TypedEmitter<AudioSourceEvents> implements AudioSource {
  readonly name = 'audio.arecord';
  readonly periodMs: number;
  readonly #periodBytes: number;
  readonly #idleBatchMs: number;
  readonly #liveBatchMs: number;
  readonly #stall: StallWatch;
  readonly #respawner: Respawner;
  #dir: string | undefined;
  #fifo = '';
  #run: Run | undefined;
  /** Every arecord not yet exited: the running one, one still opening, one being killed. */
  readonly #live = new Set<Child>();
  #stopped = true;
  #liveMode = false;
  #tick: NodeJS.Timeout | undefined;
  /** Bytes of a period not complete yet (a read that ended mid-period). */
  #partial: Buffer | undefined;
  readonly #scratch: Buffer;
  #frames = 0;
  #overruns = 0;
  #respawns = 0;

  constructor(private readonly options: ArecordCaptureOptions) {
    super();
    this.periodMs = options.periodMs ?? 20;
    this.#periodBytes = Math.round((SAMPLE_RATE * this.periodMs) / 1000) * BYTES_PER_SAMPLE;
    this.#idleBatchMs = options.idleBatchMs ?? 500;
    this.#liveBatchMs = options.liveBatchMs ?? 100;
    this.#stall = new StallWatch({
      device: options.device,
      stallMs: options.stallMs ?? 1000,
      logger: options.logger,
      report: (err) => this.emit('error', err),
    });
    // arecord is gone: reported once per outage, a new one started with doubling delays until stopped.
    this.#respawner = new Respawner({
      what: 'arecord',
      minMs: options.respawnMinMs ?? 250,
      maxMs: options.respawnMaxMs ?? 5000,
      logger: options.logger,
      spawn: () => this.#spawn(),
      stopped: () => this.#stopped,
      report: (err) => this.emit('error', err),
      restarted: (attempt) => {
        this.#respawns++;
        this.options.logger?.info('arecord restarted', { device: this.options.device, attempt });
      },
      code: 'AUDIO_CAPTURE',
    });
    this.#scratch = Buffer.allocUnsafe(PIPE_READ_BYTES);
  }

  get stats(): { frames: number; overruns: number; respawns: number } {
    return { frames: this.#frames, overruns: this.#overruns, respawns: this.#respawns };
  }

  /** The running arecord's process id (tests, doctor). */
  get pid(): number | undefined {
    return this.#run?.child.pid;
  }

  /** The arecord command line (no secrets ever appear here). */
  get argv(): string[] {
    const bufferMs = this.options.alsaBufferMs ?? this.periodMs * 25;
    return [
      '-v', // prints "Its setup is:" once the device is open: the readiness signal
      '-D',
      this.options.device,
      '-t',
      'raw',
      '-f',
      'S16_LE',
      '-r',
      String(SAMPLE_RATE),
      '-c',
      '1',
      `--period-time=${this.periodMs * 1000}`,
      `--buffer-time=${bufferMs * 1000}`,
    ];
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    const { device } = this.options;
    checkCaptureOptions(device, this.periodMs);
    this.#stopped = false;
    try {
      this.#dir = mkdtempSync(join(tmpdir(), 'ptt-arecord-'));
      this.#fifo = join(this.#dir, 'mic.fifo');
      await mkfifo(this.#fifo);
      await this.#spawn();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#armTick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#liveMode = false;
    if (this.#tick) clearInterval(this.#tick);
    this.#tick = undefined;
    this.#respawner.cancel();
    const run = this.#run;
    this.#run = undefined;
    if (run) closeRun(run);
    await Promise.all([...this.#live].map((c) => killAndWait(c)));
    this.#partial = undefined;
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }

  /**
   * true: delivers everything captured up to now (synchronously), then a batch every liveBatchMs.
   * false: delivers what is pending (synchronously), then reads every idleBatchMs again.
   */
  setLive(live: boolean): void {
    if (live === this.#liveMode || this.#stopped) return;
    this.#liveMode = live;
    if (this.#run) this.#drain(this.#run);
    this.#armTick();
  }

  #armTick(): void {
    if (this.#tick) clearInterval(this.#tick);
    this.#tick = setInterval(this.#onTick, this.#liveMode ? this.#liveBatchMs : this.#idleBatchMs);
  }

  #onTick = (): void => {
    const run = this.#run;
    if (!run) return;
    this.#drain(run);
    this.#stall.check();
  };

  /** One synchronous read of all the pipe holds (PIPE_READ_BYTES is more than it can hold). */
  #drain(run: Run): void {
    if (run.closed) return;
    let n: number;
    try {
      n = readSync(run.fd, this.#scratch, 0, this.#scratch.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return; // nothing written since the last read
      throw err;
    }
    // The scratch buffer is reused: the frames get their own copy.
    if (n > 0) this.#deliver(Buffer.from(this.#scratch.subarray(0, n)));
  }

  /** Emits the whole periods read as one frame; a partial period waits for the next read. */
  #deliver(data: Buffer): void {
    this.#stall.delivered();
    let pcm = data;
    if (this.#partial) {
      pcm = Buffer.concat([this.#partial, data]);
      this.#partial = undefined;
    }
    const whole = pcm.length - (pcm.length % this.#periodBytes);
    if (whole < pcm.length) this.#partial = pcm.subarray(whole);
    if (whole === 0) return;
    this.#frames += whole / this.#periodBytes;
    this.emit('frame', whole === pcm.length ? pcm : pcm.subarray(0, whole));
  }

  #spawn(): Promise<void> {
    const cmd = this.options.arecordPath ?? 'arecord';
    const { device } = this.options;
    // The read end first: opening the write end then does not block, and arecord never sees a FIFO without a reader.
    const fd = openSync(this.#fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    let child: Child;
    const writeFd = openSync(this.#fifo, constants.O_WRONLY);
    try {
      // stdout is the FIFO's write end: no stream for it in this process.
      child = spawn(cmd, this.argv, { env: audioChildEnv(this.options.env ?? process.env), stdio: ['ignore', writeFd, 'pipe'] }) as Child;
    } catch (err) {
      closeSync(fd);
      throw new PttError('AUDIO_CAPTURE', `cannot run ${cmd}: ${err instanceof Error ? err.message : String(err)}`, {
        context: { command: cmd },
        cause: err,
      });
    } finally {
      closeSync(writeFd); // the child has its own copy; ours would hide arecord's end of stream
    }
    this.#live.add(child);
    const run: Run = { child, fd, closed: false };

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let stderrTail = '';
      const timeoutMs = this.options.openTimeoutMs ?? 3000;
      const timer = setTimeout(() => fail(openTimeoutError('AUDIO_CAPTURE_OPEN', 'arecord', device, timeoutMs)), timeoutMs);
      const fail = (err: PttError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        closeRun(run);
        reject(err);
      };
      child.on('error', (err: NodeJS.ErrnoException) => {
        this.#live.delete(child);
        fail(spawnError(cmd, err, 'AUDIO_CAPTURE'));
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderrTail = (stderrTail + text).slice(-2000);
        if (!settled && stderrTail.includes('Its setup is:')) {
          if (this.#stopped) return void child.kill('SIGKILL'); // stop() came first; 'exit' rejects
          settled = true;
          clearTimeout(timer);
          this.#run = run;
          this.#partial = undefined;
          this.#stall.opened();
          resolve();
        }
        const overrun = /overrun!!! \(at least ([\d.]+) ms long\)/.exec(text);
        if (overrun && this.#run === run) {
          this.#overruns++;
          this.options.logger?.debug('capture overrun', { device, lostMs: Number(overrun[1]), overruns: this.#overruns });
          this.emit('overrun');
        }
      });
      child.on('exit', (code, signal) => {
        this.#live.delete(child);
        if (!settled) {
          if (this.#stopped) {
            return fail(
              new PttError('AUDIO_CAPTURE_STOPPED', `the microphone was stopped while arecord was opening "${device}"`, {
                context: { device },
              }),
            );
          }
          const reason = arecordError(stderrTail) || `arecord exited with ${signal ?? `code ${code}`}`;
          void this.#openError(device, reason).then(fail);
          return;
        }
        if (this.#run !== run) return; // killed on purpose (stop)
        // What arecord wrote before it died is still in the pipe: deliver it, then let go.
        this.#drain(run);
        this.#run = undefined;
        closeRun(run);
        this.#respawner.died(
          diedError('AUDIO_CAPTURE_DIED', 'arecord', { code, signal }, { device, stderr: arecordError(stderrTail) }, 'the microphone'),
        );
      });
    });
  }

  #openError(device: string, reason: string): Promise<PttError> {
    return deviceOpenError('capture', device, reason, {
      ...(this.options.listCaptureDevices ? { list: this.options.listCaptureDevices } : {}),
      ...(this.options.env ? { env: this.options.env } : {}),
    });
  }
}

function mkfifo(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('mkfifo', ['-m', '600', path], { env: audioChildEnv() }, (err, _out, stderr) => {
      if (!err) return resolve();
      reject(
        new PttError('AUDIO_CAPTURE', `cannot make the capture FIFO ${path}: ${String(stderr).trim() || err.message}`, {
          context: { path },
          hint: 'mkfifo (coreutils) must be installed and the temporary directory writable',
        }),
      );
    });
  });
}

function closeRun(run: Run): void {
  if (run.closed) return;
  run.closed = true;
  closeSync(run.fd); // a still running arecord gets EPIPE on its next write
}

/** The line of arecord's stderr that says what went wrong (libasound's reason first). */
export function arecordError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  const alsa = lines.filter((l) => l.startsWith('ALSA lib ')).map((l) => l.replace(/^ALSA lib \S+:\(\S+\) /, ''));
  const own = lines.filter((l) => /^arecord: /.test(l)).map((l) => l.replace(/^arecord: \S+:\d+: /, '').replace(/^arecord: /, ''));
  return [...alsa, ...own].filter((l) => l.length > 0).join('; ');
}

function killAndWait(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
