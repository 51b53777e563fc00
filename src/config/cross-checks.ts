import type { ConfigProblem } from './problems.js';
import type { Config } from './schema.js';
import { valueAt } from './schema-kit.js';
import { isPlainObject } from '../core/guards.js';

const SERVER_VAD_ONLY = ['threshold', 'prefixPaddingMs', 'silenceDurationMs', 'idleTimeoutMs'];
const SEMANTIC_VAD_ONLY = ['eagerness'];

/** Checks that involve more than one key; skipped for keys already reported. */
export function crossChecks(c: Config, raw: Record<string, unknown>, problems: ConfigProblem[]): void {
  const reported = new Set(problems.map((p) => p.key));
  const bad = (...keys: string[]) => keys.some((k) => reported.has(k) || [...reported].some((r) => r.startsWith(`${k}.`)));
  if (!bad('realtime.reconnect') && c.realtime.reconnect.minMs > c.realtime.reconnect.maxMs) {
    const { minMs, maxMs } = c.realtime.reconnect;
    problems.push({
      key: 'realtime.reconnect.maxMs',
      value: maxMs,
      message: `is below realtime.reconnect.minMs (${minMs})`,
      allowed: `a value >= ${minMs}`,
    });
  }
  if (!bad('gpio.pin', 'gpio.ledPin') && c.gpio.ledPin !== null && c.gpio.ledPin === c.gpio.pin) {
    problems.push({
      key: 'gpio.ledPin',
      value: c.gpio.ledPin,
      message: 'is the same pin as the button (gpio.pin)',
      allowed: 'another BCM pin, or null',
    });
  }
  const td = valueAt(raw, 'session.turnDetection');
  const type = c.session.turnDetection.type;
  if (isPlainObject(td) && !bad('session.turnDetection.type')) {
    const foreign = type === 'server_vad' ? SEMANTIC_VAD_ONLY : type === 'semantic_vad' ? SERVER_VAD_ONLY : [];
    const own = [...(type === 'server_vad' ? SERVER_VAD_ONLY : SEMANTIC_VAD_ONLY), 'createResponse', 'interruptResponse'];
    for (const k of foreign.filter((k) => k in td)) {
      problems.push({
        key: `session.turnDetection.${k}`,
        value: td[k],
        message: `does not apply to turnDetection type ${type}; remove it`,
        allowed: `with ${type}: ${own.join(', ')}`,
      });
    }
  }
  if (!bad('realtime.mintUrl', 'realtime.bootstrap') && c.realtime.mintUrl !== null && c.realtime.bootstrap !== 'client-secret') {
    problems.push({
      key: 'realtime.mintUrl',
      value: c.realtime.mintUrl,
      message: `mints client secrets, which only the client-secret bootstrap uses (realtime.bootstrap is ${c.realtime.bootstrap})`,
      allowed: 'realtime.bootstrap: client-secret with it, or mintUrl null',
    });
  }
  if (!bad('conversation.bargeInByVoice', 'session.turnDetection.type') && c.conversation.bargeInByVoice && type === 'manual') {
    problems.push({
      key: 'conversation.bargeInByVoice',
      value: true,
      message: 'needs the server to hear speech during an answer, which turnDetection type manual does not do',
      allowed: 'false, or set session.turnDetection.type to server_vad or semantic_vad',
    });
  }
}
