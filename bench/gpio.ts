/**
 * GPIO benchmark: what an idle button costs and how fast a press becomes an event.
 *
 *   npx tsx bench/gpio.ts [--seconds N] [--presses N]
 *
 * 1. CPU time per minute of an idle button: our rpio sampling backend (every sampleMs)
 *    against rpio's own poll (a 1 ms interval), both in rpio mock mode, and the gpiomon
 *    backend (kernel edge events, what `auto` picks wherever /dev/gpiochip* and gpiomon
 *    exist), plus the idle process as a baseline.
 * 2. Press-to-event latency in each backend's harness: rpio mock (rpio.write -> event),
 *    gpiomon (the fake gpiomon prints an edge -> event), virtual (a `press` line on the
 *    control socket -> event). "edge" is the backend's raw level report, "press" the
 *    debounced button event (debounce included).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { memoryLogger } from '../src/core/logger.js';
import {
  Button,
  ControlServer,
  DEFAULT_GPIO_OPTIONS,
  GpiomonBackend,
  RpioBackend,
  VirtualBackend,
  monotonicMs,
  sendControlCommand,
  type EdgeBackend,
} from '../src/gpio/index.js';
import { loadRpio } from '../src/gpio/rpio-driver.js';
import { FakeGpiod } from '../test/support/fake-gpiod.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, presses: { type: 'string', default: '40' } } });
const SECONDS = Number(values.seconds);
const PRESSES = Number(values.presses);
const rpio = loadRpio();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cpuPerMinute(label: string, setup: () => Promise<() => Promise<void> | void>): Promise<number> {
  const teardown = await setup();
  await sleep(200); // settle
  const c0 = process.cpuUsage();
  const t0 = monotonicMs();
  await sleep(SECONDS * 1000);
  const used = process.cpuUsage(c0);
  const wall = monotonicMs() - t0;
  await teardown();
  const perMin = ((used.user + used.system) / 1000) * (60_000 / wall);
  console.log(
    `  ${label.padEnd(44)} ${perMin.toFixed(0).padStart(6)} ms CPU per minute (${((perMin / 60_000) * 100).toFixed(2)}% of one core)`,
  );
  return perMin;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(2)} ms, p95 ${q(0.95).toFixed(2)} ms, max ${s.at(-1)!.toFixed(2)} ms (n=${s.length})`;
}

/** Presses `PRESSES` times through `drive`, timing the backend's edge and the button's press. */
async function latency(
  label: string,
  backend: EdgeBackend | undefined,
  drive: (pressed: boolean) => Promise<void> | void,
  virtual = new VirtualBackend(),
  warmUp: () => Promise<unknown> = async () => undefined,
) {
  const opts = DEFAULT_GPIO_OPTIONS;
  const button = new Button(
    { debounceMs: opts.debounceMs, mode: 'hold', longPressMs: 0, doublePressMs: 0, activeLow: true, backendName: label },
    backend,
    virtual,
    memoryLogger('warn'),
  );
  await button.start();
  await warmUp(); // e.g. gpiomon's first spawn: startup is not press latency
  const edge: number[] = [];
  const press: number[] = [];
  for (let i = 0; i < PRESSES; i++) {
    const t0 = monotonicMs();
    const gotEdge = backend
      ? new Promise<void>((r) =>
          backend.on('level', function once() {
            backend.off('level', once);
            edge.push(monotonicMs() - t0);
            r();
          }),
        )
      : Promise.resolve();
    const gotPress = button.next('press', 5000).then(() => void press.push(monotonicMs() - t0));
    await drive(true);
    await Promise.all([gotEdge, gotPress]);
    const gotRelease = button.next('release', 5000);
    await drive(false);
    await gotRelease;
    await sleep(10 + Math.random() * 7); // random phase against the sampling timer
  }
  await button.stop();
  if (edge.length) console.log(`  ${label.padEnd(10)} edge : ${stats(edge)}`);
  const note = backend ? `(debounce ${opts.debounceMs} ms included)` : '(no debounce: a virtual contact cannot bounce)';
  console.log(`  ${label.padEnd(10)} press: ${stats(press)}  ${note}`);
}

async function main(): Promise<void> {
  console.log(`GPIO benchmark (node ${process.version}, ${SECONDS} s per CPU figure, ${PRESSES} presses per backend)\n`);
  console.log('Idle CPU cost of watching one button (rpio mock mode):');
  await sleep(1000); // start-up work (module loading, JIT) is not idle cost
  const base = await cpuPerMinute('baseline: idle process', async () => () => undefined);
  rpio.init({ mock: 'raspi-3', mapping: 'gpio', close_on_exit: false });
  rpio.write(17, 1);
  const sampling = await cpuPerMinute(`RpioBackend sampling every ${DEFAULT_GPIO_OPTIONS.sampleMs} ms`, async () => {
    const b = new RpioBackend({ pin: 17, pull: 'up', sampleMs: DEFAULT_GPIO_OPTIONS.sampleMs, mock: 'raspi-3' });
    await b.start();
    return () => b.stop();
  });
  const poll = await cpuPerMinute('rpio.poll (its 1 ms interval)', async () => {
    rpio.init({ mock: 'raspi-3', mapping: 'gpio', close_on_exit: false });
    rpio.open(17, rpio.INPUT, rpio.PULL_UP);
    rpio.poll(17, () => undefined);
    return () => rpio.poll(17, null);
  });
  // gpiomon: the daemon side only (this process); the real gpiomon sleeps in the kernel until an
  // edge (the fake one here is a node script, so its own CPU says nothing about the real tool).
  const edges = await cpuPerMinute('GpiomonBackend (kernel edge events)', async () => {
    const fake = await FakeGpiod.create('2.1.3');
    const b = new GpiomonBackend({ pin: 17, chip: null, pull: 'up', activeLow: true, logger: memoryLogger('warn'), path: fake.path });
    await b.start();
    return async () => {
      await b.stop();
      await fake.close();
    };
  });
  console.log(
    `  => above baseline: sampling ${(sampling - base).toFixed(0)} ms/min, poll ${(poll - base).toFixed(0)} ms/min (${((poll - base) / Math.max(1, sampling - base)).toFixed(1)}x); gpiomon edges ${edges.toFixed(0)} ms/min in all\n`,
  );

  console.log('Press-to-event latency per backend harness:');
  rpio.init({ mock: 'raspi-3', mapping: 'gpio', close_on_exit: false });
  rpio.write(17, 1);
  await latency('rpio', new RpioBackend({ pin: 17, pull: 'up', sampleMs: DEFAULT_GPIO_OPTIONS.sampleMs, mock: 'raspi-3' }), (p) =>
    rpio.write(17, p ? 0 : 1),
  );

  for (const version of ['1.6.3', '2.1.3']) {
    const fake = await FakeGpiod.create(version);
    const backend = new GpiomonBackend({ pin: 17, chip: null, pull: 'up', activeLow: true, logger: memoryLogger('warn'), path: fake.path });
    await latency(
      `gpiomon ${version[0]}.x`,
      backend,
      (p) => fake.edge(fake.spawns[0]!, p ? 'falling' : 'rising', monotonicMs()),
      undefined,
      () => fake.spawn(0),
    );
    await fake.close();
  }

  const dir = mkdtempSync(join(tmpdir(), 'ptt-bench-'));
  const virtual = new VirtualBackend();
  const server = new ControlServer({ socketPath: join(dir, 'control.sock'), target: virtual, logger: memoryLogger('warn') });
  await server.start();
  await latency('virtual', undefined, async (p) => void (await sendControlCommand(server.socketPath, p ? 'press' : 'release')), virtual);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
