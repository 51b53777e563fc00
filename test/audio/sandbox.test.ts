import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlsaSandbox, deviceListed, testPcm, trimSilence, type AlsaSandbox } from '../support/alsa.js';

describe('ALSA sandbox (test/support/alsa.ts)', () => {
  let alsa: AlsaSandbox | undefined;
  afterEach(async () => alsa?.cleanup());

  it('defines its devices for children and plays through aplay into the output segments', async () => {
    alsa = await createAlsaSandbox();
    expect(deviceListed(alsa.captureDevice, alsa.env)).toBe(true);
    expect(deviceListed(alsa.playbackDevice, alsa.env)).toBe(true);
    const pcm = testPcm(100);
    for (let i = 0; i < 2; i++) {
      const r = spawnSync('aplay', ['-q', '-t', 'raw', '-f', 'S16_LE', '-r', '24000', '-c', '1', '-D', alsa.playbackDevice], {
        input: pcm,
        env: { ...process.env, ...alsa.env },
      });
      expect(r.status, String(r.stderr)).toBe(0);
    }
    // Two aplay runs -> two segments, concatenated; aplay pads each with silence to a whole period.
    const out = alsa.readOutput();
    const first = trimSilence(out.subarray(0, out.length / 2));
    const second = trimSilence(out.subarray(out.length / 2));
    expect(first).toEqual(pcm);
    expect(second).toEqual(pcm);
  });
});
