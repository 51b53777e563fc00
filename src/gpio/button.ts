import { TypedEmitter } from '../core/typed-emitter.js';
import { toPttError } from '../core/errors.js';
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import { ButtonLogic, type ButtonLogicOptions } from './button-logic.js';
import type { VirtualBackend } from './virtual-backend.js';
import type { ButtonEvents, EdgeBackend, LevelSample } from './types.js';

export interface ButtonOptions extends ButtonLogicOptions {
  activeLow: boolean;
  /** Which physical backend feeds it ('rpio', 'gpiomon') or 'virtual' for none. */
  backendName: string;
}

/**
 * The push-to-talk button: one physical edge backend (or none) and the virtual button,
 * both feeding one ButtonLogic. Emits debounced, mode-mapped `press`, `release`,
 * `longPress`, `doublePress`, and `error` when the physical backend gives up.
 */
export class Button extends TypedEmitter<ButtonEvents> implements Component {
  readonly name = 'gpio.button';
  readonly #logic: ButtonLogic;
  #started = false;

  readonly #options: ButtonOptions;
  readonly #physical: EdgeBackend | undefined;
  readonly #logger: Logger;

  constructor(
    options: ButtonOptions,
    physical: EdgeBackend | undefined,
    readonly virtual: VirtualBackend,
    logger: Logger,
  ) {
    super();
    this.#options = options;
    this.#physical = physical;
    this.#logger = logger;
    this.#logic = new ButtonLogic(options);
  }

  get backendName(): string {
    return this.#options.backendName;
  }

  /** Held (hold mode) or switched on (toggle mode). */
  get pressed(): boolean {
    return this.#logic.pressed;
  }

  readonly #onLevel = (s: LevelSample) => {
    const pressed = this.#options.activeLow ? s.level === 0 : s.level === 1;
    if (s.initial) this.#logic.setPhysicalBaseline(pressed);
    else this.#logic.physical(pressed, s.at);
  };

  readonly #onContact = (c: { pressed: boolean; at: number }) => this.#logic.virtual(c.pressed, c.at);
  readonly #onBackendError = (e: unknown) => this.emit('error', toPttError(e, 'GPIO_BACKEND'));

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#logic.on('press', (e) => this.emit('press', e));
    this.#logic.on('release', (e) => this.emit('release', e));
    this.#logic.on('longPress', (e) => this.emit('longPress', e));
    this.#logic.on('doublePress', (e) => this.emit('doublePress', e));
    this.virtual.on('contact', this.#onContact);
    await this.virtual.start();
    if (this.#physical) {
      this.#physical.on('level', this.#onLevel);
      this.#physical.on('error', this.#onBackendError);
      try {
        await this.#physical.start();
      } catch (err) {
        await this.stop();
        throw err;
      }
    }
    this.#logger.info('button ready', { backend: this.#options.backendName, mode: this.#options.mode });
  }

  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    if (this.#physical) {
      await this.#physical.stop();
      this.#physical.off('level', this.#onLevel);
      this.#physical.off('error', this.#onBackendError);
    }
    await this.virtual.stop();
    this.virtual.off('contact', this.#onContact);
    this.#logic.dispose();
    this.#logic.removeAllListeners();
  }
}
