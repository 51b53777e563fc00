/** Public API of the audio module: microphone, speaker, PCM helpers, earcons, ALSA discovery. */
export type { AudioSource, AudioSourceEvents } from './source.js';
export { AlsaCapture, type AlsaCaptureOptions, type CaptureAddon, type CaptureAddonFactory, type CaptureAddonOptions } from './alsa-capture.js';
export { FileSource, loadPcm, type FileSourceOptions, type FileSourceEvents } from './file-source.js';
export { GatedMic, type GatedMicOptions, type GatedMicEvents, type TurnStats } from './gated-mic.js';
export type { AudioSink, AudioSinkEvents, SinkStats } from './sink.js';
export type { PacedSinkOptions } from './paced-sink.js';
export { AplayPlayer, type AplayPlayerOptions } from './aplay-player.js';
export { WavSink, type WavSinkOptions } from './wav-sink.js';
export { earcon, EARCON_NAMES, type EarconName } from './earcon.js';
export { listAlsaDevices, probeDevice, parseDeviceNames, parseHardwareCards, suggestDevices, type AlsaDevices, type ProbeResult } from './alsa-devices.js';
export { audioChildEnv } from './child-env.js';
export { captureThreadsHeld, captureThreadAvailable, threadpoolSize, RESERVED_THREADS } from './threadpool.js';
export * from './pcm.js';
