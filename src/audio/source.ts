import type { Component } from '../core/component.js';
import type { PttError } from '../core/errors.js';
import type { TypedEmitter } from '../core/typed-emitter.js';

export type AudioSourceEvents = {
  /** One period of PCM16 24 kHz mono (a batched source emits several in a row). */
  frame: [Buffer];
  error: [PttError];
  /** The device lost audio (ALSA overrun); the stale period it re-delivers is already dropped. */
  overrun: [];
};

/** The microphone edge: a real ALSA capture or a paced file, behind one interface. */
export interface AudioSource extends Component, Pick<TypedEmitter<AudioSourceEvents>, 'on' | 'once' | 'off' | 'next'> {
  readonly periodMs: number;
  /**
   * Batched sources (ArecordCapture) read the device in batches while nobody listens closely.
   * setLive(true) first emits everything captured up to now, synchronously, then each period as
   * it comes; setLive(false) emits what is pending, synchronously, then batches again. Sources
   * that always emit per period leave it out.
   */
  setLive?(live: boolean): void;
}
