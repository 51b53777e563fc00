/**
 * The microphone and speaker the config names. ALSA device names go to arecord (or alsa-capture,
 * audio.input.backend) and aplay;
 * two prefixes choose the simulation backends (the demo, machines without a sound card):
 *
 *   audio.input.device:  file:/path/speech.wav  -> FileSource (paced at real time, then silence)
 *   audio.output.device: wav:/path/replies.wav  -> WavSink (paced like aplay)
 */
import type { Logger } from '../core/logger.js';
import type { Config } from '../config/index.js';
import {
  AlsaCapture,
  ArecordCapture,
  AplayPlayer,
  FileSource,
  GatedMic,
  WavSink,
  earcon,
  type AudioSink,
  type AudioSource,
  type EarconName,
} from '../audio/index.js';
import type { AudioParts } from './daemon-types.js';

export const FILE_INPUT_PREFIX = 'file:';
export const WAV_OUTPUT_PREFIX = 'wav:';

export function buildAudio(config: Config, deps: { logger: Logger; env: Readonly<Record<string, string | undefined>> }): AudioParts {
  const { input, output } = config.audio;
  const logger = deps.logger.child('audio');
  const source: AudioSource = input.device.startsWith(FILE_INPUT_PREFIX)
    ? new FileSource({ file: input.device.slice(FILE_INPUT_PREFIX.length), periodMs: input.periodMs, atEnd: 'silence' })
    : input.backend === 'addon'
      ? new AlsaCapture({ device: input.device, periodMs: input.periodMs, logger })
      : new ArecordCapture({ device: input.device, periodMs: input.periodMs, liveBatchMs: input.batchMs, logger, env: { ...deps.env } });
  const paced = {
    leadMs: output.bufferMs,
    periodMs: output.periodMs,
    volume: output.volume,
    // The answer's end is signalled (endStream); a gap this long mid-answer means it is over.
    drainGraceMs: 3_000,
    logger,
  };
  const speaker: AudioSink = output.device.startsWith(WAV_OUTPUT_PREFIX)
    ? new WavSink({ path: output.device.slice(WAV_OUTPUT_PREFIX.length), ...paced })
    : new AplayPlayer({ device: output.device, env: { ...deps.env }, ...paced });
  const mic = new GatedMic(source, { preRollMs: input.preRollMs, logger });
  return {
    // The speaker is ready before the microphone opens: a turn may start as soon as capture runs.
    components: [speaker, source],
    mic,
    speaker,
    setVolume: (volume) => speaker.setVolume(volume),
  };
}

export function earconPcm(name: EarconName): Buffer {
  return earcon(name);
}
