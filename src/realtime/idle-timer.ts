/** On-demand: the link closes after a quiet spell; every use starts the wait again. */
export class IdleTimer {
  readonly #ms: () => number;
  readonly #onIdle: () => void;
  #timer: NodeJS.Timeout | undefined;

  /** `ms` is read at each arming: a reload's new timeout is in force from the next one. */
  constructor(ms: () => number, onIdle: () => void) {
    this.#ms = ms;
    this.#onIdle = onIdle;
  }

  touch(): void {
    this.clear();
    this.#timer = setTimeout(() => this.#onIdle(), this.#ms());
  }

  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
