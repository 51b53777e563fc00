/**
 * `--fault name=value` for the CLI: turns text into a FaultPlan field, with an error that names
 * the fault and the values it takes.
 */
import { PttError } from '../core/errors.js';
import type { FaultPlan } from './types.js';

type Parser = (value: string | undefined, name: string) => FaultPlan[keyof FaultPlan];

function fail(name: string, value: string | undefined, expected: string): never {
  throw new PttError('SIMULATOR_BAD_FAULT', `--fault ${name}${value === undefined ? '' : `=${value}`}: expected ${expected}`, {
    context: { fault: name, value },
    hint: `write it as --fault ${name}=<${expected}>`,
  });
}

const bool: Parser = (v, name) => {
  if (v === undefined || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  return fail(name, v, 'true or false');
};
const count: Parser = (v, name) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : fail(name, v, 'a whole number'));
const oneOf =
  (values: readonly string[], numeric = false): Parser =>
  (v, name) =>
    v !== undefined && values.includes(v) ? ((numeric ? Number(v) : v) as FaultPlan[keyof FaultPlan]) : fail(name, v, values.join(' | '));

const PARSERS: { [K in keyof Required<FaultPlan>]: Parser } = {
  rejectHandshake: oneOf(['401', '403', '500'], true),
  stall: bool,
  sessionUpdate: oneOf(['apply', 'ignore', 'error', 'partial']),
  partialFields: (v, name) =>
    v
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : fail(name, v, 'comma-separated GA paths such as audio.input.turn_detection'),
  sessionUpdateDelayMs: count,
  dropAfterEvents: count,
  dropMidResponse: bool,
  closeAfterMs: (v, name) => {
    const m = v === undefined ? null : /^(\d+):(\d{4})(?::(.*))?$/.exec(v);
    if (!m) return fail(name, v, 'MS:CODE[:REASON], e.g. 5000:1001');
    return { ms: Number(m[1]), code: Number(m[2]), ...(m[3] ? { reason: m[3] } : {}) };
  },
  malformedJson: bool,
  unknownEvents: bool,
  betaEventNames: bool,
  expiresInS: count,
  refuseBetaHeader: bool,
};

export const FAULT_NAMES = Object.keys(PARSERS) as (keyof FaultPlan)[];

/** Parses `name=value` (or a bare `name` for a boolean) into `plan`. */
export function applyFaultSpec(plan: FaultPlan, spec: string): FaultPlan {
  const eq = spec.indexOf('=');
  const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  const value = eq < 0 ? undefined : spec.slice(eq + 1).trim();
  const parser = (PARSERS as Record<string, Parser | undefined>)[name];
  if (!parser) {
    throw new PttError('SIMULATOR_BAD_FAULT', `unknown fault '${name}'`, {
      context: { fault: name },
      hint: `faults are: ${FAULT_NAMES.join(', ')}`,
    });
  }
  return { ...plan, [name]: parser(value, name) };
}
