/**
 * Watches the config file and re-reads it on change or on `reload()` (SIGHUP). Editors save
 * by writing a new file and renaming it over the old one, which ends a watch on the file
 * itself, so the directory is watched and events are filtered by name.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Component } from '../core/component.js';
import { PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { diffConfig, type ConfigChanges } from './diff.js';
import { loadConfig, type Env } from './load.js';
import { formatProblems, type ConfigProblem } from './problems.js';
import type { Config } from './schema.js';

export type ConfigWatcherEvents = {
  /** A valid edit: the new config and what changed (keys, sections, actions needed). */
  change: [config: Config, changes: ConfigChanges];
  /** An invalid edit: every problem; the previous config stays in force. */
  invalid: [problems: ConfigProblem[]];
};

export interface ConfigWatcherOptions {
  path: string;
  /** The config already in force; when absent, start() loads it (and fails if it is invalid). */
  initial?: Config;
  env?: Env;
  /** Quiet time after the last file event before re-reading (editors write in bursts). */
  debounceMs?: number;
  logger?: Logger;
}

export class ConfigWatcher extends TypedEmitter<ConfigWatcherEvents> implements Component {
  readonly name = 'config-watcher';
  readonly #path: string;
  readonly #options: ConfigWatcherOptions;
  #current: Config | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #queue: Promise<void> = Promise.resolve();

  constructor(options: ConfigWatcherOptions) {
    super();
    this.#options = options;
    this.#path = resolve(options.path);
    this.#current = options.initial;
  }

  /** The config in force. */
  get current(): Config {
    if (!this.#current) throw new PttError('CONFIG_NOT_LOADED', 'the config watcher has not been started');
    return this.#current;
  }

  async start(): Promise<void> {
    if (this.#watcher) return;
    if (!this.#current) {
      const result = await loadConfig(this.#path, this.#options.env);
      if (!result.ok) {
        throw new PttError('CONFIG_INVALID', formatProblems(result.problems).trimEnd(), {
          context: { path: this.#path, problems: result.problems },
          hint: `fix ${this.#path}; realtime-ptt check-config --config ${this.#path} lists the problems`,
        });
      }
      this.#current = result.config;
    }
    const name = basename(this.#path);
    try {
      this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, filename) => {
        // Some platforms give no filename; then every event in the directory counts.
        if (filename === null || filename === name) this.#schedule();
      });
    } catch (err) {
      throw new PttError('CONFIG_WATCH_FAILED', `cannot watch ${dirname(this.#path)} for config changes`, {
        context: { path: this.#path, errno: (err as NodeJS.ErrnoException).code },
        cause: err,
        hint: 'check that the directory exists and is readable',
      });
    }
    this.#watcher.on('error', (err) => this.#options.logger?.warn('config watch error', { error: err, path: this.#path }));
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#queue;
  }

  /** Re-reads the file now (SIGHUP). Resolves when the new config (or its problems) has been emitted. */
  reload(): Promise<void> {
    // One read at a time, in order, so a slow read never overwrites a newer one.
    this.#queue = this.#queue.then(() => this.#reloadNow());
    return this.#queue;
  }

  #schedule(): void {
    this.#options.logger?.debug('config file event', { path: this.#path });
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.reload();
    }, this.#options.debounceMs ?? 150);
  }

  async #reloadNow(): Promise<void> {
    const result = await loadConfig(this.#path, this.#options.env);
    if (!result.ok) {
      this.#options.logger?.warn('config file has problems; keeping the config in force', { path: this.#path, problems: result.problems });
      this.emit('invalid', result.problems);
      return;
    }
    const before = this.#current;
    this.#current = result.config;
    if (!before) return;
    const changes = diffConfig(before, result.config);
    // A save that changes only comments or layout is not a change.
    if (changes.keys.length === 0) return;
    this.#options.logger?.info('config changed', { path: this.#path, keys: changes.keys, actions: changes.actions });
    this.emit('change', result.config, changes);
  }
}
