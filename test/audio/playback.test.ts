/**
 * Playback through a real aplay child into the sandbox's `file` device: the file is the "DAC".
 * The file plugin writes a period out once aplay's ALSA buffer is full, so the file lags what
 * the player handed over by exactly the ALSA buffer; its `null` slave drains at once, so no
 * backlog builds in the pipe (a real DAC adds the lead: the default max(lead, buffer)).
 * The tests therefore tell the player deviceDelayMs = alsaBufferMs. What a listener has heard at
 * a given moment is checked on the sandbox's DAC device instead, which plays in real time.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { PttError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import { AplayPlayer, type AplayPlayerOptions } from '../../src/audio/index.js';
import { expectJitteredSteps } from '../support/backoff.js';
import { createAlsaSandbox, testPcm, trimSilence, type AlsaSandbox } from '../support/alsa.js';

const PERIOD_MS = 20;

describe('AplayPlayer on a real ALSA file device', () => {
  let alsa: AlsaSandbox;
  let player: AplayPlayer | undefined;
  beforeEach(async () => {
    alsa = await createAlsaSandbox();
    alsa.useInProcess();
  });
  afterEach(async () => {
    await player?.stop();
    player = undefined;
    await alsa.cleanup();
  });

  const make = (extra: Partial<AplayPlayerOptions> = {}) =>
    (player = new AplayPlayer({
      device: alsa.playbackDevice,
      leadMs: 100,
      periodMs: PERIOD_MS,
      alsaBufferMs: 60,
      deviceDelayMs: 60,
      drainGraceMs: 300,
      ...extra,
    }));

  it('plays exactly the PCM it is fed, delta after delta, then reports drained', async () => {
    const p = make();
    await p.start();
    const pcm = testPcm(500);
    // Deltas of awkward sizes, as the server sends them.
    for (const [a, b] of [
      [0, 4802],
      [4802, 9000],
      [9000, 24000],
    ] as const)
      p.write(pcm.subarray(a, b));
    p.endStream();
    await p.next('drained', 3000);
    expect(p.playedMs()).toBe(0); // idle again: the next write starts a new stream
    await p.stop();
    const out = trimSilence(alsa.readOutput());
    expect(out.subarray(0, pcm.length)).toEqual(pcm);
    // Then the silent tail begins with a 3 ms ramp from the last sample to zero instead of a click.
    const tail = out.subarray(pcm.length);
    expect(tail.length).toBeLessThanOrEqual(72 * 2);
    const last = Math.abs(pcm.readInt16LE(pcm.length - 2));
    for (let i = 0; i < tail.length; i += 2) expect(Math.abs(tail.readInt16LE(i))).toBeLessThanOrEqual(last);
    expect(p.stats.underruns).toBe(0);
  });

  it('without a silent tail, still drains: the device plays out what it holds while fed nothing', async () => {
    const p = make({ idleTailMs: 0 });
    await p.start();
    const pcm = testPcm(200);
    p.write(pcm);
    p.endStream();
    await p.next('drained', 3000);
    await p.stop();
    expect(trimSilence(alsa.readOutput()).subarray(0, pcm.length)).toEqual(pcm);
  });

  it('goes quiet between answers: after a silent tail it hands the open aplay nothing, then plays the next answer whole', async () => {
    const p = make();
    await p.start();
    const first = testPcm(200, 1);
    p.write(first);
    p.endStream();
    await p.next('drained', 3000);
    await sleep(300); // the silent tail (device delay + 2 periods) is over
    const quietFrom = alsa.readOutput().length;
    const pid = p.pid;
    await sleep(500);
    expect(alsa.readOutput().length).toBe(quietFrom); // nothing written while idle
    expect(p.stats.deliveredBytes).toBe(quietFrom + 60 * 48); // the ALSA buffer's worth is still in aplay
    expect(p.pid).toBe(pid); // the device stays open
    // The first answer ended on zeros (its tail pushed it out), and the next one plays at once and whole.
    expect(
      alsa
        .readOutput()
        .subarray(-960)
        .every((b) => b === 0),
    ).toBe(true);
    const second = testPcm(300, 2);
    const before = Date.now();
    p.write(second);
    p.endStream();
    await p.next('drained', 3000);
    expect(Date.now() - before).toBeLessThan(300 + 60 + 200);
    await p.stop();
    const out = trimSilence(alsa.readOutput());
    expect(out.subarray(0, first.length)).toEqual(first);
    const at = out.indexOf(second.subarray(0, 96), first.length);
    expect(at).toBeGreaterThan(first.length);
    expect(out.subarray(at, at + second.length)).toEqual(second);
  });

  it('on a device that plays in real time, knows how much has played (within 20 ms) and stops at once on interrupt', async () => {
    const dac = await createAlsaSandbox({ dac: true });
    dac.useInProcess();
    onTestFinished(() => dac.cleanup());
    // The defaults a daemon runs with: lead 120 ms, ALSA buffer 60 ms, handed over every 400 ms.
    const p = (player = new AplayPlayer({ device: dac.playbackDevice, leadMs: 120, periodMs: PERIOD_MS }));
    await p.start();
    const pcm = testPcm(2000);
    p.write(pcm);
    const heardMs = () => audioSamples(dac.readOutput()) / 24;
    // When a position will be heard (the first-sample-at-the-DAC timing sleeps on it): asked
    // once the audio is handed over (the clock's first wake-up), heard then.
    await sleep(10);
    const until = p.untilPlayedMs(300);
    expect(until).toBeGreaterThan(150);
    await sleep(until!);
    expect(Math.abs(heardMs() - 300)).toBeLessThanOrEqual(20);
    const errors: number[] = [];
    for (let i = 0; i < 8; i++) {
      await sleep(70 + ((i * 13) % 40));
      errors.push(Math.abs(p.playedMs() - heardMs()));
    }
    const heardAtInterrupt = heardMs();
    const atInterrupt = p.interrupt();
    expect(Math.max(...errors)).toBeLessThanOrEqual(20);
    expect(Math.abs(atInterrupt - heardAtInterrupt)).toBeLessThanOrEqual(20);
    expect(atInterrupt).toBeGreaterThan(500);
    expect(p.playedMs()).toBe(0);
    // What was heard is the start of the answer: the audio handed ahead of the listener went with the killed aplay
    // (bar what already sat in the DAC's own 85 ms buffer).
    await sleep(300);
    const out = trimSilence(dac.readOutput());
    expect(out).toEqual(pcm.subarray(0, out.length));
    expect(out.length / 48 - atInterrupt).toBeLessThanOrEqual(85 + 20 + 20);
    await p.stop();
  });

  it('restarts aplay killed mid-answer, reports it, and keeps playing', async () => {
    const p = make({ respawnMinMs: 20 });
    await p.start();
    const errors: PttError[] = [];
    p.on('error', (e) => errors.push(e));
    const pcm = testPcm(800);
    p.write(pcm);
    p.endStream();
    await sleep(200);
    const pid = p.pid!;
    process.kill(pid, 'SIGKILL');
    const [info] = await p.next('respawned', 3000);
    expect(info.attempt).toBe(1);
    expect(p.pid).not.toBe(pid);
    expect(errors.map((e) => e.code)).toEqual(['AUDIO_PLAYBACK_DIED']);
    await p.next('drained', 3000);
    await p.stop();
    // The answer continued after the restart: its last period reached the device.
    expect(alsa.readOutput().includes(pcm.subarray(pcm.length - 960))).toBe(true);
    expect(p.stats.respawns).toBe(1);
  });

  it('keeps retrying with growing delays while aplay cannot start, reporting the outage once', async () => {
    const broken = join(alsa.dir, 'broken');
    const wrapper = join(alsa.dir, 'flaky-aplay');
    // Fails like a vanished device while the `broken` file exists.
    writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ -e ${broken} ]; then echo "aplay: main:831: audio open error: No such device" >&2; exit 1; fi\nexec aplay "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const logger = memoryLogger();
    const p = make({ aplayPath: wrapper, respawnMinMs: 20, respawnMaxMs: 80, logger, listPlaybackDevices: async () => [] });
    await p.start();
    const errors: PttError[] = [];
    p.on('error', (e) => errors.push(e));
    writeFileSync(broken, '');
    process.kill(p.pid!, 'SIGKILL');
    await waitUntil(() => logger.records().filter((r) => r.msg === 'aplay is down; restarting').length >= 4);
    rmSync(broken);
    const [info] = await p.next('respawned', 3000);
    expect(info.attempt).toBeGreaterThanOrEqual(4);
    const delays = logger
      .records()
      .filter((r) => r.msg === 'aplay is down; restarting')
      .map((r) => r.inMs);
    expectJitteredSteps(delays, [20, 40, 80, 80]);
    expect(errors.map((e) => e.code)).toEqual(['AUDIO_PLAYBACK_DIED']); // one report per outage
    p.write(testPcm(100));
    p.endStream();
    await p.next('drained', 3000);
  });

  it('stop() while aplay is still opening the device ends that aplay too (nothing outlives the player)', async () => {
    // A file device whose output is a FIFO nobody reads: aplay blocks inside snd_pcm_open().
    const fifo = join(alsa.dir, 'blocked.fifo');
    execFileSync('mkfifo', [fifo]);
    const config = join(alsa.dir, 'blocked.asoundrc');
    writeFileSync(config, `pcm.ptt_blocked { type file; slave.pcm "null"; file "${fifo}"; format "raw" }\n`);
    const env = { ...process.env, ALSA_CONFIG_PATH: `${alsa.env.ALSA_CONFIG_PATH}:${config}` };
    const p = make({ device: 'ptt_blocked', env, openTimeoutMs: 30_000 });
    const starting = p.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await waitUntil(() => aplayChildren().length === 1);
    await sleep(200); // it has had time to open, and is stuck
    expect(p.pid).toBeUndefined();
    await p.stop();
    expect(aplayChildren()).toEqual([]);
    expect(await starting).toMatchObject({ code: 'AUDIO_PLAYBACK_STOPPED', message: expect.stringContaining('ptt_blocked') });
  });

  it('fails to open a missing device with an error listing the playback devices', async () => {
    const p = make({ device: alsa.missingDevice });
    const err = (await p.start().then(
      () => undefined,
      (e: unknown) => e,
    )) as PttError;
    expect(err).toBeInstanceOf(PttError);
    expect(err.code).toBe('AUDIO_PLAYBACK_OPEN');
    expect(err.message).toContain(alsa.missingDevice);
    expect(err.hint).toContain(alsa.playbackDevice);
    player = undefined;
  });

  it('names the alsa-utils package when aplay is missing', async () => {
    const p = make({ aplayPath: join(alsa.dir, 'no-aplay-here') });
    await expect(p.start()).rejects.toMatchObject({ code: 'AUDIO_TOOL_MISSING', hint: expect.stringContaining('alsa-utils') });
    player = undefined;
  });

  it('gives aplay a minimal environment without the API key', async () => {
    const wrapper = join(alsa.dir, 'aplay-wrapper');
    writeFileSync(wrapper, `#!/bin/sh\nenv > ${join(alsa.dir, 'child-env.txt')}\nexec aplay "$@"\n`);
    chmodSync(wrapper, 0o755);
    const secret = 'sk-test-0123456789abcdefghij';
    const p = make({ aplayPath: wrapper, env: { ...process.env, OPENAI_API_KEY: secret, OTHER_TOKEN: 'x' } });
    await p.start();
    const env = readFileSync(join(alsa.dir, 'child-env.txt'), 'utf8');
    expect(env).not.toContain(secret);
    expect(env).not.toContain('OTHER_TOKEN');
    expect(env).toContain(`ALSA_CONFIG_PATH=${alsa.env.ALSA_CONFIG_PATH}`);
    expect(p.argv.join(' ')).not.toContain(secret);
  });
});

/** Live aplay processes started by this test process. */
function aplayChildren(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (stat.includes('(aplay)') && Number(ppid) === process.pid && state !== 'Z') out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Non-zero samples: testPcm() has none, the player's silence is all zeros. */
function audioSamples(pcm: Buffer): number {
  let n = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) if (pcm.readInt16LE(i) !== 0) n++;
  return n;
}
