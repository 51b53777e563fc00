/**
 * End to end, the press that only stops: the real daemon process (the built `dist/cli.js`)
 * against the simulator streaming its reply at real time, real libasound through ALSA `file`
 * devices (the mic a FIFO fed at real time, digital silence when nothing is fed; the speaker a
 * file) and the virtual button on the control socket. A person asks, the answer plays, they
 * press to stop it and keep holding without a word: the answer stops where it was heard, and
 * nothing new is asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BYTES_PER_MS } from '../../src/core/pcm-format.js';
import type { LogRecord } from '../../src/demo/daemon-process.js';
import { testPcm } from '../support/alsa.js';
import { type DaemonRig, PERIOD_MS, sleep, startDaemonRig, until } from '../support/daemon-rig.js';

const REPLY_MS = 3_000;
let rig: DaemonRig;

beforeAll(async () => {
  // At real time, so the press lands while the server is still streaming the answer.
  rig = await startDaemonRig({ key: 'sk-e2e-silent-stop-0123456789abcdef', simulator: { replyMs: REPLY_MS, pace: 'realtime' } });
}, 30_000);

afterAll(async () => {
  await rig?.stop();
});

describe('realtime-ptt run, a press that stops an answer', () => {
  it('held silent after the cut: the answer stops where it was heard, and nothing new is asked', async (ctx) => {
    const { daemon, sim, alsa, heardOf, lastReply } = rig;
    ctx.onTestFailed(() => void process.stderr.write(`daemon log tail:\n${daemon.tail(40)}\n${daemon.other}`));
    // A question, answered.
    const answered = daemon.nextTurn(20_000);
    await daemon.control('press');
    await alsa.mic.feed(testPcm(600, 1));
    await daemon.control('release');
    await until(() => sim.sentOf('response.created').length === 1, 'the answer');
    await until(() => heardOf(lastReply()) >= 300, '300 ms of the answer at the device');

    // Press to stop it, and hold for 700 ms without a word.
    const mark = sim.frames.length;
    const turnsBefore = daemon.find((r) => r.msg === 'turn').length;
    await daemon.control('press');
    const cut = await answered;
    await sleep(700);
    await daemon.control('release');
    await daemon.waitFor((r) => r.msg === 'turn' && r.outcome !== 'cut', 'the stop turn', 5_000, daemon.records.indexOf(cut));
    const [cutLine, stopLine] = daemon.find((r) => r.msg === 'turn').slice(turnsBefore) as [LogRecord, LogRecord];
    expect(cutLine).toMatchObject({ outcome: 'cut' });
    expect(stopLine).toMatchObject({ outcome: 'cancelled', bargeIn: true });
    expect(String(stopLine.reason)).toMatch(/stopped the answer and nothing was said.*nothing was asked/);

    // The server was mid-answer: the cancel ended it there, and the truncate matches what was heard.
    await until(() => sim.sentOf('response.done').length === 1, 'the cut response to end');
    expect(sim.sentOf('response.done')[0]!.event.response).toMatchObject({ status: 'cancelled' });
    expect(lastReply().length / BYTES_PER_MS, 'the server had not sent the whole answer').toBeLessThan(REPLY_MS);
    await sleep(300);
    const heardMs = heardOf(lastReply());
    const truncate = sim.framesOf('conversation.item.truncate').at(-1)!;
    expect(Math.abs((truncate.event.audio_end_ms as number) - heardMs)).toBeLessThanOrEqual(PERIOD_MS);

    // Nothing was asked: the held audio was cleared, never committed, and no response requested.
    const after = sim.frames.slice(mark).map((f) => f.type);
    expect(after).not.toContain('input_audio_buffer.commit');
    expect(after).not.toContain('response.create');
    expect(after.at(-1)).toBe('input_audio_buffer.clear');
    expect(sim.sentOf('response.created')).toHaveLength(1);
    expect(await daemon.control('status')).toBe('idle');
  });
});
