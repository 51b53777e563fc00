/**
 * Watches the config file and re-reads it on change or on `reload()` (SIGHUP). Editors save
 * by writing a new file and renaming it over the old one, which ends a watch on the file
 * itself, so the directory is watched and events are filtered by name.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Component } from '../core/component.js';
import { PttError, toPttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { diffConfig, type ConfigChanges } from './diff.js';
import { loadConfig, parseConfig, readConfigText, type Env } from './load.js';
import { formatProblems, type ConfigProblem } from './problems.js';
import type { Config } from './schema.js';

export type ConfigWatcherEvents = {
  /** A valid edit: the new config and what changed (keys, sections, actions needed). */
  change: [config: Config, changes: ConfigChanges];
  /** An invalid edit: every problem; the previous config stays in force. Once per distinct content. */
  invalid: [problems: ConfigProblem[]];
  /** A reload failed in a way no file content explains (a bug): the owner decides what to do. */
  failed: [error: PttError];
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
  /** The text of the last invalid file reported, so the same content is not reported again. */
  #reportedInvalid: string | undefined;

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
    return this.#enqueue(true);
  }

  #enqueue(asked: boolean): Promise<void> {
    // One read at a time, in order, so a slow read never overwrites a newer one; a failed one
    // does not block the next.
    const run = this.#queue.then(() => this.#reloadNow(asked));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #schedule(): void {
    this.#options.logger?.debug('config file event', { path: this.#path });
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#enqueue(false).catch((err: unknown) => this.emit('failed', toPttError(err, 'CONFIG_RELOAD_FAILED', { path: this.#path })));
    }, this.#options.debounceMs ?? 150);
  }

  /** `asked`: a person asked (SIGHUP) and gets an answer even for problems already reported. */
  async #reloadNow(asked: boolean): Promise<void> {
    const read = await readConfigText(this.#path);
    const result = read.ok ? parseConfig(read.text, this.#options.env, { emptyIsDefaults: false }) : read;
    if (!result.ok) {
      // File events for one save can come in more than one burst: report the same content once.
      const content = read.ok ? read.text : JSON.stringify(result.problems);
      if (!asked && content === this.#reportedInvalid) {
        this.#options.logger?.debug('config file still has the problems already reported', { path: this.#path });
        return;
      }
      this.#reportedInvalid = content;
      this.emit('invalid', result.problems);
      return;
    }
    this.#reportedInvalid = undefined;
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
