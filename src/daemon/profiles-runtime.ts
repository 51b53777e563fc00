/**
 * The active profile (persona) at run time: which one is in force, kept in the state directory
 * so it survives a restart, and which one a gesture switches to next. The daemon applies a switch
 * to the session; this module only knows names and the file.
 */
import { join } from 'node:path';
import { PttError, toPttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readJsonState, resolveStateDir, writeJsonState } from '../core/state-file.js';
import { MAIN_PROFILE, profileNames, profileToSession, withProfile, type Config } from '../config/index.js';

/** What a switch needs of the session: the same verified apply a hot reload uses. */
export interface ProfileTarget {
  applyProfile(session: ReturnType<typeof profileToSession>): Promise<{ ok: true; mode: string } | { ok: false; error: PttError }>;
}

export type SwitchResult =
  | { ok: true; name: string; from: string; mode: string; config: Config; position: number }
  | { ok: false; error: PttError };

export const PROFILE_STATE_FILE = 'profile.json';

export interface ProfileRuntimeOptions {
  logger: Logger;
  env?: Readonly<Record<string, string | undefined>>;
}

export class ProfileRuntime {
  readonly #log: Logger;
  readonly #env: Readonly<Record<string, string | undefined>>;
  #active = MAIN_PROFILE;
  #path: string | undefined;

  constructor(options: ProfileRuntimeOptions) {
    this.#log = options.logger.child('profiles');
    this.#env = options.env ?? process.env;
  }

  get active(): string {
    return this.#active;
  }

  /**
   * Reads the name kept by the last run. No file: `profiles.active`. A kept name the config no
   * longer has (renamed, removed): `profiles.active`, with the reason logged.
   */
  async load(config: Config): Promise<string> {
    this.#path = join(resolveStateDir(config.state.dir, this.#env as NodeJS.ProcessEnv), PROFILE_STATE_FILE);
    let kept: unknown;
    try {
      kept = await readJsonState(this.#path);
    } catch (err) {
      this.#log.warn('the kept profile could not be read; starting with profiles.active', { error: toPttError(err, 'STATE_READ') });
    }
    const name = typeof (kept as { active?: unknown } | undefined)?.active === 'string' ? (kept as { active: string }).active : undefined;
    this.#active = config.profiles.active;
    if (name !== undefined && profileNames(config).includes(name)) this.#active = name;
    else if (name !== undefined)
      this.#log.warn(`the kept profile "${name}" is not in the config any more; using profiles.active`, {
        kept: name,
        active: this.#active,
        path: this.#path,
      });
    return this.#active;
  }

  /** After a reload: the active name still exists, or it falls back to `profiles.active` (returned when it changed). */
  reconcile(config: Config): string | undefined {
    if (profileNames(config).includes(this.#active)) return undefined;
    const gone = this.#active;
    this.#active = config.profiles.active;
    this.#log.warn(`the active profile "${gone}" was removed from the config; using profiles.active`, {
      removed: gone,
      active: this.#active,
    });
    return this.#active;
  }

  /** The config with `session` replaced by the active profile. */
  effective(config: Config): Config {
    return withProfile(config, this.#active) ?? config;
  }

  /** A switch the config allows, or a clear error naming the profiles there are. */
  check(config: Config, name: string): PttError | undefined {
    const names = profileNames(config);
    if (names.includes(name)) return undefined;
    return new PttError('PROFILE_UNKNOWN', `there is no profile "${name}"; the profile "${this.#active}" stays active`, {
      context: { name, profiles: names },
      hint: `use one of: ${names.join(', ')} (profiles.named in the config file defines them)`,
    });
  }

  /** The profile after the active one, in file order (main first), wrapping around. */
  next(config: Config): string {
    const names = profileNames(config);
    return names[(names.indexOf(this.#active) + 1) % names.length] ?? MAIN_PROFILE;
  }

  /** 1-based position of `name` in file order: the number of tones of its earcon. */
  position(config: Config, name = this.#active): number {
    return Math.max(1, profileNames(config).indexOf(name) + 1);
  }

  /**
   * Applies profile `name` to the session (verified) and makes it active; a name the config does
   * not have, or a profile the server refuses, leaves the active one as it was.
   */
  async apply(
    config: Config,
    name: string,
    session: ProfileTarget | undefined,
    build: (resolved: Config) => ReturnType<typeof profileToSession> = profileToSession,
  ): Promise<SwitchResult> {
    const refused = this.check(config, name);
    if (refused) return { ok: false, error: refused };
    const from = this.#active;
    const resolved = withProfile(config, name) ?? config;
    const result = session ? await session.applyProfile(build(resolved)) : { ok: true as const, mode: 'next-connection' };
    if (!result.ok) {
      this.#log.error(`the server did not accept profile "${name}"; "${from}" stays active`, { error: result.error });
      return result;
    }
    await this.set(name);
    this.#log.info('profile switched', { profile: name, from, mode: result.mode });
    return { ok: true, name, from, mode: result.mode, config: resolved, position: this.position(config, name) };
  }

  /** Makes `name` active and keeps it across restarts; a state directory that cannot be written is logged, not fatal. */
  async set(name: string): Promise<void> {
    this.#active = name;
    if (!this.#path) return;
    try {
      await writeJsonState(this.#path, { active: name });
    } catch (err) {
      this.#log.warn('the active profile could not be kept; after a restart profiles.active is used', {
        error: toPttError(err, 'STATE_WRITE'),
      });
    }
  }
}
