/**
 * What a running daemon does about a config change, computed from the schema's `apply` tags
 * alone (never from key prefixes): the one rule set for reloads. Pure, so every tag is unit
 * tested; the daemon executes the steps in order.
 *
 *   live          the changed values take effect at once (log level, conversation, volume, timing)
 *   tools         the tools part follows the `tools` section (built-ins, confirm list, MCP
 *                 servers started/stopped/restarted); changed definitions re-apply the profile
 *   session       `applyProfile` on the open session, verified
 *   reconnect     the session is rebuilt (endpoint, model, key, or a field GA cannot clear in place)
 *   restart-audio the audio parts restart (after the turn in progress)
 *   restart-gpio  button, control socket and LED restart
 *   restart-home  the MQTT bridge reconnects under the new settings
 *   restart       logged: takes effect when the daemon restarts
 */
import { actionFor, diffConfig } from './diff.js';
import type { Config } from './schema.js';
import { valueAt } from './schema-kit.js';

export type ReloadStep =
  /** Set the new values on the running parts (cheap, idempotent). */
  | { kind: 'live'; keys: string[] }
  | { kind: 'apply-tools'; keys: string[] }
  | { kind: 'apply-profile'; keys: string[] }
  | { kind: 'rebuild-session'; keys: string[] }
  | { kind: 'restart-audio'; keys: string[] }
  | { kind: 'restart-gpio'; keys: string[] }
  | { kind: 'restart-home'; keys: string[] }
  /** Nothing to run: these keys wait for a daemon restart (the daemon logs which). */
  | { kind: 'needs-restart'; keys: string[] };

export type ReloadStepKind = ReloadStep['kind'];

export interface ReloadPlan {
  /** Every changed key, in schema order. */
  keys: string[];
  /** Steps in the order the daemon runs them; empty when nothing changed. */
  steps: ReloadStep[];
}

/** Execution order: cheap and in place first, part restarts after, the restart notice last. */
const ORDER: readonly ReloadStepKind[] = [
  'live',
  'apply-tools',
  'apply-profile',
  'rebuild-session',
  'restart-audio',
  'restart-gpio',
  'restart-home',
  'needs-restart',
];

const STEP_FOR_TAG = {
  live: 'live',
  tools: 'apply-tools',
  session: 'apply-profile',
  reconnect: 'rebuild-session',
  'restart-audio': 'restart-audio',
  'restart-gpio': 'restart-gpio',
  'restart-home': 'restart-home',
  restart: 'needs-restart',
} as const satisfies Record<string, ReloadStepKind>;

export function planReload(before: Config, after: Config): ReloadPlan {
  const { keys } = diffConfig(before, after);
  const byStep = new Map<ReloadStepKind, string[]>();
  for (const key of keys) {
    const step = STEP_FOR_TAG[actionFor(key, valueAt(before, key), valueAt(after, key))];
    byStep.set(step, [...(byStep.get(step) ?? []), key]);
  }
  // A rebuilt session is built with the whole new profile: applying it first as well would be
  // a second, pointless session.update.
  const rebuild = byStep.get('rebuild-session');
  const profile = byStep.get('apply-profile');
  if (rebuild && profile) {
    byStep.set('rebuild-session', [...rebuild, ...profile]);
    byStep.delete('apply-profile');
  }
  return {
    keys,
    steps: ORDER.filter((kind) => byStep.has(kind)).map((kind) => ({ kind, keys: byStep.get(kind)! })),
  };
}
