import { EventEmitter } from 'node:events';

/**
 * An EventEmitter whose event names and payloads are checked by the compiler.
 * `Events` maps each event name to the tuple of its listener arguments.
 */
export type EventMap = { [event: string]: unknown[] };

export class TypedEmitter<Events extends EventMap> {
  readonly #emitter = new EventEmitter({ captureRejections: false });

  constructor() {
    // Many short-lived listeners (tests, conductor) are normal here; the default warning is noise.
    this.#emitter.setMaxListeners(100);
  }

  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  removeAllListeners(event?: keyof Events & string): this {
    this.#emitter.removeAllListeners(event);
    return this;
  }

  listenerCount(event: keyof Events & string): number {
    return this.#emitter.listenerCount(event);
  }

  /** Resolves with the arguments of the next `event`. */
  next<K extends keyof Events & string>(event: K, timeoutMs?: number): Promise<Events[K]> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const listener = (...args: Events[K]) => {
        if (timer) clearTimeout(timer);
        resolve(args);
      };
      this.once(event, listener);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.off(event, listener);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
        }, timeoutMs);
      }
    });
  }

  /**
   * Emits to every listener. A listener that throws is reported on 'listenerError'
   * (or stderr) instead of breaking the emitter's caller: one bad consumer must not
   * take down the audio path.
   */
  protected emit<K extends keyof Events & string>(event: K, ...args: Events[K]): boolean {
    // rawListeners keeps the once() wrappers, so a once listener removes itself when called.
    const listeners = this.#emitter.rawListeners(event) as Array<(...a: Events[K]) => void>;
    for (const listener of listeners) {
      try {
        listener(...args);
      } catch (err) {
        if (event !== 'listenerError' && this.#emitter.listenerCount('listenerError') > 0) {
          this.#emitter.emit('listenerError', err, event);
        } else {
          process.stderr.write(`listener for '${event}' threw: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
    }
    return listeners.length > 0;
  }
}
