/**
 * The composition root with its real parts in this process: the RealtimeSession against the
 * simulator on 127.0.0.1, a WAV file as the microphone and another as the speaker (the file
 * backends of the audio module), the virtual button on a real control socket, and the real
 * config watcher on a real file. Only systemd is replaced, by a notifier that records calls.
 */
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { encodeWav } from '../../src/audio/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { Component } from '../../src/core/component.js';
import { PttError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import { Daemon, type Notifier, type PartsFactory } from '../../src/daemon/daemon.js';
import { createParts } from '../../src/daemon/parts.js';
import { synthesizeSpeech } from '../../src/demo/speech.js';
import { sendControlCommand } from '../../src/gpio/index.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';

const KEY = 'sk-daemon-test-0123456789abcdef';

let dir: string;
let sim: RealtimeSimulator;
let daemon: Daemon | undefined;
const paths = () => ({
  config: join(dir, 'config.yaml'),
  socket: join(dir, 'control.sock'),
  mic: join(dir, 'mic.wav'),
  out: join(dir, 'out.wav'),
  key: join(dir, 'key'),
});

function body(
  over: { session?: object; realtime?: object; audio?: { input?: object }; gpio?: object; log?: object; conversation?: object } = {},
): Record<string, unknown> {
  const p = paths();
  return {
    realtime: { url: sim.url, apiKeyFile: p.key, reconnect: { minMs: 50, maxMs: 200 }, ...over.realtime },
    session: { instructions: 'first instructions', ...over.session },
    audio: { input: { device: `file:${p.mic}`, preRollMs: 100, ...over.audio?.input }, output: { device: `wav:${p.out}`, bufferMs: 40 } },
    gpio: { backend: 'virtual', ...over.gpio },
    control: { socket: p.socket },
    log: { level: 'debug', transcriptFile: join(dir, 'state', 'transcripts.jsonl'), ...over.log },
    conversation: { earcons: false, ...over.conversation },
  };
}

function save(b: Record<string, unknown> | string): void {
  writeFileSync(`${paths().config}.tmp`, typeof b === 'string' ? b : stringify(b));
  renameSync(`${paths().config}.tmp`, paths().config);
}

async function load(): Promise<Config> {
  const r = await loadConfig(paths().config, {});
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

function recordingNotifier(): Notifier & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    ready: (s) => void calls.push(`ready ${s ?? ''}`.trim()),
    status: (s) => void calls.push(`status ${s}`),
    reloading: () => void calls.push('reloading'),
    stopping: () => void calls.push('stopping'),
    startWatchdog: () => void calls.push('watchdog'),
    stop: () => void calls.push('stop'),
  };
}

async function boot(parts?: (real: PartsFactory) => PartsFactory) {
  const logger = memoryLogger();
  const notifier = recordingNotifier();
  const real = createParts({ logger, env: {} });
  const d = new Daemon({ configPath: paths().config, config: await load(), logger, notifier, parts: parts ? parts(real) : real, env: {} });
  daemon = d;
  return { d, logger, notifier };
}

/** Starts and waits for READY (listening first: against the local simulator it comes fast). */
async function startReady(d: Daemon): Promise<void> {
  const ready = d.next('ready', 5_000);
  await d.start();
  await ready;
}

const control = (line: string) => sendControlCommand(paths().socket, line);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-daemon-'));
  writeFileSync(paths().key, KEY, { mode: 0o600 });
  writeFileSync(paths().mic, encodeWav(synthesizeSpeech(20_000)));
  sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: 300 });
  await sim.start();
  save(body());
});

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await sim.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Daemon', () => {
  it('tells systemd READY once the first session is verified, answers a turn, and stops everything in reverse', async () => {
    const { d, notifier, logger } = await boot();
    await startReady(d);
    expect(notifier.calls.indexOf('ready idle')).toBeGreaterThanOrEqual(0);
    expect(notifier.calls).toContain('watchdog');
    expect(sim.sentOf('session.updated')).toHaveLength(1);
    expect(await control('status')).toBe('idle');

    const turn = d.next('turn', 10_000);
    await control('tap 400');
    const [record] = await turn;
    expect(record).toMatchObject({ outcome: 'complete', receivedMs: 300, playedMs: 300 });

    await d.stop();
    expect(notifier.calls.slice(-2)).toEqual(['stopping', 'stop']);
    expect(existsSync(paths().socket), 'the control socket is removed').toBe(false);
    expect(sim.connections[0]!.closedWith).toMatchObject({ by: 'client', code: 1000 });
    const stopped = logger.records().map((r) => r.msg);
    expect(stopped.at(-1)).toBe('daemon stopped');
  });

  it('applies each kind of config change the way it needs: live, on the session, by reconnecting, by restarting a part', async () => {
    const { d, logger } = await boot();
    await startReady(d);

    save(body({ log: { level: 'info' } }));
    expect((await d.next('reloaded', 5_000))[0]).toMatchObject({ keys: ['log.level'], applied: ['live'], ok: true });
    expect(sim.connections).toHaveLength(1);

    logger.setLevel('debug');
    save(body({ session: { instructions: 'second instructions' }, log: { level: 'debug' } }));
    expect((await d.next('reloaded', 5_000))[0]).toMatchObject({ applied: ['live', 'apply-profile'], ok: true });
    const update = sim.framesOf('session.update', 0).at(-1)!;
    expect(update.event.session).toMatchObject({ instructions: 'second instructions' });
    expect(sim.connections, 'the same connection carried it').toHaveLength(1);

    save(body({ session: { instructions: 'second instructions' }, realtime: { model: 'gpt-realtime-mini' } }));
    expect((await d.next('reloaded', 5_000))[0]).toMatchObject({ applied: ['rebuild-session'] });
    await sim.waitForFrame((f) => f.connection === 1 && f.type === 'session.update');
    expect(sim.connections[1]!.query.model).toBe('gpt-realtime-mini');
    expect(sim.connections[0]!.closedWith?.by).toBe('client');

    save(
      body({
        session: { instructions: 'second instructions' },
        realtime: { model: 'gpt-realtime-mini' },
        audio: { input: { preRollMs: 200 } },
      }),
    );
    expect((await d.next('reloaded', 5_000))[0]).toMatchObject({ applied: ['restart-audio'] });
    save(
      body({
        session: { instructions: 'second instructions' },
        realtime: { model: 'gpt-realtime-mini' },
        audio: { input: { preRollMs: 200 } },
        gpio: { longPressMs: 2_000 },
      }),
    );
    expect((await d.next('reloaded', 5_000))[0]).toMatchObject({ applied: ['restart-gpio'] });
    expect(logger.records().filter((r) => r.msg === 'audio restarted' || r.msg === 'gpio restarted')).toHaveLength(2);

    // Everything restarted still works together.
    await sim.waitForFrame((f) => f.connection === 1 && f.type === 'session.update');
    const turn = d.next('turn', 10_000);
    await control('tap 400');
    expect((await turn)[0]).toMatchObject({ outcome: 'complete' });
    expect(d.config.gpio.longPressMs).toBe(2_000);
  });

  it('conversation.minHoldMs decides, live, which presses are taps; session timing changes live too', async () => {
    const { d } = await boot();
    await startReady(d);
    let turn = d.next('turn', 10_000);
    await control('tap 150');
    expect((await turn)[0]).toMatchObject({ outcome: 'tap' });
    expect(sim.framesOf('response.create')).toHaveLength(0);

    save(body({ conversation: { minHoldMs: 120 } }));
    expect((await d.next('reloaded', 5_000))[0]).toMatchObject({ keys: ['conversation.minHoldMs'], applied: ['live'] });
    turn = d.next('turn', 10_000);
    await control('tap 150');
    expect((await turn)[0]).toMatchObject({ outcome: 'complete' });
    expect(sim.connections, 'no reconnect for a live key').toHaveLength(1);

    // Session timeouts and the reconnect range are handed to the running session, no new connection.
    save(
      body({ conversation: { minHoldMs: 120 }, realtime: { timeouts: { sessionUpdateMs: 3_000 }, reconnect: { minMs: 100, maxMs: 400 } } }),
    );
    expect((await d.next('reloaded', 5_000))[0]).toMatchObject({ applied: ['live'], ok: true });
    expect(sim.connections).toHaveLength(1);
  });

  it('on-demand: READY with no connection; a press connects, verifies before any audio, answers, and the idle session closes', async () => {
    save(body({ realtime: { connection: 'on-demand', timeouts: { idleCloseMs: 1_000 } } }));
    const { d, notifier } = await boot();
    await startReady(d);
    expect(notifier.calls).toContain('ready ready (on-demand: connects at the first press)');
    expect(sim.connections).toHaveLength(0);

    const turn = d.next('turn', 10_000);
    await control('tap 400');
    expect((await turn)[0]).toMatchObject({ outcome: 'complete' });
    expect(sim.connections).toHaveLength(1);
    const order = sim.frames.filter((f) => f.connection === 0).map((f) => f.type);
    expect(order[0]).toBe('session.update');
    expect(order.indexOf('input_audio_buffer.append')).toBeGreaterThan(0);
    await vi.waitFor(() => expect(sim.connections[0]!.closedWith).toMatchObject({ by: 'client', code: 1000 }), { timeout: 5_000 });
  });

  it('client-secret bootstrap: mints with the profile, sends no session.update, and answers a turn', async () => {
    save(body({ realtime: { bootstrap: 'client-secret' } }));
    const { d } = await boot();
    await startReady(d);
    const turn = d.next('turn', 10_000);
    await control('tap 400');
    expect((await turn)[0]).toMatchObject({ outcome: 'complete' });
    expect(sim.framesOf('session.update')).toHaveLength(0);
    expect(sim.connections[0]).toMatchObject({ clientSecret: true, authMatched: true });
    expect(sim.connections[0]!.query.model, 'the secret names the model, not the URL').toBeUndefined();
  });

  it('rebuilds the session when transcription is switched off (GA cannot do that in place)', async () => {
    const { d } = await boot();
    await startReady(d);
    save(body({ session: { transcription: { enabled: false } } }));
    expect((await d.next('reloaded', 5_000))[0]).toMatchObject({ keys: ['session.transcription.enabled'], applied: ['rebuild-session'] });
    const update = await sim.waitForFrame((f) => f.connection === 1 && f.type === 'session.update');
    expect((update.event.session as { audio: { input: Record<string, unknown> } }).audio.input.transcription ?? null).toBeNull();
  });

  it('hands-free: streams the microphone once verified, answers what the server VAD heard, and keeps the mic shut while it speaks', async () => {
    save(body({ session: { turnDetection: { type: 'server_vad', silenceDurationMs: 200 } } }));
    const { d } = await boot();
    await startReady(d);
    const [record] = await d.next('turn', 10_000);
    expect(record).toMatchObject({ mode: 'hands-free', outcome: 'complete', receivedMs: 300 });
    const created = sim.sentOf('response.created')[0]!;
    const done = sim.sentOf('response.done')[0]!;
    // While the answer played (after it was sent, until it had played out) nothing was appended.
    const playedUntil = done.at + 300;
    const during = sim.framesOf('input_audio_buffer.append').filter((f) => f.at > created.at + 50 && f.at < playedUntil);
    expect(during).toHaveLength(0);
    // Then the microphone streams again.
    await sim.waitForFrame((f) => f.type === 'input_audio_buffer.append' && f.at > playedUntil + 100, 3_000);
  });

  it('keeps the config in force when an edit is invalid, and reloads on request (SIGHUP)', async () => {
    const { d, notifier } = await boot();
    await startReady(d);
    const updates = sim.framesOf('session.update').length;
    save(body({ session: { voice: 'nobody', instructions: 'not applied' } }));
    const [problems] = await d.next('invalidConfig', 5_000);
    expect(problems.map((p) => p.key)).toContain('session.voice');
    expect(d.config.session.instructions).toBe('first instructions');
    expect(sim.framesOf('session.update')).toHaveLength(updates);

    // The file is fixed; SIGHUP (reload) picks it up and systemd hears RELOADING then READY.
    await d.stop(); // the watcher would see it first; a daemon without one shows reload() alone
    daemon = undefined;
    save(body());
    const logger = memoryLogger();
    const n2 = recordingNotifier();
    const d2 = new Daemon({
      configPath: paths().config,
      config: await load(),
      logger,
      notifier: n2,
      parts: createParts({ logger, env: {} }),
      env: {},
      watch: false,
    });
    daemon = d2;
    await startReady(d2);
    save(body({ session: { instructions: 'after sighup' } }));
    const reloaded = d2.next('reloaded', 5_000);
    await d2.reload();
    expect((await reloaded)[0]).toMatchObject({ applied: ['apply-profile'] });
    expect(n2.calls.filter((c) => c === 'reloading').length).toBeGreaterThan(0);
    expect(n2.calls.at(-1)).toMatch(/^ready/);
    expect(notifier.calls).toContain('stop');
  });

  it('a part that fails to start stops what had started and says why', async () => {
    save(body({ audio: { input: { device: `file:${join(dir, 'no-such.wav')}` } } }));
    const { d, logger } = await boot();
    const err = await d.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PttError);
    expect((err as PttError).message).toMatch(/no-such\.wav/);
    expect(existsSync(paths().socket)).toBe(false);
    expect(sim.connections).toHaveLength(0);
    expect(logger.records().at(-1)!.msg).toBe('daemon stopped');
  });

  it('one part failing to stop does not keep the others running', async () => {
    const stubborn: Component = { name: 'stubborn', start: async () => {}, stop: async () => Promise.reject(new Error('device busy')) };
    const { d, logger } = await boot((real) => ({
      ...real,
      gpio: (config, status) => {
        const g = real.gpio(config, status);
        return { ...g, components: [stubborn, ...g.components] };
      },
    }));
    await startReady(d);
    await d.stop();
    expect(logger.records().find((r) => r.msg === 'stubborn did not stop cleanly')).toMatchObject({ error: { message: 'device busy' } });
    expect(existsSync(paths().socket)).toBe(false);
    expect(sim.connections[0]!.closedWith).toMatchObject({ by: 'client' });
  });
});
