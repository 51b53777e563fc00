/**
 * The way out for microphone audio and turn commands: one ordered queue (the gate) in front of
 * the verified socket. Audio and commands wait in the gate while the session is not verified,
 * and also while the socket cannot take more: what the socket buffers is bounded
 * (`maxBufferedBytes`), so a slow uplink never grows memory without end or starves the event loop.
 * The gate is bounded too (by duration); audio past it is refused with one error per episode.
 * A slow uplink is reported once with its figures, and again when it recovers.
 *
 * Every append and command that goes out is written in the socket's TurnLedger, so a socket that
 * dies is replayed whole on the next one.
 */
import type { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { bytesToMs } from '../core/pcm-format.js';
import { realtimeErrors } from './errors.js';
import { AudioGate, Chunker, type GateItem } from './gate.js';
import type { ClientEvent } from './protocol.js';
import type { TurnLedger, Unacknowledged } from './turn-ledger.js';

export type TurnCommand = Extract<GateItem, { kind: 'command' }>['name'];

/** A verified socket, as the outbox sees it. */
export interface Wire {
  readonly ledger: TurnLedger;
  /** Bytes accepted by send() and not yet handed to the kernel (ws's bufferedAmount). */
  readonly bufferedAmount: number;
  send(event: ClientEvent): void;
  /** A response.create went out (the session counts them until response.created). */
  responseRequested(): void;
}

export type UplinkReport =
  | { state: 'slow'; bufferedBytes: number; queuedMs: number }
  | { state: 'recovered'; slowMs: number; maxBufferedBytes: number; refusedMs: number };

export interface OutboxOptions {
  /** The most audio the gate holds (while not verified, or behind a slow uplink). */
  maxQueuedMs: number;
  /** Size of the appends that carry audio which waited in the gate: a backlog goes out in frames this big, so the socket passes its bound by one of them at most. */
  chunkBytes: number;
  /** The socket's buffered amount at which audio waits in the gate instead. */
  maxBufferedBytes: number;
  /** How often a congested socket is checked for room. */
  drainCheckMs: number;
  logger: Logger;
  onError: (error: PttError) => void;
  onUplink: (report: UplinkReport) => void;
}

interface SlowEpisode {
  since: number;
  maxBufferedBytes: number;
  refusedMs: number;
  refusalReported: boolean;
}

export class Outbox {
  readonly #o: OutboxOptions;
  readonly #gate: AudioGate;
  readonly #chunker: Chunker;
  #wire: Wire | undefined;
  #timer: NodeJS.Timeout | undefined;
  #slow: SlowEpisode | undefined;
  /** Refusals while not verified are reported once per episode: a stream of them would flood the journal. */
  #overflowing = false;

  constructor(options: OutboxOptions) {
    this.#o = options;
    this.#gate = new AudioGate(options.maxQueuedMs);
    this.#chunker = new Chunker(options.chunkBytes);
  }

  /** Milliseconds of audio waiting in the gate. */
  get queuedMs(): number {
    return this.#gate.queuedMs;
  }

  /** Items (audio pieces and commands) waiting in the gate. */
  get waiting(): number {
    return this.#gate.length;
  }

  /** The socket is verified: what waits goes out, in order, as fast as the socket takes it. */
  attach(wire: Wire): void {
    this.#wire = wire;
    this.#pump();
  }

  /** The socket stays but is being verified again (a changed profile): everything waits until attach(). */
  pause(): void {
    this.#wire = undefined;
    this.#stopTimer();
  }

  /**
   * The socket is gone. What its ledger never got acknowledged goes back in
   * front of the gate, for the next socket; audio that no longer fits is reported.
   */
  detach(unacknowledged: Unacknowledged = { items: [], droppedMs: 0 }): void {
    this.#wire = undefined;
    this.#stopTimer();
    this.#slow = undefined;
    this.#chunker.reset();
    const refusedMs = unacknowledged.droppedMs + this.#gate.requeueFront(unacknowledged.items);
    if (refusedMs > 0) this.#o.onError(realtimeErrors.gateOverflow(this.#o.maxQueuedMs, refusedMs));
  }

  /**
   * Microphone audio; false (with one error per episode) when the gate is full. Audio handed over
   * at once (a press's pre-roll, a live batch) goes out as one append when nothing waits: one
   * frame reaches the server sooner than several, and the socket was checked before it either way.
   */
  audio(pcm: Buffer): boolean {
    const wire = this.#wire;
    if (wire && this.#gate.length === 0 && !this.#congested(wire)) {
      this.#overflowing = false;
      const whole = this.#chunker.whole(pcm);
      if (whole.length > 0) this.#sendAppend(wire, whole);
      return true;
    }
    if (!this.#gate.pushAudio(pcm)) {
      this.#refused(bytesToMs(pcm.length));
      return false;
    }
    this.#overflowing = false;
    if (wire) this.#armTimer();
    return true;
  }

  /** A turn command, in order after the audio before it. */
  command(name: TurnCommand): void {
    const wire = this.#wire;
    // A command is a few bytes: it goes out at once when nothing waits before it, congested or not.
    if (wire && this.#gate.length === 0) this.#sendCommand(wire, name);
    else {
      this.#gate.pushCommand(name);
      if (wire) this.#armTimer();
    }
  }

  #refused(ms: number): void {
    const slow = this.#slow;
    if (this.#wire && slow) {
      slow.refusedMs += ms;
      if (!slow.refusalReported) {
        slow.refusalReported = true;
        this.#o.onError(
          realtimeErrors.uplinkSlow({
            bufferedBytes: this.#wire.bufferedAmount,
            queuedMs: this.#gate.queuedMs,
            maxQueuedMs: this.#o.maxQueuedMs,
            refusedMs: ms,
          }),
        );
      }
      return;
    }
    if (!this.#overflowing) this.#o.onError(realtimeErrors.gateOverflow(this.#o.maxQueuedMs, ms));
    this.#overflowing = true;
  }

  /** Sends what waits, in order, until the socket is full; audio coalesced into full chunks. */
  #pump(): void {
    const wire = this.#wire;
    if (!wire) return;
    const chunkBytes = this.#o.chunkBytes;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const sendFullChunks = (): void => {
      const data = Buffer.concat(pending);
      const full = data.length - (data.length % chunkBytes);
      for (let off = 0; off < full; off += chunkBytes) this.#sendAppend(wire, data.subarray(off, off + chunkBytes));
      pending = full < data.length ? [data.subarray(full)] : [];
      pendingBytes = data.length - full;
    };
    const sendRest = (): void => {
      for (const chunk of this.#chunker.coalesce(pending)) this.#sendAppend(wire, chunk);
      pending = [];
      pendingBytes = 0;
    };
    while (this.#gate.length > 0) {
      const next = this.#gate.peek()!;
      if (next.kind === 'command') {
        sendRest();
        this.#gate.shift();
        this.#sendCommand(wire, next.name);
        continue;
      }
      // Checked before every piece, so the socket's buffer passes its bound by one chunk at most.
      if (this.#congested(wire)) break;
      this.#gate.shift();
      pending.push(next.pcm);
      pendingBytes += next.pcm.length;
      if (pendingBytes >= chunkBytes) sendFullChunks();
    }
    if (this.#gate.length === 0) sendRest();
    // Stopped by a full socket: the part of a chunk not sent yet waits in front, for the next pump.
    else if (pendingBytes > 0) this.#gate.requeueFront([{ kind: 'audio', pcm: Buffer.concat(pending) }]);
    if (this.#gate.length > 0 || this.#slow) this.#armTimer();
    else this.#stopTimer();
    this.#checkRecovered(wire);
  }

  #congested(wire: Wire): boolean {
    const buffered = wire.bufferedAmount;
    if (buffered < this.#o.maxBufferedBytes) return false;
    if (!this.#slow) {
      this.#slow = { since: performance.now(), maxBufferedBytes: buffered, refusedMs: 0, refusalReported: false };
      const queuedMs = Math.round(this.#gate.queuedMs);
      this.#o.logger.warn('uplink slower than the microphone: audio waits before the socket', {
        bufferedBytes: buffered,
        queuedMs,
        maxBufferedBytes: this.#o.maxBufferedBytes,
      });
      this.#o.onUplink({ state: 'slow', bufferedBytes: buffered, queuedMs });
      this.#armTimer();
    }
    this.#slow.maxBufferedBytes = Math.max(this.#slow.maxBufferedBytes, buffered);
    return true;
  }

  /** The episode ends once nothing waits and the socket has drained to half its bound. */
  #checkRecovered(wire: Wire): void {
    const slow = this.#slow;
    if (!slow || this.#gate.length > 0 || wire.bufferedAmount > this.#o.maxBufferedBytes / 2) return;
    this.#slow = undefined;
    this.#stopTimer();
    const report = {
      slowMs: Math.round(performance.now() - slow.since),
      maxBufferedBytes: slow.maxBufferedBytes,
      refusedMs: Math.round(slow.refusedMs),
    };
    this.#o.logger.info('uplink recovered: audio goes straight to the socket again', report);
    this.#o.onUplink({ state: 'recovered', ...report });
  }

  #armTimer(): void {
    // Only while something waits on a congested or backlogged socket: no wake-ups otherwise.
    this.#timer ??= setInterval(() => this.#pump(), this.#o.drainCheckMs);
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sendCommand(wire: Wire, name: TurnCommand): void {
    if (name === 'response') {
      wire.responseRequested();
      wire.ledger.response();
      wire.send({ type: 'response.create' });
      return;
    }
    this.#chunker.reset();
    if (name === 'commit') wire.ledger.commit();
    else wire.ledger.clear();
    wire.send({ type: name === 'commit' ? 'input_audio_buffer.commit' : 'input_audio_buffer.clear' });
  }

  #sendAppend(wire: Wire, chunk: Buffer): void {
    wire.ledger.audio(chunk);
    wire.send({ type: 'input_audio_buffer.append', audio: chunk.toString('base64') });
  }
}

/** Default bound of the socket's buffer: about 2 s of audio as base64 JSON. */
export const DEFAULT_MAX_BUFFERED_BYTES = 128 * 1024;
