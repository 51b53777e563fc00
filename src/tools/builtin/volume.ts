/**
 * Output volume as a tool. The daemon owns the actual gain (audio.output.volume, applied by the
 * playback); it implements `VolumeControl`. A change made by voice is kept in volume.json in
 * the state directory and applied again at start, so it survives a restart.
 */
import { join } from 'node:path';
import type { PttError } from '../../core/errors.js';
import { isPlainObject } from '../../core/guards.js';
import { readJsonState, writeJsonState } from '../../core/state-file.js';
import type { Tool } from '../types.js';

export interface VolumeControl {
  /** Linear gain 0..1. */
  get(): number;
  set(gain: number): void;
}

const FILE = 'volume.json';

export class PersistedVolume {
  readonly name = 'volume';
  readonly #path: string;
  readonly #control: VolumeControl;
  readonly #onError: (err: PttError) => void;

  constructor(options: { stateDir: string; control: VolumeControl; onError?: (err: PttError) => void }) {
    this.#path = join(options.stateDir, FILE);
    this.#control = options.control;
    this.#onError = options.onError ?? (() => {});
  }

  /** Applies the volume saved by an earlier run, if any. */
  async start(): Promise<void> {
    try {
      const saved = await readJsonState(this.#path);
      if (isPlainObject(saved) && typeof saved.gain === 'number' && saved.gain >= 0 && saved.gain <= 1) this.#control.set(saved.gain);
    } catch (err) {
      this.#onError(err as PttError);
    }
  }

  async stop(): Promise<void> {}

  async set(gain: number): Promise<void> {
    this.#control.set(gain);
    await writeJsonState(this.#path, { gain });
  }

  tools(): Tool[] {
    const percent = () => Math.round(this.#control.get() * 100);
    return [
      {
        source: 'builtin',
        originalName: 'get_volume',
        definition: {
          type: 'function',
          name: 'get_volume',
          description: "The device's speaker volume in percent (0-100).",
          parameters: { type: 'object', properties: {}, additionalProperties: false },
        },
        run: async () => ({ text: JSON.stringify({ volumePercent: percent() }) }),
      },
      {
        source: 'builtin',
        originalName: 'set_volume',
        definition: {
          type: 'function',
          name: 'set_volume',
          description: "Set the device's speaker volume in percent (0 is silent, 100 is full). It stays after a restart.",
          parameters: {
            type: 'object',
            properties: { percent: { type: 'integer', minimum: 0, maximum: 100 } },
            required: ['percent'],
            additionalProperties: false,
          },
        },
        run: async (args) => {
          await this.set(Number(args.percent) / 100);
          return { text: JSON.stringify({ volumePercent: percent() }) };
        },
      },
    ];
  }
}
