/** Device discovery and probing, through the real arecord/aplay against the sandbox config. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devicesFor, listAlsaDevices, parseDeviceNames, parseHardwareCards, probeDevice, suggestDevices } from '../../src/audio/index.js';
import { createAlsaSandbox, type AlsaSandbox } from '../support/alsa.js';

describe('ALSA device discovery', () => {
  let alsa: AlsaSandbox;
  beforeAll(async () => {
    alsa = await createAlsaSandbox();
    alsa.useInProcess();
    alsa.mic.start();
  });
  afterAll(async () => alsa.cleanup());

  it('parses aplay -L and -l output into configurable names', () => {
    const listing = 'null\n    Discard all samples\ndefault:CARD=Device\n    USB Audio Device, USB Audio\n    Default Audio Device\n';
    expect(parseDeviceNames(listing)).toEqual(['null', 'default:CARD=Device']);
    const cards =
      '**** List of CAPTURE Hardware Devices ****\ncard 1: Device [USB Audio Device], device 0: USB Audio [USB Audio]\n  Subdevices: 1/1\n';
    expect(parseHardwareCards(cards)).toEqual(['plughw:CARD=Device,DEV=0']);
  });

  it('offers for capture only what can record: not the Headphones/HDMI cards arecord -L also prints, not dmix', () => {
    // `arecord -L` and `arecord -l` of a Raspberry Pi 4 with a USB microphone.
    const fixture = (name: string) => readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8');
    const capture = devicesFor('capture', fixture('pi4-arecord-L.txt'), fixture('pi4-arecord-l.txt'));
    expect(capture).toEqual([
      'null',
      'hw:CARD=Device,DEV=0',
      'plughw:CARD=Device,DEV=0',
      'default:CARD=Device',
      'sysdefault:CARD=Device',
      'front:CARD=Device,DEV=0',
      'dsnoop:CARD=Device,DEV=0',
    ]);
    expect(suggestDevices(capture)).toBe('plughw:CARD=Device,DEV=0, default:CARD=Device, sysdefault:CARD=Device');
  });

  it('suggests configurable devices, not every surround/hdmi variant', () => {
    const names = [
      'null',
      'default',
      'sysdefault:CARD=Device',
      'front:CARD=Device,DEV=0',
      'surround51:CARD=Device,DEV=0',
      'hdmi:CARD=vc4hdmi0,DEV=0',
      'plughw:CARD=Device,DEV=0',
    ];
    expect(suggestDevices(names)).toBe('default, sysdefault:CARD=Device, plughw:CARD=Device,DEV=0');
    expect(suggestDevices(['null'])).toMatch(/none found/);
    expect(
      suggestDevices(
        Array.from({ length: 10 }, (_, i) => `d${i}`),
        3,
      ),
    ).toBe('d0, d1, d2, ... (7 more)');
  });

  it('lists the capture and playback devices libasound knows', async () => {
    const devices = await listAlsaDevices();
    expect(devices.capture).toContain(alsa.captureDevice);
    expect(devices.playback).toContain(alsa.playbackDevice);
    expect(devices.capture).not.toContain(alsa.missingDevice);
  });

  it('probes whether a device opens at 24 kHz mono', async () => {
    expect(await probeDevice('playback', alsa.playbackDevice)).toMatchObject({ ok: true });
    expect(await probeDevice('capture', alsa.captureDevice)).toMatchObject({ ok: true });
    const missing = await probeDevice('capture', alsa.missingDevice);
    expect(missing).toMatchObject({
      ok: false,
      error: { code: 'AUDIO_DEVICE_PROBE', message: expect.stringContaining(alsa.missingDevice) },
    });
  });
});
