import { afterEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { RealtimeSimulator, type FaultPlan, type SimulatorOptions } from '../../src/simulator/index.js';
import { append, pcm, PTT_UPDATE, TestClient } from './ws-client.js';

let sim: RealtimeSimulator | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim?.stop();
  sim = undefined;
});

async function start(faults: FaultPlan | ((i: number) => FaultPlan), options: SimulatorOptions = {}): Promise<RealtimeSimulator> {
  sim = new RealtimeSimulator({ replyMs: 300, faults: typeof faults === 'function' ? undefined : faults, ...options });
  if (typeof faults === 'function') sim.setFaults(faults);
  await sim.start();
  return sim;
}

async function connect(headers?: Record<string, string>, query = '?model=gpt-realtime'): Promise<TestClient> {
  const c = await TestClient.connect(sim!.url + query, headers);
  clients.push(c);
  return c;
}

describe('handshake', () => {
  it.each([401, 403, 500] as const)('rejectHandshake %i refuses the upgrade with that HTTP status and a JSON error', async (status) => {
    await start({ rejectHandshake: status });
    const err = await connect().catch((e: { status: number; body: string }) => e);
    expect(err).toMatchObject({ status });
    expect(JSON.parse((err as { body: string }).body).error.message).toBeTruthy();
    expect(sim!.connections[0]).toMatchObject({ rejectedWith: status });
  });

  it('with an API key set, accepts it as Bearer or api-key and refuses anything else with 401, never keeping the key', async () => {
    const logger = memoryLogger();
    await start({}, { apiKey: 'sk-simulator-secret-0001', logger });
    await connect({ Authorization: 'Bearer sk-simulator-secret-0001' });
    await connect({ 'api-key': 'sk-simulator-secret-0001' });
    await expect(connect({ Authorization: 'Bearer sk-wrong-key-000000' })).rejects.toMatchObject({ status: 401 });
    await expect(connect({})).rejects.toMatchObject({ status: 401 });
    await connect({}, '?model=gpt-realtime&api-key=sk-simulator-secret-0001');
    expect(sim!.connections.map((c) => [c.auth, c.authMatched])).toEqual([
      ['bearer', true],
      ['api-key', true],
      ['bearer', false],
      ['none', false],
      ['api-key', true],
    ]);
    expect(sim!.connections[4]!.query).toEqual({ model: 'gpt-realtime' });
    const everything = JSON.stringify(sim!.connections) + logger.lines.join('\n');
    expect(everything).not.toContain('sk-simulator-secret-0001');
    expect(everything).not.toContain('sk-wrong-key-000000');
  });

  it('closes with 4000 when the client sends the beta header, unless told not to', async () => {
    await start((i) => (i === 1 ? { refuseBetaHeader: false } : {}));
    const beta = { Authorization: 'Bearer sk-x-12345678', 'OpenAI-Beta': 'realtime=v1' };
    const refused = await connect(beta);
    expect((await refused.waitClose()).code).toBe(4000);
    const tolerated = await connect(beta);
    await tolerated.next('session.created');
    expect(sim!.connections[0]).toMatchObject({ betaHeader: true, closedWith: { code: 4000, by: 'server' } });
  });

  it('a port in use is a clear error with a hint', async () => {
    await start({});
    const second = new RealtimeSimulator({ port: sim!.port });
    await expect(second.start()).rejects.toMatchObject({
      code: 'SIMULATOR_LISTEN_FAILED',
      message: expect.stringContaining('EADDRINUSE'),
      hint: expect.stringContaining('--port'),
    });
    await second.stop();
  });

  it('setFaults applies to new connections only, by connection index', async () => {
    await start({});
    const first = await connect();
    sim!.setFaults((i) => (i === 1 ? { rejectHandshake: 500 } : {}));
    await expect(connect()).rejects.toMatchObject({ status: 500 });
    const third = await connect();
    await first.next('session.created');
    await third.next('session.created');
  });
});

describe('session.update faults', () => {
  it('ignore: no session.updated ever comes', async () => {
    await start({ sessionUpdate: 'ignore' });
    const c = await connect();
    c.send(PTT_UPDATE);
    c.send({ type: 'input_audio_buffer.clear' });
    await c.next('input_audio_buffer.cleared'); // frames are handled in order, so the update was seen
    expect(c.ofType('session.updated')).toHaveLength(0);
    expect(sim!.framesOf('session.update')).toHaveLength(1);
  });

  it('error: answers with a server_error naming the update’s event_id', async () => {
    await start({ sessionUpdate: 'error' });
    const c = await connect();
    c.send(PTT_UPDATE);
    expect((await c.next('error')).error).toMatchObject({ type: 'server_error', event_id: 'evt_ptt' });
  });

  it('partial: the listed fields stay at the server default, the rest applies', async () => {
    await start({ sessionUpdate: 'partial', partialFields: ['audio.input.turn_detection'] });
    const c = await connect();
    c.send({
      type: 'session.update',
      session: { type: 'realtime', instructions: 'Be brief.', audio: { input: { turn_detection: null } } },
    });
    const s = (await c.next('session.updated')).session as Record<string, any>;
    expect(s.instructions).toBe('Be brief.');
    expect(s.audio.input.turn_detection).toMatchObject({ type: 'server_vad', threshold: 0.5 });
  });

  it('partial without a field list keeps turn detection at the server default', async () => {
    await start({ sessionUpdate: 'partial' });
    const c = await connect();
    c.send({
      type: 'session.update',
      session: { type: 'realtime', instructions: 'Be brief.', audio: { input: { turn_detection: null }, output: { voice: 'ash' } } },
    });
    const s = (await c.next('session.updated')).session as Record<string, any>;
    expect([s.instructions, s.audio.output.voice, s.audio.input.turn_detection?.type]).toEqual(['Be brief.', 'ash', 'server_vad']);
  });

  it('delay: session.updated comes after events the client sent later', async () => {
    await start({ sessionUpdateDelayMs: 150 });
    const c = await connect();
    c.send(PTT_UPDATE);
    c.send({ type: 'input_audio_buffer.clear' });
    await c.next('session.updated');
    expect(c.types()).toEqual(['session.created', 'input_audio_buffer.cleared', 'session.updated']);
  });
});

describe('connection faults', () => {
  it('dropAfterEvents: the TCP connection ends (1006) right after the Nth event', async () => {
    await start({ dropAfterEvents: 2 });
    const c = await connect();
    c.send(PTT_UPDATE);
    expect((await c.waitClose()).code).toBe(1006);
    expect(c.types()).toEqual(['session.created', 'session.updated']);
    expect(sim!.connections[0]!.closedWith).toMatchObject({ code: 1006, by: 'server' });
  });

  it('dropAfterEvents 0: the connection drops right after the handshake, before session.created', async () => {
    await start({ dropAfterEvents: 0 });
    const c = await connect();
    expect((await c.waitClose()).code).toBe(1006);
    expect(c.events).toEqual([]);
  });

  it('dropMidResponse: the connection ends right after the first audio delta', async () => {
    await start({ dropMidResponse: true });
    const c = await connect();
    c.send(PTT_UPDATE);
    c.send({ type: 'response.create' });
    expect((await c.waitClose()).code).toBe(1006);
    expect(c.types().at(-1)).toBe('response.output_audio.delta');
    expect(c.ofType('response.output_audio.delta')).toHaveLength(1);
  });

  it('closeAfterMs: closes with the given code and reason (1001, the 60-minute cap)', async () => {
    await start({ closeAfterMs: { ms: 50, code: 1001, reason: 'session time limit' } });
    const c = await connect();
    expect(await c.waitClose()).toEqual({ code: 1001, reason: 'session time limit' });
  });

  it('expiresInS: expires_at says so, and at that time an error and a 1001 close end the session', async () => {
    await start({ expiresInS: 0.3 });
    const c = await connect();
    const created = await c.next('session.created');
    expect((created.session as { expires_at: number }).expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000 + 0.3));
    expect((await c.waitClose(3000)).code).toBe(1001);
    expect((c.ofType('error')[0]!.error as { code: string }).code).toBe('session_expired');
  });

  it('stall: the socket opens but nothing is sent and pings go unanswered', async () => {
    await start({ stall: true });
    const c = await connect();
    let pong = false;
    c.ws.on('pong', () => (pong = true));
    c.ws.ping();
    c.send(PTT_UPDATE);
    await sim!.waitForFrame((f) => f.type === 'session.update');
    await new Promise((r) => setTimeout(r, 100));
    expect(c.events).toHaveLength(0);
    expect(pong).toBe(false);
  });

  it('malformedJson and unknownEvents: a non-JSON frame and unknown event types, flagged in the sent record', async () => {
    await start({ malformedJson: true, unknownEvents: true });
    const c = await connect();
    c.send(PTT_UPDATE);
    c.send({ type: 'response.create' });
    await c.next('response.done');
    expect(c.unparsed).toHaveLength(1);
    expect(c.types()).toContain('session.simulator_notice');
    expect(c.types()).toContain('response.simulator_progress');
    expect(sim!.sent.filter((f) => f.deliberate).map((f) => f.deliberate)).toEqual(['malformed', 'unknown', 'unknown']);
  });

  it('betaEventNames: audio, transcript and item events use the beta names', async () => {
    await start({ betaEventNames: true });
    const c = await connect();
    c.send(PTT_UPDATE);
    c.send(append(pcm(200)));
    c.send({ type: 'input_audio_buffer.commit' });
    c.send({ type: 'response.create' });
    await c.next('response.done');
    expect(c.types()).toEqual(
      expect.arrayContaining([
        'response.audio.delta',
        'response.audio_transcript.delta',
        'response.audio.done',
        'response.audio_transcript.done',
        'conversation.item.created',
      ]),
    );
    expect(c.types().filter((t) => t.startsWith('response.output_audio') || t === 'conversation.item.added')).toEqual([]);
  });
});
