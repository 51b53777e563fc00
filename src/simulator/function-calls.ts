/**
 * A model response that calls functions instead of speaking: for each scripted call a
 * `function_call` item streams its arguments (`response.function_call_arguments.delta`/`.done`)
 * and completes; `response.done` carries the items. A cancel between events ends the response
 * as cancelled with the items incomplete (the client must then not run them).
 */
import { randomId } from './ids.js';
import type { ActiveResponse, ResponseStep } from './response.js';
import type { Json } from './session-config.js';

/** One call the simulated model makes: which function, with which arguments (an object or raw JSON text). */
export interface ScriptedCall {
  name: string;
  arguments: Record<string, unknown> | string;
}

export interface CallItem {
  id: string;
  callId: string;
  name: string;
  arguments: string;
}

export function scriptedItems(calls: readonly ScriptedCall[]): CallItem[] {
  return calls.map((c) => ({
    id: randomId('item_'),
    callId: randomId('call_'),
    name: c.name,
    arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
  }));
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
      response: {
        ...shell(r.cancelled ? 'cancelled' : 'completed'),
        status_details: r.cancelled ? { type: 'cancelled', reason: r.cancelled } : null,
        output: done,
      },
    },
  };
}
