/**
 * A microphone that appears after the service started (a USB mic that enumerates late at boot):
 * the real daemon (`dist/cli.js run`) starts with a capture device name its asoundrc does not
 * define yet, waits for it in-process (systemd READY with the wait as STATUS, so the unit's start
 * timeout does not kill it; the log and `realtime-ptt status` say which device), and runs a full
 * turn once the device is defined.
 */
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DaemonProcess } from '../../src/demo/daemon-process.js';
import { RealtimeSimulator } from '../../src/simulator/index.js';
import { createAlsaSandbox, SYSTEM_ALSA_CONF, testPcm, type AlsaSandbox } from '../support/alsa.js';

const KEY = 'sk-late-0123456789abcdefghijklmnop';
const LATE = 'ptt_late_mic';

interface DgramServer {
  bind(path: string): void;
  close(): void;
  on(event: 'message', l: (buf: Buffer) => void): void;
}
const unixDgram = createRequire(import.meta.url)('unix-dgram') as { createSocket(t: 'unix_dgram'): DgramServer };

let dir: string;
let alsa: AlsaSandbox;
let sim: RealtimeSimulator;
let notify: DgramServer;
let daemon: DaemonProcess | undefined;
const notes: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-late-'));
  writeFileSync(join(dir, 'key'), `${KEY}\n`);
  chmodSync(join(dir, 'key'), 0o600);
  alsa = await createAlsaSandbox({ periodMs: 20 });
  alsa.mic.start();
  sim = new RealtimeSimulator({ port: 0, apiKey: KEY, replyMs: 300 });
  await sim.start();
  notify = unixDgram.createSocket('unix_dgram');
  notify.on('message', (buf) => notes.push(buf.toString()));
  notify.bind(join(dir, 'notify'));
});

afterAll(async () => {
  await daemon?.stop('SIGKILL');
  notify?.close();
  await sim?.stop();
  await alsa?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a microphone that appears after the daemon started', () => {
  it('waits for it (STATUS, log and status say which), then starts the audio and answers a turn', async () => {
    // The daemon's asoundrc has the speaker but not yet the microphone.
    const asoundrc = join(dir, 'asoundrc');
    const [micLine, playLine] = readFileSync(alsa.configFile, 'utf8').split('\n');
    writeFileSync(asoundrc, `${playLine}\n`);
    const configPath = join(dir, 'config.yaml');
    const socketPath = join(dir, 'control.sock');
    writeFileSync(
      configPath,
      stringify({
        realtime: { url: sim.url, apiKeyFile: join(dir, 'key') },
        audio: { input: { device: LATE, periodMs: 20 }, output: { device: alsa.playbackDevice, periodMs: 20 } },
        gpio: { backend: 'virtual' },
        control: { socket: socketPath },
        log: { level: 'info', format: 'json', transcriptFile: null },
        conversation: { earcons: false },
      }),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ALSA_CONFIG_PATH: `${SYSTEM_ALSA_CONF}:${asoundrc}`,
      NOTIFY_SOCKET: join(dir, 'notify'),
    };
    delete env.OPENAI_API_KEY;
    daemon = new DaemonProcess({ configPath, socketPath, env, entry: 'dist' });

    const waiting = await daemon.waitFor((r) => /^waiting for microphone "ptt_late_mic"/.test(r.msg), 'the wait', 20_000);
    expect(waiting).toMatchObject({ level: 'warn', devices: [{ kind: 'capture', device: LATE }] });
    await daemon.waitForControl(10_000);
    expect(await daemon.control('status')).toBe(`waiting for microphone "${LATE}"`);
    // READY while it waits: systemd's start timeout (90 s in the unit) must not kill the wait.
    expect(notes).toContain(`READY=1\nSTATUS=waiting for microphone "${LATE}"`);
    await sleep(2_500); // a few polls: still waiting, still alive, nothing connected yet
    expect(
      daemon.find((r) => /^waiting for/.test(r.msg)),
      'said once, not per poll',
    ).toHaveLength(1);
    expect(sim.connections).toHaveLength(0);
    expect(await daemon.control('status')).toBe(`waiting for microphone "${LATE}"`);

    // The mic enumerates: its name is defined now.
    appendFileSync(asoundrc, `${micLine!.replace('pcm.ptt_mic', `pcm.${LATE}`)}\n`);
    await daemon.waitFor((r) => r.msg === 'the awaited audio devices are there; starting the audio', 'the device found', 10_000);
    await daemon.waitFor((r) => r.msg === 'daemon started', 'the start', 10_000);
    await sim.waitForFrame((f) => f.type === 'session.update', 10_000);
    await daemon.waitFor((r) => r.msg === 'session verified' || /verified/.test(r.msg), 'the session verified', 10_000);

    const turn = daemon.nextTurn(20_000);
    await daemon.control('press');
    await sleep(100);
    void alsa.mic.feed(testPcm(600));
    await sleep(800);
    await daemon.control('release');
    expect(await turn).toMatchObject({ outcome: 'complete' });
    expect(sim.framesOf('input_audio_buffer.commit')).toHaveLength(1);
    expect(await daemon.control('status')).not.toMatch(/waiting/);
    expect(
      notes.filter((n) => n.startsWith('READY=1')),
      'READY once',
    ).toHaveLength(1);
    const afterReady = notes.slice(notes.findIndex((n) => n.startsWith('READY=1')) + 1);
    expect(
      afterReady.some((n) => /^STATUS=(?!waiting)/.test(n)),
      'STATUS moved on from the wait',
    ).toBe(true);

    const exit = await daemon.stop('SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });
    daemon = undefined;
  });

  it('stops promptly on SIGTERM while it waits', async () => {
    const configPath = join(dir, 'never.yaml');
    const socketPath = join(dir, 'never.sock');
    writeFileSync(
      configPath,
      stringify({
        realtime: { url: sim.url, apiKeyFile: join(dir, 'key') },
        audio: { input: { device: alsa.missingDevice }, output: { device: alsa.playbackDevice } },
        gpio: { backend: 'virtual' },
        control: { socket: socketPath },
        log: { level: 'info', format: 'json', transcriptFile: null },
      }),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, ...alsa.env };
    delete env.OPENAI_API_KEY;
    daemon = new DaemonProcess({ configPath, socketPath, env, entry: 'dist' });
    await daemon.waitFor((r) => /^waiting for microphone/.test(r.msg), 'the wait', 20_000);
    const exit = await daemon.stop('SIGTERM');
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.ms).toBeLessThan(2_000);
    daemon = undefined;
  });
});
