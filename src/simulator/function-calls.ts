/**
 * A model response that calls functions instead of speaking: for each scripted call a
 * `function_call` item streams its arguments (`response.function_call_arguments.delta`/`.done`)
 * and completes; `response.done` carries the items. A cancel between events ends the response
 * as cancelled with the items incomplete (the client must then not run them).
 */
import { randomId } from './ids.js';
import { finalResponse, type ActiveResponse, type ResponseStep } from './response.js';
import type { Json } from './session-config.js';

/** One call the simulated model makes: which function, with which arguments (an object or raw JSON text). */
export interface ScriptedCall {
  name: string;
  arguments: Record<string, unknown> | string;
  /** A hosted MCP server's tool instead: the response asks for approval (`mcp_approval_request`). */
  serverLabel?: string;
}

export interface CallItem {
  id: string;
  callId: string;
  name: string;
  arguments: string;
  serverLabel?: string;
}

export function scriptedItems(calls: readonly ScriptedCall[]): CallItem[] {
  return calls.map((c) => ({
    id: randomId('item_'),
    callId: randomId('call_'),
    name: c.name,
    arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
    ...(c.serverLabel ? { serverLabel: c.serverLabel } : {}),
  }));
}

/** What an `mcp_approval_response` answered, as the simulator records it. */
export interface McpApproval {
  approvalRequestId: string;
  approve: boolean;
  name: string;
  serverLabel: string;
  arguments: string;
}

/** An approval request's events: the item is complete at once (the server waits for the answer). */
function* approvalRequestEvents(r: ActiveResponse, index: number, previous: string | null, call: CallItem): Generator<ResponseStep> {
  const item = { id: call.id, type: 'mcp_approval_request', server_label: call.serverLabel, name: call.name, arguments: call.arguments };
  yield { event: { type: 'response.output_item.added', response_id: r.id, output_index: index, item } };
  yield { event: { type: 'conversation.item.added', previous_item_id: previous, item } };
  yield { pause: true, audioMs: 0 };
  yield { event: { type: 'response.output_item.done', response_id: r.id, output_index: index, item } };
  yield { event: { type: 'conversation.item.done', previous_item_id: previous, item } };
}

/**
 * The response after approvals: the approved calls run on the "hosted server" (an `mcp_call`
 * item with a made-up output) right after response.created, then the reply as usual.
 */
export function* withMcpCalls(
  r: ActiveResponse,
  approvals: readonly McpApproval[],
  reply: Generator<ResponseStep>,
): Generator<ResponseStep> {
  const first = reply.next();
  if (first.done) return;
  yield first.value;
  for (const a of approvals.filter((x) => x.approve)) {
    const id = randomId('item_');
    const base = {
      id,
      type: 'mcp_call',
      server_label: a.serverLabel,
      name: a.name,
      arguments: a.arguments,
      approval_request_id: a.approvalRequestId,
    };
    yield {
      event: { type: 'response.output_item.added', response_id: r.id, output_index: 0, item: { ...base, output: null, error: null } },
    };
    yield { event: { type: 'response.mcp_call.in_progress', output_index: 0, item_id: id } };
    yield { pause: true, audioMs: 0 };
    yield { event: { type: 'response.mcp_call.completed', output_index: 0, item_id: id } };
    const done = { ...base, output: `{"ok":true,"tool":${JSON.stringify(a.name)}}`, error: null };
    yield { event: { type: 'response.output_item.done', response_id: r.id, output_index: 0, item: done } };
  }
  yield* reply;
}

export function* functionCallEvents(
  r: ActiveResponse,
  shell: (status: string) => Json,
  previousItemId: string | null,
  items: readonly CallItem[],
): Generator<ResponseStep> {
  yield { event: { type: 'response.created', response: shell('in_progress') } };
  const done: Json[] = [];
  let previous = previousItemId;
  for (const [index, call] of items.entries()) {
    if (call.serverLabel) {
      yield* approvalRequestEvents(r, index, previous, call);
      done.push({ id: call.id, type: 'mcp_approval_request', server_label: call.serverLabel, name: call.name, arguments: call.arguments });
      previous = call.id;
      continue;
    }
    const item = (status: string, args: string): Json => ({
      id: call.id,
      object: 'realtime.item',
      type: 'function_call',
      status,
      call_id: call.callId,
      name: call.name,
      arguments: args,
    });
    yield { event: { type: 'response.output_item.added', response_id: r.id, output_index: index, item: item('in_progress', '') } };
    yield { event: { type: 'conversation.item.added', previous_item_id: previous, item: item('in_progress', '') } };
    const base = { response_id: r.id, item_id: call.id, output_index: index, call_id: call.callId };
    const half = Math.ceil(call.arguments.length / 2);
    for (const delta of [call.arguments.slice(0, half), call.arguments.slice(half)]) {
      if (delta) yield { event: { type: 'response.function_call_arguments.delta', ...base, delta } };
      yield { pause: true, audioMs: 0 };
    }
    // Sent for an interrupted response too (as the real server does): only the item's status tells.
    yield { event: { type: 'response.function_call_arguments.done', ...base, name: call.name, arguments: call.arguments } };
    const final = item(r.cancelled ? 'incomplete' : 'completed', call.arguments);
    yield { event: { type: 'response.output_item.done', response_id: r.id, output_index: index, item: final } };
    yield { event: { type: 'conversation.item.done', previous_item_id: previous, item: final } };
    done.push(final);
    previous = call.id;
    if (r.cancelled) break;
  }
  yield {
    event: {
      type: 'response.done',
      response: finalResponse(shell, r, done),
    },
  };
}

/** Reads an `mcp_approval_response` item against the requests made; a string is the error message. */
export function readApproval(item: Json, requests: ReadonlyMap<string, CallItem>): McpApproval | string {
  const id = item.approval_request_id;
  if (typeof id !== 'string') return "Missing required parameter: 'item.approval_request_id'.";
  const request = requests.get(id);
  if (!request) return `Approval request ID '${id}' not found in conversation.`;
  if (typeof item.approve !== 'boolean') return "Invalid type for 'item.approve': expected a boolean.";
  return {
    approvalRequestId: id,
    approve: item.approve,
    name: request.name,
    serverLabel: request.serverLabel ?? '',
    arguments: request.arguments,
  };
}

/**
 * Reads a `function_call_output` item against the calls this conversation knows and the published
 * item schema (type, call_id, output a string; id, object and status when given); else the error.
 */
export function readCallOutput(
  item: Json,
  callId: string,
  calls: ReadonlyMap<string, string>,
): { callId: string; name: string; output: string } | { message: string; param: string } {
  const name = calls.get(callId);
  if (name === undefined) return { message: `Tool call ID '${callId}' not found in conversation.`, param: 'item.call_id' };
  if (typeof item.output !== 'string') return { message: "Invalid type for 'item.output': expected a string.", param: 'item.output' };
  if (item.id !== undefined && typeof item.id !== 'string')
    return { message: "Invalid type for 'item.id': expected a string.", param: 'item.id' };
  if (item.object !== undefined && item.object !== 'realtime.item')
    return {
      message: `Invalid value for 'item.object': expected 'realtime.item', got ${JSON.stringify(item.object)}.`,
      param: 'item.object',
    };
  if (item.status !== undefined && !['completed', 'incomplete', 'in_progress'].includes(item.status as string))
    return {
      message: `Invalid value for 'item.status': expected 'completed', 'incomplete' or 'in_progress', got ${JSON.stringify(item.status)}.`,
      param: 'item.status',
    };
  return { callId, name, output: item.output };
}
