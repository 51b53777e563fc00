/**
 * The steps of a hot reload (config/reload-plan.ts): each applies what it can and, when it cannot,
 * puts the previous settings back in the config in force. A part that cannot restart under the new
 * settings is brought back under the old ones; if that fails too the daemon must exit (fatal).
 */
import { toPttError, type PttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Config, GaSession, ReloadStep } from '../config/index.js';
import type { Component } from '../core/component.js';
import type { Conductor } from './conductor.js';
import type { SessionPart } from './daemon-types.js';
import type { HomeWiring } from './home-wiring.js';
import { sessionTiming } from './session-timing.js';
import type { DaemonTools } from './tools-wiring.js';

export type RestartGroup = 'audio' | 'session' | 'gpio';

/** What the daemon lends the steps. */
export interface ReloadHost {
  /** The daemon's log; `logger` is the root whose level a reload sets. */
  log: Logger;
  logger: Logger;
  home: HomeWiring;
  stopping(): boolean;
  /** Puts part of the previous config back in force (what a step could not apply). */
  keep(previous: Partial<Config>): void;
  setGain(level: number): void;
  session(): SessionPart | undefined;
  tools(): DaemonTools | undefined;
  conductor(): Conductor;
  /** The session the config asks for under the active profile, with the device's tools. */
  sessionFor(config: Config): GaSession;
  whenQuiet(): Promise<void>;
  build(group: RestartGroup, config: Config): Promise<void>;
  startGroup(group: RestartGroup | 'home', components: Component[]): Promise<void>;
  stopGroup(group: RestartGroup | 'home'): Promise<void>;
  fatal(error: PttError): void;
}

/** Runs one step of a reload plan; false when it could not be applied (the previous settings stay). */
export async function runStep(host: ReloadHost, step: ReloadStep, before: Config, next: Config): Promise<boolean> {
  switch (step.kind) {
    case 'live':
      host.logger.setLevel(next.log.level);
      if (before.audio.output.volume !== next.audio.output.volume) host.setGain(next.audio.output.volume);
      if (JSON.stringify(sessionTiming(before)) !== JSON.stringify(sessionTiming(next))) host.session()?.setTiming(sessionTiming(next));
      host.home.applyLive(next);
      return true;
    case 'apply-tools':
      // Changed definitions re-apply the profile through `toolsChanged` (queued after this reload).
      await host.tools()?.applyConfig(next);
      return true;
    case 'apply-profile': {
      const result = await host.session()!.applyProfile(host.sessionFor(next));
      if (result.ok) {
        host.log.info('changed profile applied', { mode: result.mode, message: result.message, keys: step.keys });
        return true;
      }
      // The session went back to the profile that worked; the config in force says so too.
      host.keep({ session: before.session });
      host.log.error('the server did not accept the changed profile; the previous one stays in force', { error: result.error });
      return false;
    }
    case 'rebuild-session':
      return restart(host, 'session', before, next, 'connection settings changed');
    case 'restart-audio':
      return restart(host, 'audio', before, next, 'audio settings changed');
    case 'restart-gpio':
      return restart(host, 'gpio', before, next, 'GPIO settings changed');
    case 'restart-home': {
      await host.stopGroup('home');
      const { components, ok } = host.home.rebuild(next, before);
      if (!ok) host.keep({ mqtt: before.mqtt });
      await host.startGroup('home', components);
      return ok;
    }
    case 'needs-restart':
      host.log.warn('these settings take effect when the daemon restarts (systemctl restart realtime-ptt)', { keys: step.keys });
      return true;
  }
}

/** Restarts one group under a new config; if that fails, brings the old one back (or gives up loudly). */
async function restart(host: ReloadHost, group: RestartGroup, before: Config, next: Config, reason: string): Promise<boolean> {
  await host.whenQuiet();
  if (host.stopping()) return false;
  const conductor = host.conductor();
  await conductor.stop(`${reason}: ${group} restarted`);
  await host.stopGroup(group);
  let ok = true;
  try {
    await host.build(group, next);
    host.log.info(`${group} restarted`, { reason });
  } catch (err) {
    ok = false;
    const error = toPttError(err, 'RELOAD_RESTART');
    host.log.error(`${group} could not restart with the new settings; going back to the previous ones`, { error });
    await host.stopGroup(group);
    host.keep(
      group === 'audio'
        ? { audio: before.audio }
        : group === 'gpio'
          ? { gpio: before.gpio }
          : { realtime: before.realtime, session: before.session },
    );
    try {
      await host.build(group, before);
    } catch (again) {
      const fatal = toPttError(again, 'RELOAD_ROLLBACK');
      host.fatal(fatal);
      throw fatal;
    }
  }
  await conductor.start();
  return ok;
}
