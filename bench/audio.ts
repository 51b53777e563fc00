/**
 * Audio figures on real libasound (the test sandbox's `file` devices, no sound card needed):
 *   npx tsx bench/audio.ts            (npm run bench:audio)
 * - stop latency: interrupt() to the last audio the device plays (the DAC's own 85 ms buffer plays out)
 * - playedMs error: playedMs() against what a real-time DAC (the sandbox's dac.py) has played, sampled during playback
 * - capture frame jitter: AlsaCapture frame intervals from a FIFO-backed device fed at real time
 * - CPU per minute of capture + playback (daemon process plus its aplay child)
 * - file I/O latency while the capture holds its threadpool thread
 * - idle capture (gate closed) CPU per minute: AlsaCapture, ArecordCapture (this process plus its
 *   arecord) and bare `arecord > /dev/null` as the floor; ArecordCapture's frame interval while live
 * Set BENCH_SECONDS to change the length of the capture/playback run (default 10).
 */
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { AlsaCapture, AplayPlayer, ArecordCapture, captureThreadsHeld, GatedMic, threadpoolSize } from '../src/audio/index.js';
import { createAlsaSandbox, testPcm } from '../test/support/alsa.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const pct = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `n=${s.length} mean=${mean.toFixed(2)} p50=${pct(50).toFixed(2)} p99=${pct(99).toFixed(2)} max=${s[s.length - 1]!.toFixed(2)}`;
}

/** Non-zero samples: testPcm() has none that are zero, the player's silence is all zero. */
function audioSamples(pcm: Buffer): number {
  let n = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) if (pcm.readInt16LE(i) !== 0) n++;
  return n;
}

function childCpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime+stime in clock ticks (100 Hz)
  } catch {
    return 0;
  }
}

/** The microphone, in its own process so its CPU is not counted as the daemon's. */
function startFeeder(fifo: string): ReturnType<typeof spawn> {
  const script = `
    const fs = require('fs'); const fd = fs.openSync(${JSON.stringify(fifo)}, fs.constants.O_RDWR);
    const period = Buffer.alloc(960); for (let i = 0; i < 480; i++) period.writeInt16LE(Math.round(3000*Math.sin(i/5)), i*2);
    const t0 = performance.now(); let n = 0;
    const tick = () => { const due = Math.floor((performance.now() - t0) / 20) + 1; while (n < due) { fs.writeSync(fd, period); n++; }
      setTimeout(tick, Math.max(1, t0 + n * 20 - performance.now())); };
    tick();`;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const alsa = await createAlsaSandbox({ periodMs: 20 });
  alsa.useInProcess();
  const out: string[] = [];
  const print = (line: string) => {
    out.push(line);
    console.log(line);
  };
  print(`audio bench: ${SECONDS}s runs, UV_THREADPOOL_SIZE=${threadpoolSize()}, node ${process.version}`);

  // ---- playback: playedMs error and stop latency ----
  // On the sandbox's DAC (test/support/dac.py), which plays in real time like a sound card, with
  // the player's defaults (lead 120 ms, ALSA buffer 60 ms, a hand-over every 200 ms).
  const dac = await createAlsaSandbox({ dac: true });
  dac.useInProcess();
  const player = new AplayPlayer({ device: dac.playbackDevice, leadMs: 120, periodMs: 20 });
  await player.start();
  const errors: number[] = [];
  const stopLatencies: number[] = [];
  const readyAgain: number[] = [];
  for (let round = 0; round < 5; round++) {
    // Counted before the write: from a quiet speaker write() hands audio over at once, and aplay
    // (on the other core) may have passed some to the device before the next line runs.
    const before = audioSamples(dac.readOutput());
    player.write(testPcm(1500, round + 1));
    for (let i = 0; i < 20; i++) {
      await sleep(25 + ((i * 7) % 13));
      const heard = (audioSamples(dac.readOutput()) - before) / 24; // 24 samples per ms
      if (heard > 0) errors.push(Math.abs(player.playedMs() - heard));
    }
    // stop latency: from interrupt() until the output stops growing with audio
    const oldPid = player.pid;
    const t0 = performance.now();
    player.interrupt();
    void (async () => {
      // interrupt() kills aplay; the next answer can start once the fresh one is open.
      while (player.pid === undefined || player.pid === oldPid) await sleep(1);
      readyAgain.push(performance.now() - t0);
    })();
    let lastAudioAt = t0;
    let lastLen = audioSamples(dac.readOutput());
    while (performance.now() - t0 < 200) {
      await sleep(1);
      const len = audioSamples(dac.readOutput());
      if (len !== lastLen) lastAudioAt = performance.now();
      lastLen = len;
    }
    stopLatencies.push(lastAudioAt - t0);
    await sleep(100);
  }
  print(`playedMs error vs bytes at the device (ms): ${stats(errors)}`);
  print(`stop latency, interrupt() to last audio byte out (ms): ${stats(stopLatencies)}`);
  print(`speaker ready again after interrupt (fresh aplay open, ms): ${stats(readyAgain)}`);
  await player.stop();
  await dac.cleanup();
  alsa.useInProcess();

  // ---- capture jitter, CPU, and file I/O beside the capture ----
  const feeder = startFeeder(alsa.micFifo);
  await sleep(100);
  const fsBaseline: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await Promise.all([readFile('/etc/hostname'), stat('/etc')]);
    fsBaseline.push(performance.now() - t);
  }
  const cap = new AlsaCapture({ device: alsa.captureDevice, periodMs: 20 });
  const intervals: number[] = [];
  let last = 0;
  cap.on('frame', () => {
    const now = performance.now();
    if (last) intervals.push(now - last);
    last = now;
  });
  const speaker = new AplayPlayer({ device: alsa.playbackDevice, leadMs: 120, periodMs: 20, alsaBufferMs: 60 });
  await cap.start();
  await speaker.start();
  await sleep(500);
  intervals.length = 0;
  const cpu0 = process.cpuUsage();
  const aplay0 = childCpuMs(speaker.pid);
  const wall0 = performance.now();
  const fsBusy: number[] = [];
  const answer = testPcm(1000, 7);
  for (let s = 0; s < SECONDS; s++) {
    speaker.write(answer); // a second of answer per second: continuous playback
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await Promise.all([readFile('/etc/hostname'), stat('/etc')]);
      fsBusy.push(performance.now() - t);
      await sleep(190);
    }
  }
  const wallMin = (performance.now() - wall0) / 60_000;
  const cpu = process.cpuUsage(cpu0);
  const aplayMs = childCpuMs(speaker.pid) - aplay0;
  print(`capture frame interval (ms, period 20): ${stats(intervals)}`);
  print(`capture frame jitter |interval-20| (ms): ${stats(intervals.map((v) => Math.abs(v - 20)))}`);
  print(
    `CPU per minute of capture+playback: daemon ${((cpu.user + cpu.system) / 1000 / wallMin / 1000).toFixed(2)} s, aplay ${(aplayMs / wallMin / 1000).toFixed(2)} s (of 60 s on one core; aplay measured in 10 ms ticks)`,
  );
  print(`file I/O latency (readFile+stat, ms): idle ${stats(fsBaseline)}`);
  print(
    `file I/O latency (readFile+stat, ms): with capture holding ${captureThreadsHeld()} of ${threadpoolSize()} threadpool threads ${stats(fsBusy)}`,
  );
  await speaker.stop();
  await cap.stop();

  // ---- idle capture: nobody talking, the gate closed ----
  const idleCpu = async (source: AlsaCapture | ArecordCapture | undefined): Promise<number> => {
    let floor: ReturnType<typeof spawn> | undefined;
    if (source) {
      const mic = new GatedMic(source, { preRollMs: 300 });
      await source.start();
      mic.on('audio', () => {});
    } else {
      floor = spawn(
        'arecord',
        ['-q', '-D', alsa.captureDevice, '-t', 'raw', '-f', 'S16_LE', '-r', '24000', '-c', '1', '--period-time=20000'],
        {
          env: { ...process.env, ...alsa.env },
          stdio: ['ignore', 'ignore', 'ignore'],
        },
      );
    }
    await sleep(500);
    const pid = source instanceof ArecordCapture ? source.pid : floor?.pid;
    const c0 = source ? process.cpuUsage() : undefined;
    const child0 = childCpuMs(pid);
    const w0 = performance.now();
    await sleep(SECONDS * 1000);
    const min = (performance.now() - w0) / 60_000;
    const own = c0 ? process.cpuUsage(c0) : { user: 0, system: 0 };
    const ms = (own.user + own.system) / 1000 + childCpuMs(pid) - child0;
    await source?.stop();
    floor?.kill();
    return ms / 1000 / min;
  };
  const addonIdle = await idleCpu(new AlsaCapture({ device: alsa.captureDevice, periodMs: 20 }));
  const arecordIdle = await idleCpu(new ArecordCapture({ device: alsa.captureDevice, periodMs: 20, env: { ...process.env, ...alsa.env } }));
  const floorIdle = await idleCpu(undefined);
  print(
    `idle capture CPU per minute (gate closed, 10 ms ticks for children): AlsaCapture ${addonIdle.toFixed(2)} s, ArecordCapture ${arecordIdle.toFixed(2)} s (with its arecord), bare arecord ${floorIdle.toFixed(2)} s`,
  );

  // ---- ArecordCapture while live (gate open): per-period delivery ----
  const live = new ArecordCapture({ device: alsa.captureDevice, periodMs: 20, env: { ...process.env, ...alsa.env } });
  const liveIntervals: number[] = [];
  let liveLast = 0;
  live.on('frame', () => {
    const now = performance.now();
    if (liveLast) liveIntervals.push(now - liveLast);
    liveLast = now;
  });
  await live.start();
  live.setLive(true);
  await sleep(300);
  liveIntervals.length = 0;
  await sleep(Math.min(SECONDS, 5) * 1000);
  await live.stop();
  print(`ArecordCapture live batch interval (ms, period 20, one batch per liveBatchMs = 100): ${stats(liveIntervals)}`);
  feeder.kill();
  await alsa.cleanup();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
