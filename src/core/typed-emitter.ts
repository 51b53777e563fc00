/**
 * An EventEmitter whose event names and payloads are checked by the compiler.
 * `Events` maps each event name to the tuple of its listener arguments.
 */
export type EventMap = { [event: string]: unknown[] };

type Listener = (...args: unknown[]) => void;
interface Entry {
  listener: Listener;
  once: boolean;
}

export class TypedEmitter<Events extends EventMap> {
  // Copy-on-write lists: emit walks the list as it was without copying it (audio events fire
  // tens of times a second), and a listener added or removed meanwhile takes effect next time.
  readonly #listeners = new Map<string, readonly Entry[]>();

  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    return this.#add(event, { listener: listener as Listener, once: false });
  }

  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    return this.#add(event, { listener: listener as Listener, once: true });
  }

  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    const list = this.#listeners.get(event);
    // The last one added goes first, as EventEmitter does.
    const at = list ? list.findLastIndex((e) => e.listener === (listener as Listener)) : -1;
    if (list && at >= 0) this.#set(event, [...list.slice(0, at), ...list.slice(at + 1)]);
    return this;
  }

  removeAllListeners(event?: keyof Events & string): this {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
    return this;
  }

  listenerCount(event: keyof Events & string): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  #add(event: string, entry: Entry): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), entry]);
    return this;
  }

  #set(event: string, list: readonly Entry[]): void {
    if (list.length > 0) this.#listeners.set(event, list);
    else this.#listeners.delete(event);
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
    const list = this.#listeners.get(event);
    if (!list) return false;
    for (const entry of list) {
      if (entry.once)
        this.#set(
          event,
          (this.#listeners.get(event) ?? []).filter((e) => e !== entry),
        );
      try {
        entry.listener(...args);
      } catch (err) {
        if (event !== 'listenerError' && this.listenerCount('listenerError') > 0) {
          this.emit('listenerError' as K, ...([err, event] as unknown as Events[K]));
        } else {
          process.stderr.write(`listener for '${event}' threw: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
    }
    return true;
  }
}
