/**
 * The speaker: an `aplay` child reading raw PCM16 24 kHz mono on stdin, fed on a real-time clock by
 * PacedSink. interrupt() kills the child (the kernel drops the ALSA buffer on close, so sound
 * stops at once) and starts a fresh one; a child that dies on its own is respawned with
 * doubling delays and reported. The child gets a minimal environment: never the API key.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { PttError, toPttError } from '../core/errors.js';
import { deviceOpenError } from './alsa-devices.js';
import { audioChildEnv, diedError, openTimeoutError, spawnError } from './child-env.js';
import { PacedSink, type PacedSinkOptions } from './paced-sink.js';
import { Respawner } from './respawner.js';

export interface AplayPlayerOptions extends PacedSinkOptions {
  device: string;
  /** ALSA buffer (aplay --buffer-time); default 3 periods. */
  alsaBufferMs?: number;
  /** aplay executable (tests point it elsewhere). */
  aplayPath?: string;
  /** The environment the minimal child env is picked from (default process.env). */
  env?: NodeJS.ProcessEnv;
  respawnMinMs?: number;
  respawnMaxMs?: number;
  /** How long start() waits for aplay to open the device. */
  openTimeoutMs?: number;
  listPlaybackDevices?: () => Promise<string[]>;
}

type Child = ChildProcessByStdio<Writable, null, Readable>;

/** How often the pacer hands audio to aplay while it plays (2.5 wake-ups per second of answer at 400; a 64 KiB pipe holds 1.3 s). */
const WAKE_MS = 400;

export class AplayPlayer extends PacedSink {
  readonly name = 'audio.aplay';
  #child: Child | undefined;
  /** Every aplay not yet exited: the running one, one still opening the device, one being killed. */
  readonly #live = new Set<Child>();
  #stopping = false;
  /** Failed starts in this outage: its attempt count. */
  readonly #respawner: Respawner;
  readonly #alsaBufferMs: number;

  constructor(private readonly options: AplayPlayerOptions) {
    const periodMs = options.periodMs ?? 20;
    const alsaBufferMs = options.alsaBufferMs ?? periodMs * 3;
    // A real DAC plays what it is handed about max(lead, ALSA buffer) later (aplay starts when its buffer is full).
    const deviceDelayMs = options.deviceDelayMs ?? Math.max(options.leadMs ?? 120, alsaBufferMs);
    // Between answers aplay is fed nothing and the device underruns: no wake-ups, no writes. A
    // silent tail first pushes the answer's last samples out of the ALSA buffer and leaves only
    // zeros in it, so the stopped DAC rests on silence (no click).
    // The pacer wakes every WAKE_MS, not every period: aplay's pipe holds the audio handed over
    // past the lead, and a stop kills aplay with it.
    super({ deviceDelayMs, idleTailMs: deviceDelayMs + 2 * periodMs, wakeMs: WAKE_MS, ...options });
    this.#alsaBufferMs = alsaBufferMs;
    this.#respawner = new Respawner({
      what: 'aplay',
      minMs: options.respawnMinMs ?? 200,
      maxMs: options.respawnMaxMs ?? 5000,
      logger: options.logger,
      spawn: () => this.#spawn(),
      stopped: () => this.#stopping,
      report: (err) => this.emit('error', err),
      restarted: (attempt) => {
        this.respawnCount++;
        this.startClock();
        this.logger?.info('aplay restarted', { attempt });
        this.emit('respawned', { attempt });
      },
      code: 'AUDIO_PLAYBACK',
    });
  }

  /** The aplay command line (no secrets ever appear here). */
  get argv(): string[] {
    return [
      '-v', // prints "Its setup is:" once the device is open: our readiness signal
      '-t',
      'raw',
      '-f',
      'S16_LE',
      '-r',
      '24000',
      '-c',
      '1',
      '-D',
      this.options.device,
      `--buffer-time=${this.#alsaBufferMs * 1000}`,
      `--period-time=${this.periodMs * 1000}`,
    ];
  }

  async start(): Promise<void> {
    if (this.#child) return;
    this.#stopping = false;
    if (/^hw:/.test(this.options.device)) {
      this.logger?.warn('raw hw: playback device configured; it cannot convert rate or channels', {
        device: this.options.device,
        hint: `use plughw:${this.options.device.slice(3)}`,
      });
    }
    await this.#spawn();
    this.startClock();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#respawner.cancel();
    this.stopClock();
    const child = this.#child;
    this.#child = undefined;
    // Let aplay play what it already has (end of stdin drains), but never wait forever.
    const draining = child ? endAndWait(child, this.leadMs + this.#alsaBufferMs + 500) : Promise.resolve();
    // Any other aplay (still opening the device, or killed by an interrupt) must not outlive us:
    // one blocked in the device's open() would hold it until the machine restarts.
    const others = [...this.#live].filter((c) => c !== child).map((c) => killAndWait(c));
    await Promise.all([draining, ...others]);
  }

  /** The running aplay's process id (for doctor and tests). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  protected deliver(chunk: Buffer): void {
    const child = this.#child;
    if (!child?.stdin.writable) return;
    child.stdin.write(chunk);
  }

  protected override stopDevice(): void {
    const child = this.#child;
    if (!child || this.#stopping) return;
    this.#child = undefined;
    this.pauseClock();
    // A fresh aplay for the next answer; the old one is killed with its buffered audio.
    void killAndWait(child).then(() => {
      if (this.#stopping) return;
      this.#spawn().then(
        () => this.startClock(),
        (err: unknown) => this.#crashed(toPttError(err, 'AUDIO_PLAYBACK')),
      );
    });
  }

  #spawn(): Promise<void> {
    const cmd = this.options.aplayPath ?? 'aplay';
    const { device } = this.options;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let stderrTail = '';
      const child = spawn(cmd, this.argv, { env: audioChildEnv(this.options.env ?? process.env), stdio: ['pipe', 'ignore', 'pipe'] });
      this.#live.add(child);
      const timeoutMs = this.options.openTimeoutMs ?? 3000;
      const timer = setTimeout(() => fail(openTimeoutError('AUDIO_PLAYBACK_OPEN', 'aplay', device, timeoutMs)), timeoutMs);
      const fail = (err: PttError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(err);
      };
      child.stdin.on('error', () => {
        /* EPIPE when aplay dies; 'exit' handles it */
      });
      child.on('error', (err: NodeJS.ErrnoException) => {
        fail(spawnError(cmd, err, 'AUDIO_PLAYBACK'));
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderrTail = (stderrTail + text).slice(-2000);
        if (!settled && stderrTail.includes('Its setup is:')) {
          if (this.#stopping) return void child.kill('SIGKILL'); // stop() came first; 'exit' rejects
          settled = true;
          clearTimeout(timer);
          this.#child = child;
          resolve();
        }
        if (/underrun/.test(text)) this.logger?.debug('aplay reported an underrun', { device });
      });
      child.on('exit', (code, signal) => {
        this.#live.delete(child);
        if (!settled && this.#stopping) {
          fail(
            new PttError('AUDIO_PLAYBACK_STOPPED', `the speaker was stopped while aplay was opening "${device}"`, {
              context: { device },
            }),
          );
          return;
        }
        if (!settled) {
          const reason = lastErrorLine(stderrTail) || `exited with ${signal ?? code}`;
          void this.#openError(device, reason).then(fail);
          return;
        }
        if (this.#child !== child) return; // killed on purpose (interrupt or stop)
        this.#child = undefined;
        this.#crashed(
          diedError('AUDIO_PLAYBACK_DIED', 'aplay', { code, signal }, { device, stderr: lastErrorLine(stderrTail) }, 'the device'),
        );
      });
    });
  }

  #openError(device: string, reason: string): Promise<PttError> {
    return deviceOpenError('playback', device, reason, {
      ...(this.options.listPlaybackDevices ? { list: this.options.listPlaybackDevices } : {}),
      ...(this.options.env ? { env: this.options.env } : {}),
    });
  }

  /** aplay is gone: the clock waits (nothing plays) while it is started again. */
  #crashed(err: PttError): void {
    if (this.#stopping) return;
    this.pauseClock();
    this.#respawner.died(err);
  }
}

function lastErrorLine(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((l) => /error|Unknown|No such|cannot|Invalid/i.test(l));
  return (lines.pop() ?? '').replace(/^aplay: \S+: ?/, '').trim();
}

function endAndWait(child: Child, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin.end();
  });
}

function killAndWait(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    // Kill before closing stdin: EOF first would let aplay drain its buffer to the speaker.
    child.kill('SIGKILL');
    child.stdin.destroy();
  });
}
