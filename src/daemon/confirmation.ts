/**
 * Confirmation by button: a tool of `tools.confirm` (or a hosted MCP server's approval request)
 * waits for the person at the device. The `confirm` earcon and the LED's confirm signal ask; a
 * press (released before a long press) approves, a long press declines, no press within the
 * window is a timeout. The press belongs to the question: it starts no turn and cuts no answer.
 * Questions are asked one at a time, in order.
 */
import type { Logger } from '../core/logger.js';
import type { ConfirmAnswer, ConfirmHook } from '../tools/types.js';
import type { EarconName, LedPort, PressClaim } from './ports.js';

export interface ConfirmationDeps {
  windowMs: () => number;
  sound: (name: EarconName) => void;
  led: () => LedPort | undefined;
  logger: Logger;
}

interface Asking {
  tool: string;
  settle: (answer: ConfirmAnswer) => void;
}

export class ButtonConfirmation implements ConfirmHook, PressClaim {
  readonly #d: ConfirmationDeps;
  readonly #log: Logger;
  #asking: Asking | undefined;
  /** The button is down on a press that belongs to a question. */
  #held = false;
  /** The question being asked finishes before the next one starts. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: ConfirmationDeps) {
    this.#d = deps;
    this.#log = deps.logger.child('confirm');
  }

  confirm(tool: string, _args: Record<string, unknown>, signal: AbortSignal): Promise<ConfirmAnswer> {
    const next = this.#queue.then(() => this.#ask(tool, signal));
    this.#queue = next.catch(() => {});
    return next;
  }

  press(): boolean {
    if (!this.#asking) return false;
    this.#held = true;
    return true;
  }

  release(): boolean {
    if (!this.#held) return false;
    this.#held = false;
    this.#asking?.settle('approved');
    return true;
  }

  longPress(): boolean {
    if (!this.#held) return false;
    this.#asking?.settle('declined');
    return true;
  }

  #ask(tool: string, signal: AbortSignal): Promise<ConfirmAnswer> {
    if (signal.aborted) return Promise.resolve('declined');
    const windowMs = this.#d.windowMs();
    this.#log.info('asking for a press to run a tool', { tool, windowMs });
    this.#d.sound('confirm');
    this.#d.led()?.signal?.('confirm');
    return new Promise<ConfirmAnswer>((resolve) => {
      const timer = setTimeout(() => settle('timeout'), windowMs);
      const onAbort = () => settle('declined');
      signal.addEventListener('abort', onAbort, { once: true });
      const settle = (answer: ConfirmAnswer) => {
        if (this.#asking !== asking) return;
        this.#asking = undefined;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#d.led()?.signal?.(undefined);
        this.#log.info('tool confirmation', { tool, answer: signal.aborted ? 'cancelled' : answer });
        if (answer !== 'approved') this.#d.sound('error');
        resolve(answer);
      };
      const asking: Asking = { tool, settle };
      this.#asking = asking;
    });
  }
}
