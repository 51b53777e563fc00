/**
 * Every frame the simulator sends validates against RealtimeServerEvent in OpenAI's published
 * schema, over a conversation that touches every feature, with and without each fault. The only
 * exceptions are the frames a fault makes invalid on purpose, and they are flagged as such.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RealtimeSimulator, type FaultPlan, type SentFrame } from '../../src/simulator/index.js';
import { validateServerEvent } from '../support/realtime-schema.js';
import { append, pcm, TestClient } from './ws-client.js';

let sim: RealtimeSimulator | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await sim?.stop();
  sim = undefined;
});

/** Drives one connection through every feature; stops at the first step the fault prevents. */
async function converse(c: TestClient): Promise<void> {
  // A fault that ends the socket ends the conversation at once, not after a timeout.
  const unlessClosed = (waiting: Promise<unknown>) =>
    Promise.race([waiting, c.waitClose(600).then(() => Promise.reject(new Error('closed')))]);
  const step = async (send: () => void, type: string) => {
    if (c.closed) throw new Error('closed');
    const waiting = c.after(type, () => true, 500);
    send();
    await unlessClosed(waiting);
  };
  await unlessClosed(c.next('session.created', () => true, 500));
  await step(
    () =>
      c.send({
        type: 'session.update',
        event_id: 'evt_1',
        session: {
          type: 'realtime',
          instructions: 'Short answers.',
          audio: {
            input: { turn_detection: null, transcription: { model: 'whisper-1' }, noise_reduction: { type: 'near_field' } },
            output: { voice: 'marin' },
          },
        },
      }),
    'session.updated',
  );
  await step(() => c.send({ type: 'session.update', event_id: 'evt_bad', session: { type: 'realtime', temperature: 0.7 } }), 'error');
  await step(() => {
    c.send(append(pcm(60)));
    c.send({ type: 'input_audio_buffer.commit', event_id: 'evt_short' });
  }, 'error');
  await step(() => {
    c.send(append(pcm(240)));
    c.send({ type: 'input_audio_buffer.commit' });
  }, 'conversation.item.input_audio_transcription.completed');
  await step(
    () =>
      c.send({
        type: 'conversation.item.create',
        item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'And in text?' }] },
      }),
    'conversation.item.done',
  );
  await step(() => c.send({ type: 'response.create' }), 'response.done');
  const itemId = (c.ofType('response.done').at(-1)!.response as { output: Array<{ id: string }> }).output[0]!.id;
  await step(
    () => c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 100 }),
    'conversation.item.truncated',
  );
  await step(() => c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 99_999 }), 'error');
  await step(() => c.send({ type: 'session.update', session: { type: 'realtime', audio: { output: { voice: 'cedar' } } } }), 'error');
  await step(() => {
    c.send({ type: 'response.create' });
    c.send({ type: 'response.cancel' });
  }, 'response.done');
  await step(() => c.send({ type: 'response.create', response: { output_modalities: ['text'] } }), 'response.done');
  await step(() => {
    c.send(append(pcm(100)));
    c.send({ type: 'input_audio_buffer.clear' });
  }, 'input_audio_buffer.cleared');
  await step(
    () => c.send({ type: 'session.update', session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad' } } } } }),
    'session.updated',
  );
  await step(() => {
    c.send(append(pcm(300, 0.5)));
    c.send(append(pcm(300, 0)));
  }, 'response.done');
  await step(
    () =>
      c.send({
        type: 'session.update',
        session: { type: 'realtime', audio: { input: { turn_detection: { type: 'server_vad', idle_timeout_ms: 5000 } } } },
      }),
    'session.updated',
  );
  await step(() => c.send({ type: 'response.create' }), 'response.done');
  await step(() => c.send(append(pcm(5100, 0))), 'input_audio_buffer.timeout_triggered');
  await step(() => c.send({ type: 'no.such.event' }), 'error');
}

function invalidFrames(frames: SentFrame[]): string[] {
  const problems: string[] = [];
  for (const f of frames) {
    if (f.deliberate) continue;
    const errors = validateServerEvent(JSON.parse(f.raw));
    if (errors.length) problems.push(`${f.type}: ${errors.join('; ')}`);
  }
  return problems;
}

const FAULTS: Array<[string, FaultPlan, Record<string, string>?]> = [
  ['no fault', {}],
  ['sessionUpdate ignore', { sessionUpdate: 'ignore' }],
  ['sessionUpdate error', { sessionUpdate: 'error' }],
  ['sessionUpdate partial', { sessionUpdate: 'partial', partialFields: ['audio.input.turn_detection', 'instructions'] }],
  ['sessionUpdateDelayMs', { sessionUpdateDelayMs: 30 }],
  ['dropAfterEvents', { dropAfterEvents: 12 }],
  ['dropMidResponse', { dropMidResponse: true }],
  ['closeAfterMs', { closeAfterMs: { ms: 40, code: 1001 } }],
  ['malformedJson', { malformedJson: true }],
  ['unknownEvents', { unknownEvents: true }],
  ['betaEventNames', { betaEventNames: true }],
  ['expiresInS', { expiresInS: 0.2 }],
  ['beta header refused', {}, { Authorization: 'Bearer sk-test-key-123456', 'OpenAI-Beta': 'realtime=v1' }],
];

describe('conformance of every server frame', () => {
  it('the validator is not a pass-through: a wrong shape fails', () => {
    expect(validateServerEvent({ type: 'response.done', event_id: 'event_1', response: { status: 'finished' } })).not.toEqual([]);
    expect(validateServerEvent({ type: 'response.output_audio.delta', event_id: 'event_1' })).not.toEqual([]);
  });

  it.each(FAULTS)('%s', async (_name, faults, headers) => {
    sim = new RealtimeSimulator({ replyMs: 250, faults });
    await sim.start();
    client = await TestClient.connect(`${sim.url}?model=gpt-realtime`, headers);
    await converse(client).catch(() => undefined);
    // The beta header is refused before any event; every other run sent something to check.
    if (headers) expect(client.closed?.code).toBe(4000);
    else expect(sim.sent.length).toBeGreaterThan(0);
    expect(invalidFrames(sim.sent)).toEqual([]);
    if (Object.keys(faults).length === 0 && !headers) {
      // The clean run really went everywhere: every server event type the daemon handles appeared.
      expect(new Set(sim.sent.map((f) => f.type))).toEqual(
        new Set([
          'session.created',
          'session.updated',
          'error',
          'input_audio_buffer.committed',
          'conversation.item.added',
          'conversation.item.done',
          'conversation.item.input_audio_transcription.delta',
          'conversation.item.input_audio_transcription.completed',
          'response.created',
          'response.output_item.added',
          'response.content_part.added',
          'response.output_audio.delta',
          'response.output_audio_transcript.delta',
          'response.output_audio.done',
          'response.output_audio_transcript.done',
          'response.content_part.done',
          'response.output_item.done',
          'response.done',
          'rate_limits.updated',
          'conversation.item.truncated',
          'response.output_text.delta',
          'response.output_text.done',
          'input_audio_buffer.cleared',
          'input_audio_buffer.speech_started',
          'input_audio_buffer.speech_stopped',
          'input_audio_buffer.timeout_triggered',
        ]),
      );
    }
  });
});
