/** The session's pure parts: event parsing and aliases, verification diff, gate, chunker, backoff. */
import { describe, expect, it } from 'vitest';
import {
  AudioGate,
  Backoff,
  Chunker,
  describeMismatches,
  diffSession,
  httpBaseFromWsUrl,
  parseServerFrame,
} from '../../src/realtime/index.js';
import type { GaSessionConfig } from '../../src/realtime/index.js';

describe('parseServerFrame', () => {
  it('maps beta event names to their GA names and says so', () => {
    const beta = parseServerFrame(
      JSON.stringify({
        type: 'response.audio.delta',
        event_id: 'e1',
        response_id: 'r1',
        item_id: 'i1',
        output_index: 0,
        content_index: 0,
        delta: 'AAA=',
      }),
    );
    expect(beta).toMatchObject({
      ok: true,
      aliasOf: 'response.audio.delta',
      event: { type: 'response.output_audio.delta', itemId: 'i1', responseId: 'r1' },
    });
    const t = parseServerFrame(JSON.stringify({ type: 'response.audio_transcript.delta', response_id: 'r', item_id: 'i', delta: 'hi' }));
    expect(t).toMatchObject({ ok: true, event: { type: 'response.output_audio_transcript.delta', delta: 'hi' } });
    const created = parseServerFrame(JSON.stringify({ type: 'conversation.item.created', item: {} }));
    expect(created).toMatchObject({ ok: true, event: { type: 'other', name: 'conversation.item.added' } });
  });

  it('turns malformed frames into problems instead of throwing', () => {
    expect(parseServerFrame('{not json')).toEqual({ ok: false, problem: 'not valid JSON', type: undefined });
    expect(parseServerFrame('[1,2]')).toMatchObject({ ok: false, problem: 'not an object with a string "type"' });
    expect(parseServerFrame(JSON.stringify({ type: 'response.output_audio.delta', item_id: 'i' }))).toMatchObject({
      ok: false,
      type: 'response.output_audio.delta',
      problem: 'field response_id missing or of the wrong type',
    });
    expect(parseServerFrame(JSON.stringify({ type: 'session.created' }))).toMatchObject({ ok: false, problem: 'missing session object' });
  });

  it('passes unknown event types on as other', () => {
    expect(parseServerFrame(JSON.stringify({ type: 'x.future_event', foo: 1 }))).toEqual({
      ok: true,
      event: { type: 'other', name: 'x.future_event' },
      aliasOf: undefined,
    });
  });

  it('reads the error event with the client event id it names', () => {
    const e = parseServerFrame(
      JSON.stringify({
        type: 'error',
        event_id: 's1',
        error: {
          type: 'invalid_request_error',
          code: 'unknown_parameter',
          message: 'Unknown parameter',
          param: 'session.foo',
          event_id: 'ptt_3',
        },
      }),
    );
    expect(e).toMatchObject({
      ok: true,
      event: { type: 'error', error: { eventId: 'ptt_3', param: 'session.foo', code: 'unknown_parameter' } },
    });
  });
});

const profile: GaSessionConfig = {
  type: 'realtime',
  model: 'gpt-realtime',
  instructions: 'Be brief.',
  output_modalities: ['audio'],
  audio: {
    input: {
      format: { type: 'audio/pcm', rate: 24000 },
      turn_detection: null,
      transcription: { model: 'whisper-1' },
      noise_reduction: { type: 'near_field' },
    },
    output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'cedar', speed: 1.1 },
  },
};

describe('diffSession', () => {
  const effective = {
    type: 'realtime',
    object: 'realtime.session',
    id: 'sess_1',
    model: 'gpt-realtime-2025-08-28',
    instructions: 'Be brief.',
    output_modalities: ['audio'],
    tool_choice: 'auto',
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        turn_detection: null,
        transcription: { model: 'whisper-1', language: null },
        noise_reduction: { type: 'near_field' },
      },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'cedar', speed: 1.100000023841858 },
    },
  };

  it('accepts an effective session that applied every asked field (server extras and float32 echo ignored)', () => {
    expect(diffSession(profile, effective)).toEqual([]);
  });

  it("a tool's JSON Schema is verified by property names, types and required; a server's normalisation is not a mismatch", () => {
    const tool = {
      type: 'function' as const,
      name: 'set_timer',
      description: 'Set a timer.',
      parameters: {
        type: 'object',
        properties: { seconds: { type: 'integer', minimum: 1 }, name: { type: 'string', description: 'what for' } },
        required: ['seconds', 'name'],
      },
    };
    const wanted = { tools: [tool] };
    // Reordered keys, bounds and descriptions dropped, additionalProperties added: the same tool.
    const normalised = {
      tools: [
        {
          ...tool,
          parameters: {
            additionalProperties: false,
            required: ['name', 'seconds'],
            properties: { name: { type: 'string' }, seconds: { type: 'integer' } },
            type: 'object',
          },
        },
      ],
    };
    expect(diffSession(wanted, normalised)).toEqual([]);
    const retyped = structuredClone(normalised);
    retyped.tools[0]!.parameters.properties.seconds.type = 'string';
    expect(diffSession(wanted, retyped).map((d) => d.field)).toEqual(['tools']);
    const renamed = { tools: [{ ...normalised.tools[0]!, name: 'set_alarm' }] };
    expect(diffSession(wanted, renamed).map((d) => d.field)).toEqual(['tools']);
  });

  it('names each field that differs with wanted and got', () => {
    const partial = structuredClone(effective);
    partial.audio.input.turn_detection = { type: 'server_vad' } as never;
    partial.audio.output.voice = 'marin';
    const diff = diffSession(profile, partial);
    expect(diff.map((d) => d.field)).toEqual(['audio.input.turn_detection', 'audio.output.voice']);
    expect(describeMismatches(diff)).toBe(
      'audio.input.turn_detection: wanted null, got {"type":"server_vad"}; audio.output.voice: wanted "cedar", got "marin"',
    );
  });

  it('reads an absent field as its GA default, never an absent turn_detection as off; leaves the model to the URL or secret', () => {
    const bare = { ...effective, model: 'my-azure-deployment', audio: { input: effective.audio.input } };
    expect(diffSession(profile, bare)).toEqual([
      { field: 'audio.output.voice', wanted: 'cedar', got: undefined },
      { field: 'audio.output.speed', wanted: 1.1, got: 1 },
    ]);
    const atDefaults: GaSessionConfig = {
      ...profile,
      tools: [],
      max_output_tokens: 'inf',
      audio: { ...profile.audio, output: { ...profile.audio!.output, speed: 1 } },
    };
    const sparse = {
      type: 'realtime',
      instructions: profile.instructions,
      audio: {
        input: { turn_detection: null, transcription: { model: 'whisper-1' }, noise_reduction: { type: 'near_field' } },
        output: { voice: 'cedar' },
      },
    };
    expect(diffSession(atDefaults, sparse)).toEqual([]);
    const noTurnDetection = {
      ...sparse,
      audio: { ...sparse.audio, input: { transcription: { model: 'whisper-1' }, noise_reduction: { type: 'near_field' } } },
    };
    expect(diffSession(atDefaults, noTurnDetection).map((d) => d.field)).toEqual(['audio.input.turn_detection']);
    expect(
      diffSession(profile, { ...effective, audio: { ...effective.audio, output: { ...effective.audio.output, voice: 'alloy' } } }, [
        'audio.output.voice',
      ]),
    ).toEqual([]);
  });
});

describe('AudioGate', () => {
  it('releases audio and commands in the order they came', () => {
    const gate = new AudioGate(1000);
    gate.pushAudio(Buffer.alloc(480, 1));
    gate.pushCommand('commit');
    gate.pushAudio(Buffer.alloc(480, 2));
    expect(gate.queuedMs).toBe(20);
    const items = gate.drain();
    expect(items.map((i) => (i.kind === 'audio' ? `audio:${i.pcm[0]}` : i.name))).toEqual(['audio:1', 'commit', 'audio:2']);
    expect(gate.length).toBe(0);
  });

  it('refuses audio past the bound and keeps what it holds', () => {
    const gate = new AudioGate(100); // 4800 bytes
    expect(gate.pushAudio(Buffer.alloc(4000))).toBe(true);
    expect(gate.pushAudio(Buffer.alloc(960))).toBe(false);
    expect(gate.queuedMs).toBeCloseTo(4000 / 48);
  });

  it('puts an unacknowledged turn (audio and its commands) back in front and reports what did not fit', () => {
    const gate = new AudioGate(100);
    gate.pushAudio(Buffer.alloc(2400, 9));
    const refused = gate.requeueFront([
      { kind: 'audio', pcm: Buffer.alloc(2400, 1) },
      { kind: 'audio', pcm: Buffer.alloc(960, 2) },
      { kind: 'command', name: 'commit' },
    ]);
    expect(refused).toBe(20);
    const [first, second, commit, third] = gate.drain();
    expect(first).toMatchObject({ kind: 'audio' });
    expect(first?.kind === 'audio' && [first.pcm.length, first.pcm[0]]).toEqual([1440, 1]);
    expect(second?.kind === 'audio' && second.pcm[0]).toBe(2);
    expect(commit).toEqual({ kind: 'command', name: 'commit' });
    expect(third?.kind === 'audio' && third.pcm[0]).toBe(9);
  });
});

describe('Chunker', () => {
  it('splits into chunks of at most the chunk size and never splits a sample', () => {
    const c = new Chunker(100);
    expect(c.split(Buffer.alloc(250)).map((b) => b.length)).toEqual([100, 100, 50]);
    expect(c.split(Buffer.from([1, 2, 3]))).toEqual([Buffer.from([1, 2])]);
    expect(c.split(Buffer.from([4]))).toEqual([Buffer.from([3, 4])]);
    expect(c.coalesce([Buffer.alloc(60), Buffer.alloc(60), Buffer.alloc(60)]).map((b) => b.length)).toEqual([100, 80]);
  });
});

describe('Backoff', () => {
  it('doubles up to the maximum with jitter within half a step, and resets', () => {
    const lo = new Backoff({ minMs: 100, maxMs: 1000, random: () => 0 });
    expect([lo.next(), lo.next(), lo.next(), lo.next(), lo.next(), lo.next()]).toEqual([50, 100, 200, 400, 500, 500]);
    const hi = new Backoff({ minMs: 100, maxMs: 1000, random: () => 1 });
    expect([hi.next(), hi.next()]).toEqual([100, 200]);
    hi.reset();
    expect(hi.attempt).toBe(0);
    expect(hi.next()).toBe(100);
  });
});

describe('httpBaseFromWsUrl', () => {
  it('derives the REST base from the WebSocket URL', () => {
    expect(httpBaseFromWsUrl('wss://api.openai.com/v1/realtime?model=gpt-realtime')).toBe('https://api.openai.com/v1');
    expect(httpBaseFromWsUrl('ws://127.0.0.1:4000/v1/realtime')).toBe('http://127.0.0.1:4000/v1');
    expect(httpBaseFromWsUrl('wss://x.openai.azure.com/openai/v1/realtime')).toBe('https://x.openai.azure.com/openai/v1');
  });
});
