/**
 * The real parts the suite exercises must be present: a machine without them fails here,
 * by name, instead of skipping tests elsewhere.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

describe('test machine', () => {
  it.each([
    ['aplay', 'alsa-utils'],
    ['arecord', 'alsa-utils'],
    ['gpiomon', 'gpiod'],
    ['systemd-analyze', 'systemd'],
    ['shellcheck', 'shellcheck'],
  ])('has %s (Debian package %s)', (cmd) => {
    expect(which(cmd), `${cmd} is missing`).toBeDefined();
  });

  it('has libasound and its headers (libasound2-dev), and the native addons built against them', () => {
    const header = ['/usr/include/alsa/asoundlib.h'].some((p) => existsSync(p));
    expect(header, 'libasound2-dev is not installed').toBe(true);
    expect(existsSync('node_modules/alsa-capture/build/Release/capture.node'), 'alsa-capture did not build').toBe(true);
    expect(existsSync('node_modules/rpio/build/Release/rpio.node'), 'rpio did not build').toBe(true);
  });
});
