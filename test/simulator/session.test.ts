import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUCTIONS, RealtimeSimulator } from '../../src/simulator/index.js';
import { append, pcm, PTT_UPDATE, TestClient } from './ws-client.js';

let sim: RealtimeSimulator;
let client: TestClient | undefined;

beforeEach(async () => {
  sim = new RealtimeSimulator({ replyMs: 300 });
  await sim.start();
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await sim.stop();
});

async function connect(query = '?model=gpt-realtime'): Promise<TestClient> {
  client = await TestClient.connect(sim.url + query);
  return client;
}

describe('session.created', () => {
  it('starts every session with OpenAI’s defaults: server VAD on, voice alloy, pcm 24 kHz, one hour', async () => {
    const c = await connect('?model=gpt-realtime-mini');
    const created = await c.next('session.created');
    const s = created.session as Record<string, any>;
    expect(created.event_id).toMatch(/^event_[A-Za-z0-9]{21}$/);
    expect(s).toMatchObject({
      type: 'realtime',
      object: 'realtime.session',
      model: 'gpt-realtime-mini',
      output_modalities: ['audio'],
      instructions: DEFAULT_INSTRUCTIONS,
      tools: [],
      tool_choice: 'auto',
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: null,
          noise_reduction: null,
          turn_detection: {
            type: 'server_vad',
            threshold: 0.5,
            prefix_padding_ms: 300,
            silence_duration_ms: 200,
            create_response: true,
            interrupt_response: true,
          },
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy', speed: 1 },
      },
    });
    expect(s.id).toMatch(/^sess_/);
    const now = Math.floor(Date.now() / 1000);
    expect(s.expires_at).toBeGreaterThanOrEqual(now + 3595);
    expect(s.expires_at).toBeLessThanOrEqual(now + 3600);
  });
});

describe('session.update', () => {
  it('deep-merges the update and echoes the whole session, without the client’s event_id', async () => {
    const c = await connect();
    await c.next('session.created');
    c.send({
      type: 'session.update',
      event_id: 'evt_profile_1',
      session: {
        type: 'realtime',
        instructions: 'Answer in one short sentence.',
        audio: {
          input: {
            turn_detection: null,
            transcription: { model: 'gpt-4o-mini-transcribe', language: 'en' },
            noise_reduction: { type: 'far_field' },
          },
          output: { voice: 'marin', speed: 1.2 },
        },
      },
    });
    const updated = await c.next('session.updated');
    const s = updated.session as Record<string, any>;
    expect(updated.event_id).not.toBe('evt_profile_1');
    expect(s.instructions).toBe('Answer in one short sentence.');
    expect(s.audio.input.turn_detection).toBeNull();
    expect(s.audio.input.transcription).toEqual({ model: 'gpt-4o-mini-transcribe', language: 'en' });
    expect(s.audio.input.noise_reduction).toEqual({ type: 'far_field' });
    expect(s.audio.output).toEqual({ format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin', speed: 1.2 });
    // Untouched fields keep the server's values, and the session keeps its id.
    expect(s.output_modalities).toEqual(['audio']);
    expect(s.id).toBe((c.ofType('session.created')[0]!.session as any).id);
  });

  it('fills a turn_detection of a new type with that type’s defaults, and merges one of the same type', async () => {
    const c = await connect();
    c.send({
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 700 } } } },
    });
    const first = ((await c.next('session.updated')).session as any).audio.input.turn_detection;
    expect(first).toMatchObject({
      type: 'server_vad',
      threshold: 0.5,
      prefix_padding_ms: 300,
      silence_duration_ms: 700,
      create_response: true,
    });
    c.send({
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { turn_detection: { type: 'semantic_vad', eagerness: 'low' } } } },
    });
    const second = ((await c.after('session.updated')).session as any).audio.input.turn_detection;
    expect(second).toEqual({ type: 'semantic_vad', eagerness: 'low', create_response: true, interrupt_response: true });
  });

  it.each([
    [
      'a beta-era field',
      { type: 'realtime', modalities: ['audio'] },
      "Unknown parameter: 'session.modalities'.",
      'session.modalities',
      'unknown_parameter',
    ],
    [
      'a beta-era format',
      { type: 'realtime', input_audio_format: 'pcm16' },
      "Unknown parameter: 'session.input_audio_format'.",
      'session.input_audio_format',
      'unknown_parameter',
    ],
    [
      'a misspelt nested field',
      { type: 'realtime', audio: { output: { vioce: 'marin' } } },
      "Unknown parameter: 'session.audio.output.vioce'.",
      'session.audio.output.vioce',
      'unknown_parameter',
    ],
    [
      'a missing session.type',
      { instructions: 'hi' },
      "Missing required parameter: 'session.type'.",
      'session.type',
      'missing_required_parameter',
    ],
    [
      'a wrong sample rate',
      { type: 'realtime', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } },
      "Invalid value: '16000'. Supported values are: '24000'.",
      'session.audio.input.format.rate',
      'invalid_value',
    ],
    [
      'a speed out of range',
      { type: 'realtime', audio: { output: { speed: 3 } } },
      "Invalid 'session.audio.output.speed': number must be between 0.25 and 1.5.",
      'session.audio.output.speed',
      'decimal_out_of_range',
    ],
    [
      'a wrong type',
      { type: 'realtime', instructions: 42 },
      "Invalid type for 'session.instructions': expected a string, but got an integer instead.",
      'session.instructions',
      'invalid_type',
    ],
  ])('refuses %s with the real error shape, naming the event and the parameter', async (_what, session, message, param, code) => {
    const c = await connect();
    await c.next('session.created');
    c.send({ type: 'session.update', event_id: 'evt_bad', session });
    const err = await c.next('error');
    expect(err.error).toEqual({ type: 'invalid_request_error', code, message, param, event_id: 'evt_bad' });
    // Nothing of the refused update was applied.
    expect(c.ofType('session.updated')).toHaveLength(0);
  });

  it('refuses a voice change once the assistant has answered with audio, and keeps the old voice', async () => {
    const c = await connect();
    c.send(PTT_UPDATE);
    await c.next('session.updated');
    c.send({ type: 'session.update', event_id: 'evt_voice_early', session: { type: 'realtime', audio: { output: { voice: 'cedar' } } } });
    expect(((await c.after('session.updated')).session as any).audio.output.voice).toBe('cedar');
    c.send({ type: 'response.create' });
    await c.next('response.done');
    c.send({ type: 'session.update', event_id: 'evt_voice', session: { type: 'realtime', audio: { output: { voice: 'marin' } } } });
    const err = await c.next('error');
    expect(err.error).toMatchObject({
      code: 'cannot_update_voice',
      message: "Cannot update a conversation's voice if assistant audio is present.",
      event_id: 'evt_voice',
    });
    // The same voice again is not a change, so it is accepted.
    c.send({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'cedar' } }, instructions: 'x' } });
    expect(((await c.after('session.updated')).session as any).instructions).toBe('x');
  });
});

describe('frames recorded', () => {
  it('keeps only the newest frames when bounded, so a long run does not grow without end', async () => {
    const bounded = new RealtimeSimulator({ maxRecordedFrames: 3 });
    await bounded.start();
    try {
      const c = await TestClient.connect(bounded.url);
      for (let i = 0; i < 5; i++) c.send({ type: 'input_audio_buffer.clear', event_id: `evt_${i}` });
      await bounded.waitForFrame((f) => f.event.event_id === 'evt_4');
      expect(bounded.frames.map((f) => f.event.event_id)).toEqual(['evt_2', 'evt_3', 'evt_4']);
      expect(bounded.sent).toHaveLength(3);
      c.close();
    } finally {
      await bounded.stop();
    }
  });

  it('keeps every client frame in order with its connection, type and raw text', async () => {
    const c = await connect();
    c.send(PTT_UPDATE);
    c.send(append(pcm(50)));
    c.ws.send('not json');
    await sim.waitForFrame((f) => f.raw === 'not json');
    expect(sim.frames.map((f) => f.type)).toEqual(['session.update', 'input_audio_buffer.append', '']);
    expect(sim.framesOf('session.update', 0)[0]!.event).toEqual(PTT_UPDATE);
    expect(sim.framesOf('session.update', 1)).toEqual([]);
    const err = await c.next('error');
    expect(err.error).toMatchObject({ code: 'invalid_json' });
    await expect(sim.waitForFrame((f) => f.type === 'response.create', 50)).rejects.toThrow(/no matching client frame within 50 ms/);
  });
});
