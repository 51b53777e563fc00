/**
 * What is running, per group, in start order: a group starts its parts in order and stops them in
 * reverse, each within a deadline; one that fails or hangs is logged and the others still stop.
 */
import type { Component } from '../core/component.js';
import { PttError, toPttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

const STOP_DEADLINE_MS = 1_500;

export class RunningGroups<G extends string> {
  readonly #running = new Map<G, Component[]>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  has(group: G): boolean {
    return this.#running.has(group);
  }

  async start(group: G, components: Component[]): Promise<void> {
    const started: Component[] = [];
    this.#running.set(group, started);
    for (const c of components) {
      await c.start();
      started.push(c);
    }
  }

  async stop(group: G): Promise<void> {
    const components = this.#running.get(group) ?? [];
    this.#running.delete(group);
    for (const c of [...components].reverse()) {
      try {
        await withDeadline(c.stop(), STOP_DEADLINE_MS, c.name);
      } catch (err) {
        this.#log.error(`${c.name} did not stop cleanly`, { error: toPttError(err, 'STOP_FAILED', { component: c.name }) });
      }
    }
  }
}

function withDeadline(p: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((_, reject) => {
    timer = setTimeout(
      () => reject(new PttError('STOP_TIMEOUT', `${name} did not stop within ${ms} ms`, { context: { component: name, ms } })),
      ms,
    );
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
