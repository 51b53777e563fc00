import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { forgetSecrets, registerSecret } from '../../src/core/secrets.js';
import { mcpFunctionName } from '../../src/tools/names.js';
import { CONFIRM_SUFFIX, ToolRegistry } from '../../src/tools/registry.js';
import { ToolExecutor } from '../../src/tools/executor.js';
import type { ConfirmAnswer, ConfirmHook, Tool } from '../../src/tools/types.js';

function tool(name: string, run: Tool['run'], parameters: Record<string, unknown> = { type: 'object', properties: {} }): Tool {
  return { source: 'test', originalName: name, definition: { type: 'function', name, description: `${name} tool`, parameters }, run };
}

const LOCK = tool('unlock_door', async (args) => ({ text: `unlocked ${String(args.door)}` }), {
  type: 'object',
  properties: { door: { type: 'string', enum: ['front', 'back'] }, pin: { type: 'string' } },
  required: ['door'],
  additionalProperties: false,
});

/** The confirmation hook as the conductor will offer it, answering from a script. */
function scriptedConfirm(answer: ConfirmAnswer): ConfirmHook & { asked: Array<[string, Record<string, unknown>]> } {
  const asked: Array<[string, Record<string, unknown>]> = [];
  return {
    asked,
    confirm: async (name, args) => {
      asked.push([name, args]);
      return answer;
    },
  };
}

function setup(tools: Tool[], opts: { confirm?: string[]; hook?: ConfirmHook; timeoutMs?: number; maxOutputBytes?: number } = {}) {
  const registry = new ToolRegistry({ confirm: opts.confirm ?? [] });
  registry.setSource('test', tools);
  const logger = memoryLogger();
  const executor = new ToolExecutor({
    registry,
    timeoutMs: opts.timeoutMs ?? 1_000,
    maxOutputBytes: opts.maxOutputBytes ?? 4_096,
    logger,
    ...(opts.hook ? { confirm: opts.hook } : {}),
  });
  return { registry, executor, logger };
}

afterEach(() => forgetSecrets());

describe('tool registry', () => {
  it('gives session.tools as GA function definitions, with a confirm note where a press is needed, and says when they change', () => {
    const { registry } = setup([LOCK, tool('get_time', async () => ({ text: 'noon' }))], { confirm: ['unlock_door'] });
    const defs = registry.definitions();
    expect(defs.map((d) => d.name)).toEqual(['unlock_door', 'get_time']);
    expect(defs[0]).toMatchObject({ type: 'function', parameters: LOCK.definition.parameters });
    expect(defs[0]?.description).toBe(`unlock_door tool${CONFIRM_SUFFIX}`);
    expect(defs[1]?.description).toBe('get_time tool');
    const changes: string[][] = [];
    registry.on('toolsChanged', (names) => changes.push(names));
    registry.setSource('other', [tool('x', async () => ({ text: '' }))]);
    registry.removeSource('other');
    registry.setSource('test', [LOCK, tool('get_time', async () => ({ text: 'noon' }))]); // the same list: no change
    expect(changes).toEqual([
      ['unlock_door', 'get_time', 'x'],
      ['unlock_door', 'get_time'],
    ]);
  });

  it('maps MCP names the Realtime API refuses to legal, distinct names, and refuses a duplicate', () => {
    const names = ['dotted.name', 'dotted_name', 'a/b c', 'x'.repeat(80)].map((n) => mcpFunctionName('srv', n));
    for (const n of names) expect(n).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(new Set(names).size).toBe(4);
    expect(mcpFunctionName('ha', 'HassTurnOn')).toBe('ha_HassTurnOn');
    const { registry } = setup([]);
    const rejected: string[] = [];
    registry.on('toolRejected', (e) => rejected.push(e.message));
    registry.setSource('a', [tool('same', async () => ({ text: '' }))]);
    registry.setSource('b', [tool('same', async () => ({ text: '' }))]);
    expect(registry.get('same')?.source).toBe('a');
    expect(rejected).toEqual(['tool "same" from b is already used by a; it is left out']);
  });
});

describe('tool executor', () => {
  it('runs a tool with its arguments and logs the call with secrets redacted', async () => {
    registerSecret('sk-live-0123456789abcdef');
    const { executor, logger } = setup([LOCK]);
    const r = await executor.call({ callId: 'c1', name: 'unlock_door', arguments: '{"door":"front","pin":"4711"}' });
    expect(r.output).toBe('unlocked front');
    expect(r.record).toMatchObject({ callId: 'c1', tool: 'unlock_door', outcome: 'ok', outputBytes: 14, truncated: false });
    expect(r.record.arguments).toBe('{"door":"front","pin":"[redacted]"}');
    const r2 = await executor.call({ callId: 'c2', name: 'unlock_door', arguments: '{"door":"sk-live-0123456789abcdef"}' });
    expect(r2.record.arguments).not.toContain('sk-live');
    expect(logger.lines.join('\n')).not.toMatch(/4711|sk-live-0123/);
  });

  it('refuses invalid arguments before the tool runs, telling the model what is wrong', async () => {
    let ran = 0;
    const counted = { ...LOCK, run: async () => ({ text: String(++ran) }) };
    const { executor } = setup([counted]);
    const bad = await executor.call({ callId: 'c', name: 'unlock_door', arguments: '{"door":"garage","extra":1}' });
    expect(bad.record.outcome).toBe('invalid-arguments');
    const err = JSON.parse(bad.output).error;
    expect(err.code).toBe('invalid_arguments');
    expect(err.message).toContain('argument door must be equal to one of the allowed values ("front", "back")');
    expect(err.message).toContain('arguments must NOT have additional properties (extra)');
    const notJson = await executor.call({ callId: 'c', name: 'unlock_door', arguments: '{door: front' });
    expect(JSON.parse(notJson.output).error.message).toBe('arguments are not valid JSON');
    const unknown = await executor.call({ callId: 'c', name: 'open_garage', arguments: '{}' });
    expect(unknown.record.outcome).toBe('unknown-tool');
    expect(JSON.parse(unknown.output).error.message).toBe('there is no tool named open_garage on this device');
    expect(ran).toBe(0);
  });

  it('stops a tool past its timeout, and a barge-in abort reaches the tool as its signal', async () => {
    let sawAbort = false;
    const slow = tool('slow', (_a, { signal }) => {
      signal.addEventListener('abort', () => {
        sawAbort = true;
      });
      return new Promise(() => {}); // never answers and ignores nothing but the signal
    });
    const { executor } = setup([slow], { timeoutMs: 150 });
    const t = await executor.call({ callId: 'c', name: 'slow', arguments: '{}' });
    expect(t.record.outcome).toBe('timeout');
    expect(JSON.parse(t.output).error.message).toBe('the tool did not answer within 0.15 s and was stopped');
    expect(t.record.durationMs).toBeGreaterThanOrEqual(140);
    expect(sawAbort).toBe(true);

    sawAbort = false;
    const bargeIn = new AbortController();
    const pending = executor.call({ callId: 'd', name: 'slow', arguments: '{}' }, bargeIn.signal);
    setTimeout(() => bargeIn.abort(), 20);
    const a = await pending;
    expect(a.record.outcome).toBe('aborted');
    expect(sawAbort).toBe(true);
  });

  it('turns a thrown error and an isError result into error outputs the model can read', async () => {
    const { executor } = setup([
      tool('throws', async () => {
        throw new Error('disk on fire');
      }),
      tool('reports', async () => ({ text: 'no such room', isError: true })),
    ]);
    const thrown = await executor.call({ callId: 'c', name: 'throws', arguments: '' });
    expect(thrown.record).toMatchObject({ outcome: 'error', detail: 'disk on fire' });
    expect(JSON.parse(thrown.output)).toEqual({ error: { code: 'tool_failed', message: 'disk on fire' } });
    const reported = await executor.call({ callId: 'c', name: 'reports', arguments: '{}' });
    expect(JSON.parse(reported.output)).toEqual({ error: { code: 'tool_error', message: 'no such room' } });
  });

  it('caps the output at maxOutputBytes without splitting a character, and says it was cut', async () => {
    const { executor } = setup([tool('big', async () => ({ text: 'ä'.repeat(100_000) }))], { maxOutputBytes: 1_000 });
    const r = await executor.call({ callId: 'c', name: 'big', arguments: '{}' });
    expect(Buffer.byteLength(r.output)).toBeLessThanOrEqual(1_000);
    expect(r.output).toMatch(/^ä+\n\[output truncated: 200000 bytes, only the first part is shown\]$/);
    expect(r.record).toMatchObject({ truncated: true, outputBytes: Buffer.byteLength(r.output) });
  });

  it('asks the confirmation hook before a confirm tool runs and tells the model the answer', async () => {
    for (const [answer, outcome, ran] of [
      ['approved', 'ok', true],
      ['declined', 'declined', false],
      ['timeout', 'confirm-timeout', false],
    ] as const) {
      let didRun = false;
      const hook = scriptedConfirm(answer);
      const { executor } = setup([{ ...LOCK, run: async () => ((didRun = true), { text: 'unlocked' }) }], {
        confirm: ['unlock_door'],
        hook,
      });
      const r = await executor.call({ callId: 'c', name: 'unlock_door', arguments: '{"door":"back"}' });
      expect(hook.asked).toEqual([['unlock_door', { door: 'back' }]]);
      expect(r.record.outcome).toBe(outcome);
      expect(didRun).toBe(ran);
      if (answer === 'declined') expect(JSON.parse(r.output).error.message).toMatch(/declined this action; it was not carried out/);
      if (answer === 'timeout') expect(JSON.parse(r.output).error.message).toMatch(/nobody pressed the button to approve in time/);
    }
    // Invalid arguments are refused before anyone is asked to press the button.
    const hook = scriptedConfirm('approved');
    const { executor } = setup([LOCK], { confirm: ['unlock_door'], hook });
    await executor.call({ callId: 'c', name: 'unlock_door', arguments: '{"door":"roof"}' });
    expect(hook.asked).toEqual([]);
  });
});
