/**
 * What a tool is to the rest of the daemon: a GA function definition the profile declares in
 * `session.tools`, and a `run` that turns parsed arguments into text for a
 * `function_call_output` item. Built-ins and MCP servers both produce these.
 */

/** The GA `session.tools[]` entry of a function tool. */
export interface FunctionDefinition {
  type: 'function';
  /** ^[a-zA-Z0-9_-]{1,64}$ (the Realtime API refuses anything else). */
  name: string;
  description: string;
  /** A JSON Schema object ({type: 'object', properties, required}). */
  parameters: Record<string, unknown>;
}

export interface ToolRunContext {
  /** Aborted on timeout, barge-in or shutdown; a tool stops its work and its result is dropped. */
  signal: AbortSignal;
}

/** What a tool run produced: text for the model; `isError` makes the executor report it as an error. */
export interface ToolResult {
  text: string;
  isError?: boolean;
}

export interface Tool {
  definition: FunctionDefinition;
  /** Where it comes from: 'builtin' or the MCP server's name (for logs, doctor and allow/deny). */
  source: string;
  /** The name its source knows it by (an MCP tool's own name; the function name for built-ins). */
  originalName: string;
  run(args: Record<string, unknown>, ctx: ToolRunContext): Promise<ToolResult>;
}

/** The answer of the person at the device to "may this tool run?". */
export type ConfirmAnswer = 'approved' | 'declined' | 'timeout';

/** Implemented by the conductor with the button, earcon and LED; the executor only asks. */
export interface ConfirmHook {
  confirm(toolName: string, args: Record<string, unknown>, signal: AbortSignal): Promise<ConfirmAnswer>;
}

export type CallOutcome = 'ok' | 'error' | 'unknown-tool' | 'invalid-arguments' | 'timeout' | 'aborted' | 'declined' | 'confirm-timeout';

/** One call, as the turn's log line and the transcript file record it. */
export interface CallRecord {
  callId: string;
  tool: string;
  source: string | undefined;
  outcome: CallOutcome;
  durationMs: number;
  outputBytes: number;
  truncated: boolean;
  /** The arguments as JSON text with secrets redacted (never the raw text). */
  arguments: string;
  /** Why it did not succeed, in words. */
  detail?: string;
}

/** Thrown by a tool whose own deadline passed (an MCP server's timeoutMs); reported as 'timeout'. */
export class ToolTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs / 1000} s`);
  }
}
