/**
 * Keys people copy from the retired beta API and old tutorials. Each gets a message that
 * names its GA spelling and where it lives in this file, or says GA has no such setting.
 */
const BETA_HINTS: Readonly<Record<string, string>> = {
  modalities: 'is the beta spelling; GA calls it output_modalities and allows one of [audio] or [text]. Here write session.outputModalities',
  input_audio_format: 'is a beta key; GA nests formats as audio.input.format {type: audio/pcm, rate: 24000} and realtime-ptt always uses that format, so remove it',
  output_audio_format: 'is a beta key; GA nests formats as audio.output.format {type: audio/pcm, rate: 24000} and realtime-ptt always uses that format, so remove it',
  temperature: 'is a beta setting; the GA Realtime API has no temperature, so remove it',
  input_audio_transcription: 'is the beta spelling; GA nests it as audio.input.transcription. Here write session.transcription (enabled, model, language, prompt)',
  input_audio_noise_reduction: 'is the beta spelling; GA nests it as audio.input.noise_reduction. Here write session.noiseReduction',
  turn_detection: 'is the beta/top-level spelling; GA nests it as audio.input.turn_detection. Here write session.turnDetection (type: manual, server_vad or semantic_vad)',
  max_response_output_tokens: 'is the beta spelling; GA calls it max_output_tokens. Here write session.maxOutputTokens',
  max_output_tokens: 'is the GA wire name; this file uses camelCase: write session.maxOutputTokens',
  output_modalities: 'is the GA wire name; this file uses camelCase: write session.outputModalities',
  input_audio_transcription_model: 'is not a GA key; write session.transcription.model',
  tool_choice: 'is not a setting of realtime-ptt (the model chooses tools automatically); remove it',
  apiKey: 'cannot be stored in the config file; put the key in the systemd credential openai-api-key, in the file named by realtime.apiKeyFile, or in OPENAI_API_KEY',
  api_key: 'cannot be stored in the config file; put the key in the systemd credential openai-api-key, in the file named by realtime.apiKeyFile, or in OPENAI_API_KEY',
};

export function betaHint(key: string): string | undefined {
  return Object.hasOwn(BETA_HINTS, key) ? BETA_HINTS[key] : undefined;
}

export function snakeToCamel(key: string): string {
  return key.replace(/[_-]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
