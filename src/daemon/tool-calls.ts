/**
 * Function calls of a turn, from the completed response that made them to the answer that uses
 * their results: each call runs once (by call_id) through the executor, every output goes back
 * as a `function_call_output` item, then ONE `response.create` for the round. Rounds per turn are
 * bounded (a loop ends with error outputs and no new response). A turn that ends (barge-in,
 * cancel, shutdown) aborts its running calls and their late results are not sent. Outputs ready
 * while the link is down wait for the next verified session; a new session is a new
 * conversation, so the calls are re-created there before their outputs.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import type { ConversationItem, FunctionCallItem, McpApprovalItem } from '../realtime/protocol.js';
import { parseArguments, redactArguments } from '../tools/arguments.js';
import type { ToolExecutor } from '../tools/executor.js';
import { errorOutput } from '../tools/output-text.js';
import type { CallRecord, ConfirmAnswer, ConfirmHook } from '../tools/types.js';

/** What the orchestration needs of the session. */
export interface ToolSessionPort {
  sendItem(item: ConversationItem): boolean;
  createResponse(): void;
}

export interface ToolCallsDeps {
  session: () => ToolSessionPort | undefined;
  executor: () => ToolExecutor;
  maxRounds: () => number;
  /** Asks the person at the device (hosted MCP approval requests); without it they are declined. */
  confirm?: () => ConfirmHook | undefined;
  /** Every finished round's calls, as they finish (the transcript file keeps them in order). */
  onRecords?: (turnId: number, records: readonly CallRecord[]) => void;
  logger: Logger;
}

/** What the conductor calls for a turn's tool rounds. */
export interface ToolCallsHook {
  run(turnId: number, calls: FunctionCallItem[], approvals?: McpApprovalItem[]): Promise<RoundResult>;
  endTurn(turnId: number): void;
  /** How long a round may take before the answer timer starts again (the call timeout). */
  budgetMs(): number;
}

export type RoundResult =
  /** Outputs sent and a response asked for (or waiting for the link). */
  | { kind: 'answered'; records: CallRecord[] }
  /** Too many rounds: error outputs sent, no new response; the turn ends with an error. */
  | { kind: 'limit'; records: CallRecord[]; reason: string }
  /** The turn ended while the calls ran: nothing was sent. */
  | { kind: 'aborted'; records: CallRecord[] };

interface Ready {
  calls: FunctionCallItem[];
  outputs: Map<string, string>;
  /** mcp_approval_response items (they answer requests of the session that made them only). */
  approvals?: ConversationItem[];
  sessionId: string | undefined;
  respond: boolean;
}

/** Remembered call ids: a late duplicate of a response already handled must not run again. */
const SEEN_MAX = 256;

export class ToolCalls {
  readonly #d: ToolCallsDeps;
  readonly #log: Logger;
  readonly #rounds = new Map<number, number>();
  readonly #running = new Map<number, AbortController>();
  readonly #seen = new Set<string>();
  #sessionId: string | undefined;
  /** Outputs waiting for a verified link. */
  #waiting: Ready | undefined;

  constructor(deps: ToolCallsDeps) {
    this.#d = deps;
    this.#log = deps.logger.child('tool-calls');
  }

  /** The conductor's view of these calls; a round's budget is `budgetMs`. */
  hook(budgetMs: () => number): ToolCallsHook {
    return { run: this.run.bind(this), endTurn: this.endTurn.bind(this), budgetMs };
  }

  /** The session was verified (first time, or after a reconnect: then it is a new conversation). */
  verified(sessionId: string | undefined): void {
    this.#sessionId = sessionId;
    const waiting = this.#waiting;
    if (waiting && this.#deliver(waiting)) this.#waiting = undefined;
  }

  /**
   * The link is ready again on the same session (a changed profile verified: an MCP server that
   * went away or came back changes the tools mid-call). A new session's `verified` comes in the
   * same tick and wins: the waiting outputs go there, re-created, not here.
   */
  linkReady(): void {
    setImmediate(() => {
      const waiting = this.#waiting;
      if (waiting && this.#deliver(waiting)) this.#waiting = undefined;
    });
  }

  /** Runs the completed calls of a completed response for turn `turnId`. */
  async run(turnId: number, calls: readonly FunctionCallItem[], approvals: readonly McpApprovalItem[] = []): Promise<RoundResult> {
    const fresh = calls.filter((c) => !this.#seen.has(c.callId));
    for (const c of fresh) this.#remember(c.callId);
    const asked = approvals.filter((a) => !this.#seen.has(a.id));
    for (const a of asked) this.#remember(a.id);
    const round = (this.#rounds.get(turnId) ?? 0) + 1;
    this.#rounds.set(turnId, round);
    this.#log.debug('tool round', { turn: turnId, round, calls: fresh.map((c) => c.name), approvals: asked.length });
    const sessionId = this.#sessionId;
    if (round > this.#d.maxRounds()) {
      const reason = `the model asked for tools ${round} times in one turn (limit ${this.#d.maxRounds()}); the turn ends`;
      const output = errorOutput('too_many_rounds', `${reason}. Answer without tools.`);
      this.#send({ calls: fresh, outputs: new Map(fresh.map((c) => [c.callId, output])), sessionId, respond: false });
      this.#log.warn('tool round limit reached', { turn: turnId, round });
      return { kind: 'limit', records: [], reason };
    }
    let controller = this.#running.get(turnId);
    if (!controller) {
      controller = new AbortController();
      this.#running.set(turnId, controller);
    }
    const signal = controller.signal;
    const [results, answered] = await Promise.all([
      Promise.all(fresh.map((c) => this.#d.executor().call({ callId: c.callId, name: c.name, arguments: c.arguments }, signal))),
      Promise.all(asked.map((a) => this.#approve(a, signal))),
    ]);
    const records = [...results.map((r) => r.record), ...answered.map((a) => a.record)];
    if (records.length > 0) this.#d.onRecords?.(turnId, records);
    if (signal.aborted) {
      this.#log.info('tool results dropped: the turn ended while they ran', { turn: turnId, calls: records.map((r) => r.tool) });
      return { kind: 'aborted', records };
    }
    if (fresh.length > 0 || asked.length > 0) {
      const outputs = new Map(fresh.map((c, i) => [c.callId, results[i]!.output]));
      this.#send({ calls: fresh, outputs, approvals: answered.map((a) => a.item), sessionId, respond: true });
    }
    return { kind: 'answered', records };
  }

  /** The turn ended: its running calls are aborted, its round count forgotten. */
  endTurn(turnId: number): void {
    this.#running.get(turnId)?.abort(new Error('the turn ended'));
    this.#running.delete(turnId);
    this.#rounds.delete(turnId);
  }

  /** A hosted MCP server's call waits for the button like a local tool of `tools.confirm`. */
  async #approve(a: McpApprovalItem, signal: AbortSignal): Promise<{ item: ConversationItem; record: CallRecord }> {
    const started = performance.now();
    const parsed = parseArguments(a.arguments);
    const args = parsed.ok ? parsed.args : {};
    const tool = `${a.serverLabel}.${a.name}`;
    const hook = this.#d.confirm?.();
    const answer: ConfirmAnswer = hook ? await hook.confirm(tool, args, signal).catch(() => 'declined' as const) : 'declined';
    const approve = answer === 'approved';
    const item: ConversationItem = {
      type: 'mcp_approval_response',
      id: `ptt_apr_${randomBytes(8).toString('hex')}`,
      approval_request_id: a.id,
      approve,
    };
    const record: CallRecord = {
      callId: a.id,
      tool,
      source: `hosted:${a.serverLabel}`,
      outcome: approve ? 'ok' : answer === 'timeout' ? 'confirm-timeout' : 'declined',
      durationMs: Math.round(performance.now() - started),
      outputBytes: 0,
      truncated: false,
      arguments: redactArguments(parsed.ok ? parsed.args : a.arguments),
      ...(approve ? {} : { detail: answer === 'timeout' ? 'no confirmation in time' : 'declined at the device' }),
    };
    return { item, record };
  }

  #send(ready: Ready): void {
    if (!this.#deliver(ready)) this.#waiting = ready;
  }

  /** Sends the outputs (and one response.create); false when the link is not verified now. */
  #deliver(ready: Ready): boolean {
    const session = this.#d.session();
    if (!session) return false;
    // A different session than the one that made the calls knows nothing of them: re-create them.
    const recreate = ready.sessionId !== this.#sessionId;
    for (const [i, call] of ready.calls.entries()) {
      if (recreate) {
        const made = session.sendItem({ type: 'function_call', call_id: call.callId, name: call.name, arguments: call.arguments });
        if (!made && i === 0) return false;
      }
      const output = ready.outputs.get(call.callId) ?? errorOutput('lost', 'no output');
      if (!session.sendItem({ type: 'function_call_output', call_id: call.callId, output }) && i === 0 && !recreate) return false;
    }
    // A new session never saw the requests these answer: they are dropped there.
    if (!recreate) for (const item of ready.approvals ?? []) session.sendItem(item);
    if (ready.respond) session.createResponse();
    return true;
  }

  #remember(callId: string): void {
    if (this.#seen.size >= SEEN_MAX) this.#seen.clear();
    this.#seen.add(callId);
  }
}
