import { afterEach, describe, expect, it } from 'vitest';
import { RealtimeSimulator, synthesizeReply, type SimulatorOptions } from '../../src/simulator/index.js';
import { append, pcm, PTT_UPDATE, TestClient, type Event } from './ws-client.js';

let sim: RealtimeSimulator | undefined;
let client: TestClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await sim?.stop();
  sim = undefined;
});

async function pttSession(options: SimulatorOptions = {}): Promise<TestClient> {
  sim = new RealtimeSimulator({ replyMs: 400, ...options });
  await sim.start();
  client = await TestClient.connect(`${sim.url}?model=gpt-realtime`);
  client.send(PTT_UPDATE);
  await client.next('session.updated');
  return client;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const audioOf = (events: Event[]) =>
  Buffer.concat(events.filter((e) => e.type === 'response.output_audio.delta').map((e) => Buffer.from(String(e.delta), 'base64')));

describe('input audio buffer', () => {
  it('refuses a commit under 100 ms with the real message, and the audio stays for a later commit', async () => {
    const c = await pttSession();
    c.send(append(pcm(60)));
    c.send({ type: 'input_audio_buffer.commit', event_id: 'evt_short' });
    const err = await c.next('error');
    expect(err.error).toEqual({
      type: 'invalid_request_error',
      code: 'input_audio_buffer_commit_empty',
      message:
        'Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has 60.00ms of audio.',
      param: null,
      event_id: 'evt_short',
    });
    c.send(append(pcm(60)));
    c.send({ type: 'input_audio_buffer.commit' });
    await c.next('input_audio_buffer.committed');
  });

  it('commits into a chain of user items (committed, item added and done), and clear empties the buffer', async () => {
    const c = await pttSession();
    c.send(append(pcm(200)));
    c.send({ type: 'input_audio_buffer.commit' });
    const first = await c.next('input_audio_buffer.committed');
    expect(first.previous_item_id).toBeNull();
    expect(first.item_id).toMatch(/^item_/);
    const added = await c.next('conversation.item.added');
    expect(added.item).toEqual({
      id: first.item_id,
      type: 'message',
      status: 'completed',
      role: 'user',
      content: [{ type: 'input_audio', transcript: null }],
    });
    await c.next('conversation.item.done', (e) => (e.item as Event).id === first.item_id);

    c.send(append(pcm(300)));
    c.send({ type: 'input_audio_buffer.commit' });
    const second = await c.after('input_audio_buffer.committed');
    expect(second.previous_item_id).toBe(first.item_id);

    c.send(append(pcm(300)));
    c.send({ type: 'input_audio_buffer.clear' });
    await c.next('input_audio_buffer.cleared');
    c.send({ type: 'input_audio_buffer.commit', event_id: 'evt_after_clear' });
    expect(((await c.after('error')).error as Event).message).toMatch(/buffer only has 0.00ms of audio/);
  });

  it('transcribes the user’s turn when transcription is on', async () => {
    const c = await pttSession();
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' } } } } });
    await c.after('session.updated');
    c.send(append(pcm(500)));
    c.send({ type: 'input_audio_buffer.commit' });
    const committed = await c.next('input_audio_buffer.committed');
    const done = await c.next('conversation.item.input_audio_transcription.completed');
    expect(done).toMatchObject({ item_id: committed.item_id, content_index: 0, transcript: '(500 ms of speech)' });
    expect(c.types().indexOf('conversation.item.input_audio_transcription.delta')).toBeLessThan(
      c.types().indexOf('conversation.item.input_audio_transcription.completed'),
    );
  });

  it('answers a bad append and an unknown event type with errors that name the event', async () => {
    const c = await pttSession();
    c.send({ type: 'input_audio_buffer.append', event_id: 'evt_b64', audio: 'not base64!' });
    expect((await c.next('error')).error).toMatchObject({ code: 'invalid_value', param: 'audio', event_id: 'evt_b64' });
    c.send({ type: 'input_audio.append', event_id: 'evt_typo' });
    const err = (await c.after('error')).error as Event;
    expect(err).toMatchObject({ code: 'invalid_value', param: 'type', event_id: 'evt_typo' });
    expect(err.message).toMatch(/^Invalid value: 'input_audio.append'\. Supported values are: 'session.update', /);
  });
});

describe('conversation items', () => {
  it('adds a text message to the conversation; refuses a function_call_output for a call it never made (as the real server does)', async () => {
    const c = await pttSession();
    c.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What time is it?' }] },
    });
    const added = await c.next('conversation.item.added');
    expect(added.item).toMatchObject({
      type: 'message',
      role: 'user',
      status: 'completed',
      content: [{ type: 'input_text', text: 'What time is it?' }],
    });
    await c.next('conversation.item.done');
    c.send({
      type: 'conversation.item.create',
      event_id: 'evt_fn',
      item: { type: 'function_call_output', call_id: 'call_1', output: '{}' },
    });
    expect((await c.next('error')).error).toMatchObject({ code: 'invalid_value', param: 'item.call_id', event_id: 'evt_fn' });
  });

  it('checks each function_call_output item: call_id known, output a string, id/object/status of the schema; a good one is recorded', async () => {
    const c = await pttSession({ toolCalls: [[{ name: 'get_local_time', arguments: {} }]] });
    c.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'time?' }] } });
    c.send({ type: 'response.create' });
    const done = await c.next('response.done');
    const callId = (done.response as { output: Array<{ call_id: string }> }).output[0]!.call_id;
    const send = async (item: Record<string, unknown>) => {
      const eventId = `evt_${Math.random().toString(36).slice(2)}`;
      const next = c.after('error', (e) => (e.error as { event_id: string }).event_id === eventId, 1_000);
      c.send({ type: 'conversation.item.create', event_id: eventId, item: { type: 'function_call_output', call_id: callId, ...item } });
      return (await next).error as { param: string; message: string };
    };
    expect(await send({ output: { ok: true } })).toMatchObject({
      param: 'item.output',
      message: "Invalid type for 'item.output': expected a string.",
    });
    expect(await send({ output: 'x', status: 'done' })).toMatchObject({ param: 'item.status' });
    expect(await send({ output: 'x', object: 'item' })).toMatchObject({ param: 'item.object' });
    expect(await send({ output: 'x', id: 7 })).toMatchObject({ param: 'item.id' });
    expect(sim!.callOutputs).toEqual([]);
    c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: '{"time":"12:00"}' } });
    const added = await c.after('conversation.item.added');
    expect(added.item).toMatchObject({ type: 'function_call_output', call_id: callId, output: '{"time":"12:00"}' });
    expect(sim!.callOutputs).toEqual([{ callId, name: 'get_local_time', output: '{"time":"12:00"}' }]);
  });
});

describe('responses', () => {
  it('sends the full GA event sequence with the synthesized reply audio and its transcript', async () => {
    const c = await pttSession({ replyMs: 450, deltaMs: 100, replyText: (n) => `Reply ${n} is here.` });
    c.send(append(pcm(300)));
    c.send({ type: 'input_audio_buffer.commit' });
    const user = await c.next('input_audio_buffer.committed');
    const from = c.events.length;
    c.send({ type: 'response.create', event_id: 'evt_go' });
    const done = await c.next('response.done');
    const turn = c.events.slice(from);
    const order = [...new Set(turn.map((e) => e.type))];
    expect(order).toEqual([
      'response.created',
      'response.output_item.added',
      'conversation.item.added',
      'response.content_part.added',
      'response.output_audio.delta',
      'response.output_audio_transcript.delta',
      'response.output_audio.done',
      'response.output_audio_transcript.done',
      'response.content_part.done',
      'response.output_item.done',
      'conversation.item.done',
      'response.done',
      'rate_limits.updated',
    ]);
    // 450 ms in 100 ms deltas: five deltas, 21 600 bytes, exactly the deterministic chirp.
    expect(turn.filter((e) => e.type === 'response.output_audio.delta')).toHaveLength(5);
    expect(audioOf(turn).equals(synthesizeReply(450, 1))).toBe(true);
    const transcript = turn
      .filter((e) => e.type === 'response.output_audio_transcript.delta')
      .map((e) => e.delta)
      .join('');
    expect(transcript).toBe('Reply 1 is here.');
    const response = done.response as Record<string, any>;
    expect(response).toMatchObject({
      object: 'realtime.response',
      status: 'completed',
      status_details: null,
      output_modalities: ['audio'],
    });
    expect(response.output[0]).toMatchObject({
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_audio', transcript: 'Reply 1 is here.' }],
    });
    expect(response.usage.output_token_details.audio_tokens).toBeGreaterThan(0);
    expect(response.usage.total_tokens).toBe(response.usage.input_tokens + response.usage.output_tokens);
    const added = turn.find((e) => e.type === 'conversation.item.added')!;
    expect(added.previous_item_id).toBe(user.item_id);
    // Every event of the response names the same response and item.
    const itemId = response.output[0].id;
    for (const e of turn.filter((x) => 'item_id' in x && x.type.startsWith('response.'))) expect(e.item_id).toBe(itemId);
  });

  it('answers in text when the response asks for text only', async () => {
    const c = await pttSession({ replyText: () => 'Just words.' });
    c.send({ type: 'response.create', response: { output_modalities: ['text'] } });
    const done = await c.next('response.done');
    expect(c.ofType('response.output_audio.delta')).toHaveLength(0);
    expect(
      c
        .ofType('response.output_text.delta')
        .map((e) => e.delta)
        .join(''),
    ).toBe('Just words.');
    expect((done.response as any).output[0].content).toEqual([{ type: 'output_text', text: 'Just words.' }]);
  });

  it('refuses a second response while one is active, and a cancel with none active', async () => {
    const c = await pttSession({ replyMs: 600, deltaMs: 100, pace: 'realtime' });
    c.send({ type: 'response.cancel', event_id: 'evt_cancel_none' });
    expect((await c.next('error')).error).toMatchObject({ code: 'response_cancel_not_active', event_id: 'evt_cancel_none' });
    c.send({ type: 'response.create' });
    const created = await c.next('response.created');
    c.send({ type: 'response.create', event_id: 'evt_twice' });
    const err = (await c.after('error')).error as Event;
    expect(err).toMatchObject({ code: 'conversation_already_has_active_response', event_id: 'evt_twice' });
    expect(err.message).toContain(String((created.response as Event).id));
  });

  it('at the default pace a response.cancel sent while the first delta plays finds the reply in progress: status cancelled, with the audio sent so far', async () => {
    // The simulator's defaults: a 1500 ms reply streamed at 4x real time, as the real server does.
    // A person cuts the answer a moment after it starts playing; sent instantly, the reply would
    // be complete by then (see the next test), which the real server never is.
    const c = await pttSession({ replyMs: 1500 });
    c.send({ type: 'response.create' });
    await c.next('response.output_audio.delta');
    await sleep(100);
    c.send({ type: 'response.cancel' });
    const done = await c.next('response.done');
    expect(done.response).toMatchObject({ status: 'cancelled', status_details: { type: 'cancelled', reason: 'client_cancelled' } });
    expect((done.response as any).output[0].status).toBe('incomplete');
    expect(audioOf(c.events).length).toBeLessThan(1500 * 48);
  });

  it("pace 'instant' sends the whole reply at once: the same late cancel finds it completed", async () => {
    const c = await pttSession({ replyMs: 1500, pace: 'instant' });
    c.send({ type: 'response.create' });
    await c.next('response.output_audio.delta');
    await sleep(100);
    c.send({ type: 'response.cancel', event_id: 'evt_late' });
    expect((await c.next('response.done')).response).toMatchObject({ status: 'completed' });
    expect((await c.next('error')).error).toMatchObject({ code: 'response_cancel_not_active', event_id: 'evt_late' });
    expect(audioOf(c.events).length).toBe(1500 * 48);
  });

  it('truncates assistant audio to the played position, and refuses a position past what was sent', async () => {
    const c = await pttSession({ replyMs: 500 });
    c.send({ type: 'response.create' });
    const done = await c.next('response.done');
    const itemId = (done.response as any).output[0].id as string;
    c.send({ type: 'conversation.item.truncate', event_id: 'evt_long', item_id: itemId, content_index: 0, audio_end_ms: 900 });
    expect((await c.next('error')).error).toMatchObject({
      code: 'invalid_value',
      param: 'audio_end_ms',
      event_id: 'evt_long',
      message: 'Audio content of 500ms is already shorter than 900ms',
    });
    c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 320 });
    expect(await c.next('conversation.item.truncated')).toMatchObject({ item_id: itemId, content_index: 0, audio_end_ms: 320 });
    c.send({ type: 'conversation.item.truncate', event_id: 'evt_nowhere', item_id: 'item_missing', content_index: 0, audio_end_ms: 10 });
    expect((await c.after('error')).error).toMatchObject({ param: 'item_id', event_id: 'evt_nowhere' });
  });
});

describe('server VAD', () => {
  it('detects speech by energy, commits the turn and answers, in audio time', async () => {
    sim = new RealtimeSimulator({ replyMs: 200 });
    await sim.start();
    const c = (client = await TestClient.connect(`${sim.url}?model=gpt-realtime`));
    await c.next('session.created'); // defaults: server_vad, silence 200 ms, prefix 300 ms
    c.send(append(pcm(500, 0)));
    c.send(append(pcm(600, 0.5)));
    c.send(append(pcm(400, 0)));
    const started = await c.next('input_audio_buffer.speech_started');
    const stopped = await c.next('input_audio_buffer.speech_stopped');
    expect(started.audio_start_ms).toBe(200); // speech at 500 ms minus 300 ms of prefix padding
    expect(stopped.audio_end_ms).toBe(1300); // speech ended at 1100 ms + 200 ms of silence
    const committed = await c.next('input_audio_buffer.committed');
    expect(committed.item_id).toBe(started.item_id);
    await c.next('response.done');
  });

  it('idle_timeout_ms: silence that long after a reply triggers a turn and an answer', async () => {
    sim = new RealtimeSimulator({ replyMs: 100 });
    await sim.start();
    const c = (client = await TestClient.connect(sim.url));
    c.send({
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', idle_timeout_ms: 5000 } } } },
    });
    await c.next('session.updated');
    c.send(append(pcm(1000, 0)));
    c.send({ type: 'response.create' });
    const first = await c.next('response.done');
    c.send(append(pcm(4000, 0)));
    c.send(append(pcm(2000, 0)));
    const timeout = await c.next('input_audio_buffer.timeout_triggered');
    expect(timeout).toMatchObject({ audio_start_ms: 1000, audio_end_ms: 6000 });
    expect((await c.next('input_audio_buffer.committed')).item_id).toBe(timeout.item_id);
    await c.next('response.done', (e) => e !== first);
    expect(c.ofType('input_audio_buffer.speech_started')).toHaveLength(0);
  });

  it('quiet audio under the threshold never starts a turn', async () => {
    sim = new RealtimeSimulator();
    await sim.start();
    const c = (client = await TestClient.connect(sim.url));
    c.send(append(pcm(800, 0.01)));
    c.send({ type: 'input_audio_buffer.clear' });
    await c.next('input_audio_buffer.cleared');
    expect(c.ofType('input_audio_buffer.speech_started')).toHaveLength(0);
  });

  it('barge-in: speech during a reply cancels it with reason turn_detected', async () => {
    sim = new RealtimeSimulator({ replyMs: 3000 });
    await sim.start();
    const c = (client = await TestClient.connect(sim.url));
    c.send({ type: 'response.create' });
    await c.next('response.output_audio.delta');
    c.send(append(pcm(200, 0.5)));
    await c.next('input_audio_buffer.speech_started');
    const done = await c.next('response.done');
    expect(done.response).toMatchObject({ status: 'cancelled', status_details: { reason: 'turn_detected' } });
  });
});
