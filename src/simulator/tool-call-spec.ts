/**
 * `--tool-call name={"a":1}` for the CLI: one function call the simulated model makes. Given
 * several times, the calls are made together in one response (the first one the simulator
 * answers); the answer after their outputs is spoken as usual.
 */
import { isPlainObject } from '../core/guards.js';
import { PttError } from '../core/errors.js';
import type { ScriptedCall } from './function-calls.js';

/** The names the Realtime API accepts for a function tool. */
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function fail(spec: string, problem: string): never {
  throw new PttError('SIMULATOR_BAD_TOOL_CALL', `--tool-call ${spec}: ${problem}`, {
    context: { spec },
    hint: `write it as --tool-call 'NAME={"key":"value"}' (or a bare NAME for no arguments), e.g. --tool-call 'set_timer={"seconds":3}'`,
  });
}

/** Parses `NAME=JSON-object` (or a bare `NAME`, meaning `{}`). */
export function parseToolCallSpec(spec: string): ScriptedCall {
  const eq = spec.indexOf('=');
  const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  if (!FUNCTION_NAME.test(name)) fail(spec, `the function name must be 1-64 letters, digits, _ or -, got '${name}'`);
  if (eq < 0) return { name, arguments: {} };
  const text = spec.slice(eq + 1).trim();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(spec, `the arguments are not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(value))
    fail(spec, `the arguments must be a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  return { name, arguments: value };
}
