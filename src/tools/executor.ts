/**
 * Runs one function call: find the tool, check the arguments, ask for a button press if the tool
 * needs one, run it with a timeout and an abort signal, cap its output, and always come back with
 * text for the `function_call_output` item plus a record for the turn log. It never throws: every
 * failure becomes an error output the model can read and speak about.
 */
import { toPttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { checkArguments, parseArguments, redactArguments } from './arguments.js';
import { capText, errorOutput } from './output-text.js';
import type { ToolRegistry } from './registry.js';
import { type CallOutcome, type CallRecord, type ConfirmHook, ToolTimeoutError } from './types.js';

export interface ExecutorOptions {
  registry: ToolRegistry;
  /** Asked before a tool marked `confirm` runs; without one such tools are declined. */
  confirm?: ConfirmHook;
  timeoutMs: number;
  maxOutputBytes: number;
  logger?: Logger;
  now?: () => number;
}

export interface FunctionCall {
  callId: string;
  name: string;
  /** The JSON text the model produced. */
  arguments: string;
}

export interface CallResult {
  /** Text for the function_call_output item. When `record.outcome` is 'aborted' it must not be sent. */
  output: string;
  record: CallRecord;
}

class CallTimeout extends Error {}

export class ToolExecutor {
  readonly #o: ExecutorOptions;

  constructor(options: ExecutorOptions) {
    this.#o = options;
  }

  /** `signal` is the caller's (barge-in, shutdown); the executor adds its own timeout. */
  async call(call: FunctionCall, signal?: AbortSignal): Promise<CallResult> {
    const now = this.#o.now ?? performance.now.bind(performance);
    const started = now();
    const tool = this.#o.registry.get(call.name);
    const parsed = parseArguments(call.arguments);
    const argsForLog = parsed.ok ? redactArguments(parsed.args) : redactArguments(call.arguments);
    const finish = (outcome: CallOutcome, text: string, detail?: string): CallResult => {
      const capped = capText(text, this.#o.maxOutputBytes);
      const record: CallRecord = {
        callId: call.callId,
        tool: call.name,
        source: tool?.source,
        outcome,
        durationMs: Math.round(now() - started),
        outputBytes: capped.bytes,
        truncated: capped.truncated,
        arguments: argsForLog,
        ...(detail === undefined ? {} : { detail }),
      };
      this.#o.logger?.[outcome === 'ok' ? 'debug' : 'warn']('tool call', { ...record });
      return { output: capped.text, record };
    };

    if (!tool) {
      return finish('unknown-tool', errorOutput('unknown_tool', `there is no tool named ${call.name} on this device`), 'unknown tool');
    }
    if (!parsed.ok) return finish('invalid-arguments', errorOutput('invalid_arguments', parsed.message), parsed.message);
    const problems = checkArguments(tool, parsed.args);
    if (problems) {
      const message = `the arguments do not fit the tool's parameters: ${problems.join('; ')}`;
      return finish('invalid-arguments', errorOutput('invalid_arguments', message), problems.join('; '));
    }
    if (signal?.aborted) return finish('aborted', errorOutput('aborted', 'the call was cancelled'), 'cancelled before it ran');

    if (tool.confirm) {
      const answer = this.#o.confirm
        ? await this.#o.confirm.confirm(call.name, parsed.args, signal ?? new AbortController().signal).catch(() => 'declined' as const)
        : 'declined';
      if (signal?.aborted) return finish('aborted', errorOutput('aborted', 'the call was cancelled'), 'cancelled while asking');
      if (answer === 'declined') {
        return finish(
          'declined',
          errorOutput('declined', 'the person at the device declined this action; it was not carried out'),
          'declined at the device',
        );
      }
      if (answer === 'timeout') {
        return finish(
          'confirm-timeout',
          errorOutput('not_confirmed', 'nobody pressed the button to approve in time; the action was not carried out'),
          'no confirmation in time',
        );
      }
    }

    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort(new CallTimeout());
        reject(new CallTimeout());
      }, this.#o.timeoutMs);
    });
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    timeout.catch(() => {});
    try {
      // Racing the signal too: a tool that ignores its signal must not hold the turn.
      const result = await Promise.race([tool.run(parsed.args, { signal: controller.signal }), timeout, aborted]);
      if (result.isError) return finish('error', errorOutput('tool_error', result.text), firstLine(result.text));
      return finish('ok', result.text);
    } catch (err) {
      if (err instanceof CallTimeout || controller.signal.reason instanceof CallTimeout || err instanceof ToolTimeoutError) {
        const s = (err instanceof ToolTimeoutError ? err.timeoutMs : this.#o.timeoutMs) / 1000;
        return finish('timeout', errorOutput('timeout', `the tool did not answer within ${s} s and was stopped`), `timed out after ${s} s`);
      }
      if (signal?.aborted) return finish('aborted', errorOutput('aborted', 'the call was cancelled'), 'cancelled while running');
      const e = toPttError(err, 'TOOL_FAILED');
      return finish('error', errorOutput('tool_failed', e.message), e.message);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').slice(0, 200);
}
