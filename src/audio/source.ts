import type { Component } from '../core/component.js';
import type { PttError } from '../core/errors.js';
import type { TypedEmitter } from '../core/typed-emitter.js';

export type AudioSourceEvents = {
  /** Whole periods of PCM16 24 kHz mono: one, or all a batched source read at once. */
  frame: [Buffer];
  error: [PttError];
  /** The device lost audio (ALSA overrun); the stale period it re-delivers is already dropped. */
  overrun: [];
};

/** The microphone edge: a real ALSA capture or a paced file, behind one interface. */
export interface AudioSource extends Component, Pick<TypedEmitter<AudioSourceEvents>, 'on' | 'once' | 'off' | 'next'> {
  readonly periodMs: number;
  /**
   * Batched sources (ArecordCapture) read the device in long batches while nobody listens and
   * short ones while the gate is open. setLive(true) first emits everything captured up to now,
   * synchronously, then short batches; setLive(false) emits what is pending, synchronously, then
   * long batches again. Sources that always emit per period leave it out.
   */
  setLive?(live: boolean): void;
}
