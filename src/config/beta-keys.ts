/**
 * Keys people copy from the retired beta API and old tutorials. Each gets a message that
 * names its GA spelling and where it lives in this file, or says GA has no such setting.
 */
const BETA_HINTS: Readonly<Record<string, string>> = {
  modalities:
    'is the beta spelling; GA calls it output_modalities and allows one of [audio] or [text]. Here write session.outputModalities',
  input_audio_format:
    'is a beta key; GA nests formats as audio.input.format {type: audio/pcm, rate: 24000} and realtime-ptt always uses that format, so remove it',
  output_audio_format:
    'is a beta key; GA nests formats as audio.output.format {type: audio/pcm, rate: 24000} and realtime-ptt always uses that format, so remove it',
  temperature: 'is a beta setting; the GA Realtime API has no temperature, so remove it',
  input_audio_transcription:
    'is the beta spelling; GA nests it as audio.input.transcription. Here write session.transcription (enabled, model, language, prompt)',
  input_audio_noise_reduction: 'is the beta spelling; GA nests it as audio.input.noise_reduction. Here write session.noiseReduction',
  turn_detection:
    'is the beta/top-level spelling; GA nests it as audio.input.turn_detection. Here write session.turnDetection (type: manual, server_vad or semantic_vad)',
  max_response_output_tokens: 'is the beta spelling; GA calls it max_output_tokens. Here write session.maxOutputTokens',
  max_output_tokens: 'is the GA wire name; this file uses camelCase: write session.maxOutputTokens',
  output_modalities: 'is the GA wire name; this file uses camelCase: write session.outputModalities',
  input_audio_transcription_model: 'is not a GA key; write session.transcription.model',
};

const NOT_EXPOSED = 'is a GA session setting that realtime-ptt does not expose; remove it';

/** GA wire layout written into our session section, where our spelling differs. */
const PATH_HINTS: Readonly<Record<string, string>> = {
  'session.audio':
    "is GA's nested layout; this file keeps the profile flat: session.voice, session.speed, session.turnDetection, session.transcription, session.noiseReduction (the format is always PCM16 24 kHz). Audio devices are in the top-level audio section",
  'session.type': 'is always realtime in what realtime-ptt sends; remove it',
  'session.model': 'is a connection setting here: write realtime.model',
  'session.tool_choice': `${NOT_EXPOSED} (the model chooses among session.tools itself)`,
  'session.toolChoice': `${NOT_EXPOSED} (the model chooses among session.tools itself)`,
  'session.prompt': `${NOT_EXPOSED}; the system prompt is session.instructions`,
  'session.include': NOT_EXPOSED,
  'session.tracing': NOT_EXPOSED,
  'session.truncation': NOT_EXPOSED,
  'session.reasoning': NOT_EXPOSED,
  'session.parallel_tool_calls': NOT_EXPOSED,
};

/** apiKey, api_key, openai_api_key, OPENAI_API_KEY, ...: a key pasted into the file. */
export const looksLikeApiKeyName = (key: string): boolean => /api[_-]?key$/i.test(key);

const API_KEY_HINT =
  'cannot be stored in the config file; put the key in the systemd credential openai-api-key, in the file named by realtime.apiKeyFile, or in OPENAI_API_KEY';

/** The hint for an unknown `key` at dotted `path`, if it is a known beta, GA-wire or tutorial spelling. */
export function betaHint(key: string, path: string = key): string | undefined {
  if (looksLikeApiKeyName(key)) return API_KEY_HINT;
  if (Object.hasOwn(PATH_HINTS, path)) return PATH_HINTS[path];
  return Object.hasOwn(BETA_HINTS, key) ? BETA_HINTS[key] : undefined;
}

export function snakeToCamel(key: string): string {
  return key.replace(/[_-]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
