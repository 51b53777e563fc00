import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BUILTIN_VOICES, loadConfig, profileToSession, validateRaw, type Config } from '../../src/config/index.js';
import { validateClientEvent } from '../support/realtime-schema.js';
import { FIXTURES, valid } from './helpers.js';

function configOf(session: Record<string, unknown>, realtime: Record<string, unknown> = {}): Config {
  const r = validateRaw({ session, realtime }, {});
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

const asUpdate = (config: Config) => ({ type: 'session.update', session: profileToSession(config) });

describe('profile -> GA session, checked against the published schema (unknown properties refused)', () => {
  const turnDetections = [
    'manual',
    { type: 'server_vad' },
    {
      type: 'server_vad',
      threshold: 0.9,
      prefixPaddingMs: 0,
      silenceDurationMs: 1200,
      idleTimeoutMs: 5000,
      createResponse: false,
      interruptResponse: false,
    },
    ...(['low', 'medium', 'high', 'auto'] as const).map((eagerness) => ({ type: 'semantic_vad', eagerness })),
  ];
  const voices = ['marin', 'alloy', { id: 'voice_1234' }];
  const transcriptions = ['off', { model: 'whisper-1' }, { model: 'gpt-4o-transcribe', language: 'en', prompt: 'names of herbs' }];
  const noise = ['near_field', 'far_field', 'off'];
  const tools = [
    [],
    [{ type: 'function', name: 'get_time' }],
    [
      {
        type: 'function',
        name: 'set_timer',
        description: 'Start a timer',
        parameters: { type: 'object', properties: { minutes: { type: 'number' } }, required: ['minutes'] },
      },
      { type: 'function', name: 'lights-off', description: 'Lights off', parameters: { type: 'object', properties: {} } },
    ],
  ];
  const modalities = [['audio'], ['text']];
  const maxTokens = [1, 4096, 'inf'];

  it('every combination of turn detection, voice, transcription, noise reduction, tools, modalities and token limit validates', () => {
    let count = 0;
    const failures: string[] = [];
    for (const turnDetection of turnDetections)
      for (const voice of voices)
        for (const transcription of transcriptions)
          for (const noiseReduction of noise)
            for (const t of tools)
              for (const outputModalities of modalities)
                for (const maxOutputTokens of maxTokens) {
                  const profile = {
                    turnDetection,
                    voice,
                    transcription,
                    noiseReduction,
                    tools: t,
                    outputModalities,
                    maxOutputTokens,
                    speed: count % 2 ? 0.25 : 1.5,
                  };
                  const errors = validateClientEvent(asUpdate(configOf(profile)));
                  if (errors.length) failures.push(`${JSON.stringify(profile)}: ${errors.join('; ')}`);
                  count++;
                }
    expect(failures).toEqual([]);
    expect(count).toBe(7 * 3 * 3 * 3 * 3 * 2 * 3);
  });

  it('every built-in voice validates', () => {
    for (const voice of BUILTIN_VOICES) expect(validateClientEvent(asUpdate(configOf({ voice })))).toEqual([]);
  });

  it('the schema check is strict: a beta-era field in the session would be refused', () => {
    const update = asUpdate(valid(''));
    expect(validateClientEvent({ ...update, session: { ...update.session, modalities: ['audio'] } }).join()).toMatch(/unevaluated/);
  });
});

describe('what the mapping produces', () => {
  it('manual turn detection is turn_detection: null (push to talk)', () => {
    expect(profileToSession(valid('')).audio?.input?.turn_detection).toBeNull();
  });

  it('transcription and noise reduction off are left out (GA defaults are off; the schema refuses null)', () => {
    const input = profileToSession(valid('session: {transcription: off, noiseReduction: off}')).audio?.input;
    expect(input).not.toHaveProperty('transcription');
    expect(input).not.toHaveProperty('noise_reduction');
    expect(input?.format).toEqual({ type: 'audio/pcm', rate: 24000 });
  });

  it('the hands-free profile maps to exactly this GA session', async () => {
    const r = await loadConfig(join(FIXTURES, 'hands-free.yaml'), {});
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(profileToSession(r.config)).toEqual({
      type: 'realtime',
      model: 'gpt-realtime-mini',
      output_modalities: ['audio'],
      instructions: 'You are the kitchen timer. Keep answers under ten words.\n',
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24000 },
          transcription: { model: 'gpt-4o-transcribe', language: 'de', prompt: 'Küche' },
          noise_reduction: { type: 'near_field' },
          turn_detection: {
            type: 'server_vad',
            threshold: 0.7,
            prefix_padding_ms: 200,
            silence_duration_ms: 700,
            idle_timeout_ms: 6000,
            create_response: true,
            interrupt_response: false,
          },
        },
        output: { format: { type: 'audio/pcm', rate: 24000 }, voice: { id: 'voice_kitchen_01' }, speed: 1.25 },
      },
      max_output_tokens: 512,
      tools: [
        {
          type: 'function',
          name: 'set_timer',
          description: 'Start a kitchen timer',
          parameters: { type: 'object', properties: { minutes: { type: 'number' } }, required: ['minutes'] },
        },
      ],
    });
  });

  it('semantic_vad carries eagerness and none of the server_vad fields', () => {
    const td = profileToSession(valid('session: {turnDetection: {type: semantic_vad, eagerness: high}}')).audio?.input?.turn_detection;
    expect(td).toEqual({ type: 'semantic_vad', eagerness: 'high', create_response: true, interrupt_response: true });
  });

  it('the session is a fresh object: changing it does not change the config', () => {
    const config = valid('session: {tools: [{type: function, name: f, parameters: {type: object, properties: {}}}]}');
    const session = profileToSession(config);
    (session.tools![0] as { parameters: Record<string, unknown> }).parameters.extra = 1;
    expect(profileToSession(config).tools![0]).not.toHaveProperty('parameters.extra');
  });
});
