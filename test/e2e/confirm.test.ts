/**
 * Confirmation by button, end to end: the real daemon on the simulator with a tool of
 * `tools.confirm` (the built-in set_volume) and a hosted MCP server in `session.tools`. The
 * simulated model calls the tool; the daemon asks for a press; the test presses (approve), holds
 * (decline, long press) or waits (timeout) and checks what the model was told, that the
 * approving press started no turn of its own, and that every client frame is schema-valid.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DaemonRig, sleep, startDaemonRig, until } from '../support/daemon-rig.js';
import { testPcm } from '../support/alsa.js';
import { validateClientEvent, validateServerEvent } from '../support/realtime-schema.js';

const KEY = 'sk-e2e-confirm-0123456789abcdefghijklmnop';
const HOSTED_TOKEN = 'hosted-mcp-oauth-token-0123456789abcdef';
let rig: DaemonRig;

beforeAll(async () => {
  rig = await startDaemonRig({
    key: KEY,
    simulator: { replyMs: 300, deltaMs: 100 },
    config: {
      gpio: { backend: 'virtual', longPressMs: 600 },
      session: {
        instructions: 'You are the confirmation test assistant.',
        tools: [{ type: 'mcp', server_label: 'weather', server_url: 'https://mcp.example.com/sse', authorization: HOSTED_TOKEN }],
      },
      tools: { confirm: ['set_volume'], confirmWindowMs: 1_500, callTimeoutMs: 3_000 },
    },
  });
}, 40_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') process.stderr.write(`daemon log tail:\n${rig.daemon.tail(40)}\n${rig.daemon.other}`);
});

afterAll(async () => {
  await rig?.stop();
});

/** Starts a turn whose response calls `calls`, and waits until the device asks for a press. */
async function askTurn(calls: Parameters<DaemonRig['sim']['queueToolCalls']>[0]): Promise<{ done: Promise<Record<string, unknown>> }> {
  rig.sim.queueToolCalls(calls);
  const since = rig.daemon.find(() => true).length;
  const next = rig.daemon.nextTurn(20_000);
  await rig.daemon.control('press');
  void rig.alsa.mic.feed(testPcm(400, 1));
  await sleep(400);
  await rig.daemon.control('release');
  await rig.daemon.waitFor((r) => r.msg === 'asking for a press to run a tool', 'the device to ask for a press', 10_000, since);
  // Wrapped: an async function returning the promise itself would wait for the turn.
  return { done: next as Promise<Record<string, unknown>> };
}

const lastOutput = () => JSON.parse(rig.sim.callOutputs.at(-1)!.output) as Record<string, unknown>;

describe('timers', () => {
  it('a timer that fires while idle rings until a press (which starts no turn) and is announced out of band', async () => {
    const turn = await (async () => {
      rig.sim.queueToolCalls([{ name: 'set_timer', arguments: { name: 'tea', seconds: 2 } }]);
      return rig.turn(testPcm(400, 1), 400);
    })();
    expect((turn.tools as Array<{ outcome: string }>)[0]!.outcome).toBe('ok');
    const since = rig.daemon.find(() => true).length;
    await rig.daemon.waitFor((r) => r.msg === 'timer went off' && r.name === 'tea', 'the timer to go off', 8_000, since);
    const announced = await rig.daemon.waitFor((r) => r.msg === 'turn' && r.mode === 'say', 'the announcement turn', 15_000, since);
    expect(announced.outcome).toBe('complete');
    const oob = rig.sim
      .framesOf('response.create')
      .find((f) => (f.event.response as { conversation?: string } | undefined)?.conversation === 'none');
    expect(oob, 'an out-of-band response.create').toBeDefined();
    expect(String((oob!.event.response as { instructions: string }).instructions)).toContain('tea');
    const turnsBefore = rig.daemon.find((r) => r.msg === 'turn').length;
    await rig.daemon.control('tap 100');
    await rig.daemon.waitFor((r) => r.msg === 'alarm stopped', 'the alarm to stop', 5_000, since);
    await sleep(300);
    expect(rig.daemon.find((r) => r.msg === 'turn').length, 'the stopping press started no turn').toBe(turnsBefore);
  }, 40_000);
});

describe('confirmation by button', () => {
  it('a press approves: the tool runs, its output goes back, the press starts no turn', async () => {
    const turnsBefore = rig.daemon.find((r) => r.msg === 'turn').length;
    const turn = await askTurn([{ name: 'set_volume', arguments: { percent: 50 } }]);
    await rig.daemon.control('tap 100');
    const record = await turn.done;
    expect(record.outcome).toBe('complete');
    expect(lastOutput()).not.toHaveProperty('error');
    expect((record.tools as Array<{ outcome: string }>)[0]!.outcome).toBe('ok');
    await sleep(300);
    expect(rig.daemon.find((r) => r.msg === 'turn').length, 'only the question turn, none for the approving press').toBe(turnsBefore + 1);
  }, 30_000);

  it('a long press declines, and no press within the window times out: the model is told which', async () => {
    let turn = await askTurn([{ name: 'set_volume', arguments: { percent: 20 } }]);
    await rig.daemon.control('press');
    await sleep(900); // past longPressMs
    await rig.daemon.control('release');
    let record = await turn.done;
    expect(JSON.stringify(lastOutput())).toContain('declined');
    expect((record.tools as Array<{ outcome: string }>)[0]!.outcome).toBe('declined');

    turn = await askTurn([{ name: 'set_volume', arguments: { percent: 30 } }]);
    record = await turn.done;
    expect(JSON.stringify(lastOutput())).toContain('not_confirmed');
    expect((record.tools as Array<{ outcome: string }>)[0]!.outcome).toBe('confirm-timeout');
  }, 40_000);

  it('a hosted MCP approval request is asked at the button and answered with an mcp_approval_response, then the mcp_call runs', async () => {
    const update = rig.sim.framesOf('session.update')[0]!;
    expect(JSON.stringify(update.event)).toContain('"require_approval":"always"');
    const turn = await askTurn([{ name: 'get_forecast', arguments: { city: 'Oslo' }, serverLabel: 'weather' }]);
    await rig.daemon.control('tap 100');
    const record = await turn.done;
    expect(record.outcome).toBe('complete');
    expect(rig.sim.approvals.at(-1)).toMatchObject({ approve: true, name: 'get_forecast', serverLabel: 'weather' });
    expect(rig.sim.sentOf('response.mcp_call.completed').length).toBe(1);
    const frames = rig.sim.frames;
    const answer = frames.findIndex(
      (f) => f.type === 'conversation.item.create' && (f.event.item as { type: string }).type === 'mcp_approval_response',
    );
    expect(answer).toBeGreaterThan(0);
    expect(
      frames.slice(answer).some((f) => f.type === 'response.create'),
      'response.create after the approval',
    ).toBe(true);
  }, 30_000);

  it('every client frame (and every simulator frame) is valid against the published schema; the hosted token is in no log line', async () => {
    await until(() => rig.sim.frames.length > 0, 'frames');
    for (const f of rig.sim.frames) {
      // The published schema cannot validate conversation: "none" (overlapping oneOf, see its README): checked apart.
      const response = f.event.response as Record<string, unknown> | undefined;
      if (f.type === 'response.create' && response?.conversation === 'none') {
        const { conversation: _c, ...rest } = response;
        expect(validateClientEvent({ ...f.event, response: rest })).toEqual([]);
        continue;
      }
      const problems = validateClientEvent(f.event);
      expect(problems, `${f.type}: ${JSON.stringify(problems)}`).toEqual([]);
    }
    // The simulator's approval request and mcp_call items are valid server frames too.
    for (const f of rig.sim.sent.filter((x) => !x.deliberate)) {
      const problems = validateServerEvent(f.event);
      expect(problems, `${f.type}: ${JSON.stringify(problems)}`).toEqual([]);
    }
    expect(rig.daemon.tail(100_000)).not.toContain(HOSTED_TOKEN);
    expect(rig.daemon.other).not.toContain(HOSTED_TOKEN);
  });
});
