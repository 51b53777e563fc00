/**
 * The device profile -> the GA `session` object, exactly what `session.update` or a
 * client secret carries. One function, checked against OpenAI's published schema in tests.
 */
import type { RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import type { Config } from './schema.js';

/** The only audio format realtime-ptt speaks, both ways. */
export const PCM_24K = { type: 'audio/pcm', rate: 24000 } as const;

export type GaSession = RealtimeSessionCreateRequest;
type TurnDetection = NonNullable<NonNullable<GaSession['audio']>['input']>['turn_detection'];

function turnDetection(td: Config['session']['turnDetection']): TurnDetection {
  switch (td.type) {
    case 'manual':
      // null: the button ends the turn; the daemon commits and asks for the response.
      return null;
    case 'server_vad':
      return {
        type: 'server_vad',
        threshold: td.threshold,
        prefix_padding_ms: td.prefixPaddingMs,
        silence_duration_ms: td.silenceDurationMs,
        ...(td.idleTimeoutMs !== null ? { idle_timeout_ms: td.idleTimeoutMs } : {}),
        create_response: td.createResponse,
        interrupt_response: td.interruptResponse,
      };
    case 'semantic_vad':
      return {
        type: 'semantic_vad',
        eagerness: td.eagerness,
        create_response: td.createResponse,
        interrupt_response: td.interruptResponse,
      };
  }
}

/**
 * Transcription and noise reduction are left out when off: a fresh session has both off,
 * and the published schema does not accept null for them. Turning either off in a running
 * session therefore needs a new session (see `applyWhenCleared` in the schema).
 */
export function profileToSession(config: Config): GaSession {
  const s = config.session;
  const t = s.transcription;
  return {
    type: 'realtime',
    model: config.realtime.model,
    output_modalities: [...s.outputModalities],
    instructions: s.instructions,
    audio: {
      input: {
        format: { ...PCM_24K },
        ...(t.enabled
          ? {
              transcription: {
                model: t.model,
                ...(t.language !== null ? { language: t.language } : {}),
                ...(t.prompt !== null ? { prompt: t.prompt } : {}),
              },
            }
          : {}),
        ...(s.noiseReduction !== 'off' ? { noise_reduction: { type: s.noiseReduction } } : {}),
        turn_detection: turnDetection(s.turnDetection),
      },
      output: {
        format: { ...PCM_24K },
        voice: typeof s.voice === 'string' ? s.voice : { id: s.voice.id },
        speed: s.speed,
      },
    },
    max_output_tokens: s.maxOutputTokens,
    // Always sent, even empty, so a reload that removes every tool clears them on the server.
    tools: s.tools.map((tool) =>
      tool.type === 'mcp'
        ? { ...structuredClone(tool), require_approval: tool.require_approval ?? 'always' }
        : {
            type: 'function' as const,
            name: tool.name,
            ...(tool.description !== undefined ? { description: tool.description } : {}),
            ...(tool.parameters !== undefined ? { parameters: structuredClone(tool.parameters) } : {}),
          },
    ),
  };
}
