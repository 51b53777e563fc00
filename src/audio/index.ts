/**
 * Public API of the audio module: microphone, speaker, PCM helpers, earcons, ALSA discovery.
 *
 * Wiring (daemon):
 *   mic     = new GatedMic(new ArecordCapture({ device: input.device, periodMs: input.periodMs, logger }),
 *                          { preRollMs: input.preRollMs, logger })            // or AlsaCapture, a FileSource
 *   speaker = new AplayPlayer({ device: output.device, leadMs: output.bufferMs, periodMs: output.periodMs,
 *                              volume: output.volume, logger })               // or a WavSink
 *   start the source and the speaker; press -> session.appendAudio(mic.open()) then mic 'audio';
 *   release -> mic.close() gives { ms, rmsDbfs, peakDbfs, silent } for the turn log.
 *   A response: speaker.beginStream() on its start, write() each delta, endStream() when done
 *   (so `drained` comes at once instead of after drainGraceMs); barge-in: interrupt() returns
 *   the played ms for conversation.item.truncate. Earcons: speaker.write(earcon('press')).
 *
 * ArecordCapture (the default) reads an arecord child in batches while the gate is closed, so the
 * idle daemon does not wake up per period; GatedMic switches it to per-period reads while open.
 *
 * Threadpool: each open AlsaCapture holds one libuv threadpool thread for its whole life. The pool
 * size is fixed before an ESM entry point runs any code, so the daemon cannot raise it itself:
 * run it with UV_THREADPOOL_SIZE=8 in its environment (systemd unit). AlsaCapture warns when
 * fewer than RESERVED_THREADS would be left for file I/O.
 */
export type { AudioSource, AudioSourceEvents } from './source.js';
export {
  AlsaCapture,
  type AlsaCaptureOptions,
  type CaptureAddon,
  type CaptureAddonFactory,
  type CaptureAddonOptions,
} from './alsa-capture.js';
export { ArecordCapture, arecordError, type ArecordCaptureOptions } from './arecord-capture.js';
export { FileSource, loadPcm, type FileSourceOptions, type FileSourceEvents } from './file-source.js';
export { GatedMic, type GatedMicOptions, type GatedMicEvents, type TurnStats } from './gated-mic.js';
export type { AudioSink, AudioSinkEvents, SinkStats } from './sink.js';
export type { PacedSinkOptions } from './paced-sink.js';
export { AplayPlayer, type AplayPlayerOptions } from './aplay-player.js';
export { WavSink, type WavSinkOptions } from './wav-sink.js';
export { earcon, followUpEarcon, profileEarcon, EARCON_NAMES, type EarconName } from './earcon.js';
export {
  devicesFor,
  listAlsaDevices,
  probeDevice,
  parseDeviceNames,
  parseHardwareCards,
  suggestDevices,
  type AlsaDevices,
  type ProbeResult,
} from './alsa-devices.js';
export { audioChildEnv } from './child-env.js';
export { captureThreadsHeld, captureThreadAvailable, threadpoolSize, RESERVED_THREADS } from './threadpool.js';
export * from './pcm.js';
