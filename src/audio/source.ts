import type { Component } from '../core/component.js';
import type { PttError } from '../core/errors.js';
import type { TypedEmitter } from '../core/typed-emitter.js';

export type AudioSourceEvents = {
  /** One period of PCM16 24 kHz mono. */
  frame: [Buffer];
  error: [PttError];
  /** The device lost audio (ALSA overrun); the stale period it re-delivers is already dropped. */
  overrun: [];
};

/** The microphone edge: a real ALSA capture or a paced file, behind one interface. */
export interface AudioSource extends Component, Pick<TypedEmitter<AudioSourceEvents>, 'on' | 'once' | 'off' | 'next'> {
  readonly periodMs: number;
}
