import type { Component } from '../core/component.js';
import type { PttError } from '../core/errors.js';
import type { TypedEmitter } from '../core/typed-emitter.js';

export type AudioSinkEvents = {
  /** The stream's audio has all been played (after endStream(), or a quiet spell). */
  drained: [];
  /** The queue ran dry mid-stream and was bridged with silence; reported when audio resumes. */
  underrun: [{ gapMs: number }];
  error: [PttError];
  /** The output process was restarted after it died (not after interrupt()). */
  respawned: [{ attempt: number }];
};

/**
 * The speaker edge. A stream starts with the first write() after the sink was idle (or with
 * beginStream()) and ends when its audio has played out: `playedMs()` counts only that stream's
 * audio that reached the device, which is what conversation.item.truncate needs.
 */
export interface AudioSink extends Component, Pick<TypedEmitter<AudioSinkEvents>, 'on' | 'once' | 'off' | 'next'> {
  /** Queues PCM16 24 kHz mono; plays in order at real time. */
  write(pcm: Buffer): void;
  /** Starts a new stream now: playedMs() restarts from 0 for audio written after this call. */
  beginStream(): void;
  /** No more audio for this stream: `drained` fires as soon as it has played out. */
  endStream(): void;
  /** Stops now, drops queued audio, returns the stream's played ms; the sink is then idle. */
  interrupt(): number;
  /** Milliseconds of the current stream's audio that reached the device. */
  playedMs(): number;
  /** How long until the stream's position `ms` is heard; undefined while that is not known yet. */
  untilPlayedMs?(ms: number): number | undefined;
  /** Linear gain 0..1, applied from the next period (live). */
  setVolume(gain: number): void;
  readonly stats: SinkStats;
}

export interface SinkStats {
  /** Mid-stream gaps bridged with silence. */
  underruns: number;
  /** Output process restarts after a crash. */
  respawns: number;
  /** Bytes handed to the device, audio and silence. */
  deliveredBytes: number;
}
