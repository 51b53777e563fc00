/**
 * The jitter buffer and real-time pacer behind every AudioSink. Audio is handed to the device in
 * whole periods on a real-time clock, so the position of the device is known:
 * it always holds at least `leadMs` minus a period, and the pacer wakes about every `wakeMs` to
 * hand over up to `wakeMs` more of queued audio in one write (a longer wake costs fewer
 * wake-ups, not headroom; what sits in the device past the lead is dropped with it by a stop).
 * Gaps inside a stream are bridged with silence that ramps from the last sample to zero (no
 * click), and the resumed audio fades in. Between streams it hands over nothing and its timer
 * stops (an idle speaker costs no wake-ups); the next write restarts the clock. Subclasses only
 * deliver bytes.
 */
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { bytesToMs, fade, lastSample, msToBytes, rampToZero, scaleVolume } from './pcm.js';
import type { AudioSink, AudioSinkEvents, SinkStats } from './sink.js';

export interface PacedSinkOptions {
  /** How far ahead of real time audio is handed to the device (config audio.output.bufferMs). */
  leadMs?: number;
  /** Chunk length (config audio.output.periodMs). */
  periodMs?: number;
  /** How often the pacer wakes while audio flows (default: every period). */
  wakeMs?: number;
  /** Linear gain 0..1 (config audio.output.volume). */
  volume?: number;
  /**
   * How long audio handed to the device takes to reach the listener: a real DAC plays it
   * about max(lead, ALSA buffer) later; a file or an unpaced device at once (0).
   */
  deviceDelayMs?: number;
  /** A stream with nothing queued for this long counts as finished even without endStream(). */
  drainGraceMs?: number;
  /**
   * After a stream, keep delivering silence for this long (aplay: until the device has played
   * the stream out and holds only zeros), then hand over nothing and stop waking up until the
   * next write: an idle speaker costs no CPU. The device then underruns quietly (ALSA stops
   * the stream; aplay prepares it again at the next write). Default 0: stop at once.
   */
  idleTailMs?: number;
  /** Hand everything over at once instead of in real time (a WAV file for tests). */
  unpaced?: boolean;
  logger?: Logger;
}

const DECLICK_SAMPLES = 72; // 3 ms at 24 kHz: long enough to remove a step, too short to hear

/** One delivered chunk: where it sits on the device timeline and on the audio timeline. */
interface Mark {
  deviceStart: number;
  deviceEnd: number;
  audioStart: number;
  audioEnd: number;
}

export abstract class PacedSink extends TypedEmitter<AudioSinkEvents> implements AudioSink {
  abstract readonly name: string;
  protected readonly periodMs: number;
  protected readonly leadMs: number;
  readonly #wakeMs: number;
  protected readonly logger: Logger | undefined;
  #gain: number;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #carry: Buffer | undefined;
  #starvedSince: number | undefined; // nothing handed over since then (quiet, or no silent tail)
  #clockOrigin = 0; // device bytes delivered when the clock was (re)anchored
  #timer: NodeJS.Timeout | undefined;
  #clockStart = 0;
  #clockBytes = 0; // delivered since the clock was (re)anchored
  #running = false;
  #paused = false;
  // Positions: device bytes delivered (audio + silence) and audio bytes delivered, per chunk.
  #delivered = 0;
  #audioDelivered = 0;
  #marks: Mark[] = [];
  #streamStart: number | undefined; // audio position where the current stream starts
  #ended = false;
  #lastWriteAt = 0;
  #inGap = false;
  #gapBytes = 0;
  #lastOut = 0;
  #underruns = 0;
  #lastAudioEnd = -Infinity; // device position (bytes delivered) where the last audio chunk ended
  #quiet = false; // nothing due and the clock stopped until the next write
  #prime = 0; // bytes of silence to hand over before the audio that woke a quiet device
  protected respawnCount = 0;

  constructor(protected readonly sinkOptions: PacedSinkOptions) {
    super();
    this.periodMs = sinkOptions.periodMs ?? 20;
    this.leadMs = sinkOptions.leadMs ?? 120;
    this.#wakeMs = Math.max(this.periodMs, sinkOptions.wakeMs ?? this.periodMs);
    this.logger = sinkOptions.logger;
    this.#gain = checkGain(sinkOptions.volume ?? 1);
  }

  abstract start(): Promise<void>;
  abstract stop(): Promise<void>;
  /** Hands one chunk to the device. */
  protected abstract deliver(chunk: Buffer): void;

  get stats(): SinkStats {
    return { underruns: this.#underruns, respawns: this.respawnCount, deliveredBytes: this.#delivered };
  }

  setVolume(gain: number): void {
    this.#gain = checkGain(gain);
  }

  write(pcm: Buffer): void {
    if (this.#carry) {
      pcm = Buffer.concat([this.#carry, pcm]);
      this.#carry = undefined;
    }
    if (pcm.length % 2 !== 0) {
      // A delta split inside a sample: keep the odd byte for the next write rather than lose it.
      this.#carry = Buffer.from(pcm.subarray(pcm.length - 1));
      pcm = pcm.subarray(0, pcm.length - 1);
    }
    if (pcm.length === 0) return;
    if (this.#streamStart === undefined) this.beginStream();
    this.#ended = false; // more follows after all: the stream goes on
    this.#queue.push(pcm);
    this.#queuedBytes += pcm.length;
    this.#lastWriteAt = performance.now();
    if (this.sinkOptions.unpaced) this.#pump();
    else if (this.#quiet) this.#wake();
    // Only waiting for the device to run out: this audio must follow what it holds without a gap.
    else if (this.#starvedSince !== undefined && this.#running && !this.#paused) this.#pump();
  }

  beginStream(): void {
    this.#streamStart = this.#audioDelivered + this.#queuedBytes;
    this.#ended = false;
    this.#inGap = false;
    this.#lastWriteAt = performance.now();
  }

  endStream(): void {
    this.#ended = true;
    if (this.sinkOptions.unpaced) this.#checkDrained();
  }

  playedMs(): number {
    if (this.#streamStart === undefined) return 0;
    return Math.max(0, Math.round(bytesToMs(this.#audioPlayed() - this.#streamStart)));
  }

  /**
   * Milliseconds until the stream's audio position `ms` reaches the listener, if the device keeps
   * playing what it holds; undefined while that audio has not been handed over yet.
   */
  untilPlayedMs(ms: number): number | undefined {
    if (this.#streamStart === undefined) return undefined;
    if (this.sinkOptions.unpaced) return 0;
    const audio = this.#streamStart + msToBytes(ms);
    const mark = this.#marks.find((m) => m.audioStart <= audio && audio < m.audioEnd);
    if (!mark) return undefined;
    const device = mark.deviceStart + (audio - mark.audioStart);
    const lagMs = (this.sinkOptions.deviceDelayMs ?? 0) - this.leadMs;
    return Math.max(0, this.#clockStart + bytesToMs(device - this.#clockOrigin) + lagMs - performance.now());
  }

  interrupt(): number {
    const played = this.playedMs();
    this.#carry = undefined;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#streamStart = undefined;
    this.#inGap = false;
    // Whatever is in flight will never be heard: count it as played-out so positions stay sane.
    this.#marks = [];
    this.stopDevice();
    return played;
  }

  /** Silences the device at once (a subclass kills and restarts its process). */
  protected stopDevice(): void {}

  /** Starts (or re-anchors) the pacing clock; subclasses call it once the device is ready. */
  protected startClock(): void {
    this.#running = true;
    this.#paused = false;
    this.#clockStart = performance.now();
    this.#clockBytes = 0;
    this.#clockOrigin = this.#delivered;
    this.#marks = [];
    this.#lastOut = 0; // a fresh device starts from silence: nothing to ramp down from
    this.#starvedSince = undefined;
    this.#lastAudioEnd = -Infinity; // and holds no audio to push out with a silent tail
    this.#quiet = false;
    this.#schedule(0);
  }

  /**
   * The first write after a quiet spell: the device has played everything and stopped, so the
   * clock starts again from now (no burst to make up for the quiet time) and audio goes out at once.
   */
  #wake(): void {
    this.#quiet = false;
    this.#clockStart = performance.now();
    this.#clockBytes = 0;
    this.#clockOrigin = this.#delivered;
    // The device is empty: a lead of silence first gives the answer the same jitter headroom a
    // running stream has, so audio that arrives at real time is not bridged with ramps.
    this.#prime = msToBytes(this.leadMs);
    this.#pump();
  }

  /** Stops handing over audio (the device is gone); queued audio waits for resumeClock(). */
  protected pauseClock(): void {
    this.#paused = true;
    this.#quiet = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  protected stopClock(): void {
    this.#running = false;
    this.pauseClock();
  }

  /**
   * Where the listener is on the device timeline. The device plays in real time from the moment
   * the clock was anchored (it gets a lead's worth at once and is never left to run dry while a
   * stream plays), so that is the clock, less what the device lags behind the lead, and never
   * past what it was given.
   */
  #heardBytes(): number {
    if (this.sinkOptions.unpaced) return this.#delivered;
    const lagMs = (this.sinkOptions.deviceDelayMs ?? 0) - this.leadMs;
    return Math.min(this.#delivered, this.#clockOrigin + msToBytes(performance.now() - this.#clockStart - lagMs));
  }

  /** Audio bytes (all streams) that have reached the listener by now. */
  #audioPlayed(): number {
    if (this.sinkOptions.unpaced) return this.#audioDelivered;
    const at = this.#heardBytes();
    for (let i = this.#marks.length - 1; i >= 0; i--) {
      const m = this.#marks[i]!;
      if (at >= m.deviceEnd) return m.audioEnd;
      if (at >= m.deviceStart) return m.audioStart + (m.audioEnd > m.audioStart ? at - m.deviceStart : 0);
    }
    return this.#marks.length ? this.#marks[0]!.audioStart : this.#audioDelivered;
  }

  #schedule(waitMs: number): void {
    if (!this.#running || this.#paused || this.sinkOptions.unpaced) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#pump();
      },
      Math.max(0, waitMs),
    );
  }

  #pump(): void {
    const period = msToBytes(this.periodMs);
    const now = performance.now();
    const elapsed = now - this.#clockStart;
    // Silence bridging a gap only up to the lead: audio arriving next must not wait behind it.
    const silenceTarget = this.sinkOptions.unpaced ? Infinity : msToBytes(elapsed + this.leadMs);
    const audioTarget = this.sinkOptions.unpaced ? Infinity : msToBytes(elapsed + this.leadMs - this.periodMs + this.#wakeMs);
    const out: Buffer[] = [];
    while (this.#clockBytes < audioTarget) {
      // Audio due goes out as one chunk (whole periods); silence a period at a time.
      const budget = Math.ceil((audioTarget - this.#clockBytes) / period) * period;
      const chunk = this.#nextChunk(period, budget, this.#clockBytes < silenceTarget);
      if (!chunk) {
        if (this.#clockBytes < silenceTarget) this.#starvedSince ??= now;
        break;
      }
      this.#starvedSince = undefined;
      if (chunk.audio > 0) this.#lastAudioEnd = this.#delivered + chunk.bytes.length;
      this.#clockBytes += chunk.bytes.length;
      const mark = {
        deviceStart: this.#delivered,
        deviceEnd: this.#delivered + chunk.bytes.length,
        audioStart: this.#audioDelivered,
        audioEnd: this.#audioDelivered + chunk.audio,
      };
      this.#delivered = mark.deviceEnd;
      this.#audioDelivered = mark.audioEnd;
      this.#marks.push(mark);
      out.push(chunk.bytes);
    }
    if (out.length > 0) this.deliver(out.length === 1 ? out[0]! : Buffer.concat(out));
    this.#pruneMarks();
    this.#checkDrained();
    if (this.#starvedSince !== undefined && this.#streamStart === undefined && this.#queuedBytes === 0) {
      // Nothing to play and nothing pending: sleep until write() wakes the clock.
      if (this.#running && !this.#paused) this.#quiet = true;
      return;
    }
    // Wake when the device is down to the lead less a period (the clock, not the timer, decides
    // how much to hand over then); starved, only the drain check is left: when the device runs out.
    const due = bytesToMs(this.#clockBytes) - this.leadMs + this.periodMs - (performance.now() - this.#clockStart) + 1;
    const runsOut = bytesToMs(this.#delivered - this.#heardBytes()) + 1;
    this.#schedule(this.#starvedSince === undefined ? due : Math.max(this.periodMs, runsOut));
  }

  #nextChunk(period: number, budget: number, silenceDue: boolean): { bytes: Buffer; audio: number } | undefined {
    if (this.#prime > 0) {
      const n = Math.min(budget, this.#prime);
      this.#prime -= n;
      return { bytes: Buffer.alloc(n), audio: 0 };
    }
    if (this.#queuedBytes > 0) {
      let out = this.#take(Math.min(budget, this.#queuedBytes));
      out = scaleVolume(out, this.#gain);
      if (this.#inGap) {
        this.#inGap = false;
        this.#underruns++;
        out = fade(Buffer.from(out), 'in', DECLICK_SAMPLES);
        this.emit('underrun', { gapMs: Math.round(bytesToMs(this.#gapBytes)) });
      }
      this.#lastOut = lastSample(out);
      return { bytes: out, audio: out.length };
    }
    if (this.sinkOptions.unpaced) return undefined;
    const streaming = this.#streamStart !== undefined && !this.#ended;
    // Counted in delivered bytes, not wall time: a late timer must not cut the tail short.
    const tail = this.#delivered - this.#lastAudioEnd < msToBytes(this.sinkOptions.idleTailMs ?? 0);
    // The tail of an ended stream goes out in one write (no wake-ups to drip it). Audio written
    // while it plays waits behind at most idleTailMs - leadMs more silence than if it were
    // dripped. A gap inside a stream is bridged only as it comes due.
    if (streaming ? !silenceDue : !tail) return undefined;
    const fill = Buffer.alloc(period);
    if (this.#lastOut !== 0) {
      // Ramp from where the waveform stopped instead of jumping to zero.
      rampToZero(this.#lastOut, Math.min(DECLICK_SAMPLES, period / 2)).copy(fill);
      this.#lastOut = 0;
    }
    if (streaming) {
      if (!this.#inGap) this.#gapBytes = 0;
      this.#inGap = true;
      this.#gapBytes += period;
    }
    return { bytes: fill, audio: 0 };
  }

  #take(bytes: number): Buffer {
    const parts: Buffer[] = [];
    let need = bytes;
    while (need > 0) {
      const head = this.#queue[0]!;
      if (head.length <= need) {
        parts.push(head);
        this.#queue.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.#queue[0] = head.subarray(need);
        need = 0;
      }
    }
    this.#queuedBytes -= bytes;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  #pruneMarks(): void {
    // Chunks wholly behind the listening position are only needed as its lower bound.
    const at = this.#heardBytes();
    let drop = 0;
    while (drop < this.#marks.length - 1 && this.#marks[drop + 1]!.deviceEnd <= at) drop++;
    if (drop > 0) this.#marks.splice(0, drop);
  }

  #checkDrained(): void {
    if (this.#streamStart === undefined || this.#queuedBytes > 0) return;
    const grace = this.sinkOptions.drainGraceMs ?? 1500;
    const over = this.#ended || performance.now() - this.#lastWriteAt >= grace;
    if (!over || this.#audioPlayed() < this.#audioDelivered) return;
    this.#streamStart = undefined;
    this.#inGap = false;
    this.emit('drained');
  }
}

function checkGain(gain: number): number {
  if (!Number.isFinite(gain) || gain < 0 || gain > 1) {
    throw new PttError('AUDIO_BAD_OPTION', `volume ${gain} is out of range`, {
      context: { volume: gain },
      hint: 'set audio.output.volume between 0 and 1',
    });
  }
  return gain;
}
