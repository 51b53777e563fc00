/**
 * The conductor's state machine, driven through its ports. The parts here are in-memory
 * stand-ins for our own port interfaces (the real session, audio and button are exercised end to
 * end in test/e2e); time is the subject of some tests, so the clock and timers are fake.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PttError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import { TypedEmitter } from '../../src/core/typed-emitter.js';
import { Conductor, type ConductorOptions, type TranscriptEntry } from '../../src/daemon/conductor.js';
import type {
  ButtonEvents,
  ConductorState,
  EarconName,
  MicEvents,
  SessionEvents,
  SessionState,
  SpeakerEvents,
} from '../../src/daemon/ports.js';
import type { TurnRecord } from '../../src/daemon/turn.js';

const ms = (n: number) => Buffer.alloc(n * 48, 1);

class Mic extends TypedEmitter<MicEvents> {
  opened = 0;
  isOpen = false;
  open(): Buffer {
    this.opened++;
    this.isOpen = true;
    return ms(300); // pre-roll
  }
  close() {
    this.isOpen = false;
    return { rmsDbfs: -30, peakDbfs: -10 };
  }
  /** Quiet input (about -42 dBFS): room noise, not speech. */
  speak(n: number): void {
    this.emit('audio', ms(n));
  }
  sound(pcm: Buffer): void {
    this.emit('audio', pcm);
  }
}

class Speaker extends TypedEmitter<SpeakerEvents> {
  written = 0;
  played = 0;
  interrupts = 0;
  write(pcm: Buffer): void {
    this.written += pcm.length / 48;
  }
  interrupt(): number {
    this.interrupts++;
    const p = this.played;
    this.played = 0;
    this.written = 0;
    return p;
  }
  playedMs(): number {
    return this.played;
  }
  /** Plays everything written and reports the speaker idle. */
  drain(): void {
    this.played = 0;
    this.written = 0;
    this.emit('drained');
  }
}

class Session extends TypedEmitter<SessionEvents> {
  state: SessionState = 'connecting';
  calls: string[] = [];
  appendedMs = 0;
  appendAudio(pcm: Buffer): void {
    this.appendedMs += pcm.length / 48;
    if (this.calls[this.calls.length - 1] !== 'append') this.calls.push('append');
  }
  commit() {
    this.calls.push('commit');
    return { committed: true, audioMs: this.appendedMs };
  }
  createResponse(): void {
    this.calls.push('response');
  }
  cancelResponse(): void {
    this.calls.push('cancel');
  }
  truncate(itemId: string, audioEndMs: number): void {
    this.calls.push(`truncate ${itemId} ${audioEndMs}`);
  }
  clearInput(): void {
    this.appendedMs = 0;
    this.calls.push('clear');
  }
  fire<K extends keyof SessionEvents & string>(event: K, ...args: SessionEvents[K]): void {
    this.emit(event, ...args);
  }
  ready(): void {
    this.state = 'ready';
    this.emit('state', 'ready', 'profile verified');
    this.emit('verified', { sessionId: 'sess_test', bootstrap: 'session-update', attempts: 1, updatesSent: 1, ms: 5 });
  }
  lose(): void {
    this.state = 'waiting';
    this.emit('state', 'waiting', 'connection closed (code 1006)');
  }
}

class Button extends TypedEmitter<ButtonEvents> {
  constructor(private readonly clock: { now: number }) {
    super();
  }
  press(): void {
    this.emit('press', { at: this.clock.now });
  }
  release(): void {
    this.emit('release', { at: this.clock.now });
  }
  longPress(): void {
    this.emit('longPress', { at: this.clock.now });
  }
}

const EARCON_MS: Record<EarconName, number> = { press: 50, release: 100, error: 200, ready: 80, confirm: 60, alarm: 90 };

function setup(options: Partial<ConductorOptions> = {}) {
  const clock = { now: 1_000 };
  const mic = new Mic();
  const speaker = new Speaker();
  const session = new Session();
  const button = new Button(clock);
  const logger = memoryLogger();
  const earcons: EarconName[] = [];
  const conductor = new Conductor(
    { mic, speaker, session, button, logger, now: () => clock.now, earcon: (name) => (earcons.push(name), ms(EARCON_MS[name])) },
    options,
  );
  const states: ConductorState[] = [];
  const turns: TurnRecord[] = [];
  const transcripts: TranscriptEntry[] = [];
  conductor.on('state', (s) => states.push(s));
  conductor.on('turn', (t) => turns.push(t));
  conductor.on('transcript', (t) => transcripts.push(t));
  const advance = (n: number) => {
    clock.now += n;
    vi.advanceTimersByTime(n);
  };
  return { clock, mic, speaker, session, button, logger, conductor, earcons, states, turns, transcripts, advance };
}

/** Plays a reply: response started, `chunks` deltas of `chunkMs` each on item `itemId`. */
function reply(s: ReturnType<typeof setup>, responseId: string, itemId: string, chunks: number, chunkMs = 100): void {
  s.session.fire('responseStarted', { responseId });
  for (let i = 0; i < chunks; i++) s.session.fire('audio', { responseId, itemId, pcm: ms(chunkMs) });
}

/** A started conductor whose session is verified: the usual starting point. */
async function ready(options: Partial<ConductorOptions> = {}): Promise<ReturnType<typeof setup>> {
  const s = setup(options);
  await s.conductor.start();
  s.session.ready();
  return s;
}

/** Press, hold for `heldMs`, release. */
function talk(s: ReturnType<typeof setup>, heldMs: number): void {
  s.button.press();
  s.advance(heldMs);
  s.button.release();
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('conductor, push to talk', () => {
  it('runs a full turn: press streams pre-roll and speech, release commits and asks, the answer plays, then idle', async () => {
    const s = setup();
    await s.conductor.start();
    expect(s.conductor.state).toBe('connecting');
    s.session.ready();
    expect(s.conductor.state).toBe('idle');
    expect(s.earcons).toEqual(['ready']);
    s.speaker.drain();

    s.button.press();
    expect(s.conductor.state).toBe('listening');
    expect(s.session.calls).toEqual(['clear', 'append']);
    expect(s.session.appendedMs).toBe(300); // the pre-roll went out at once
    s.advance(600);
    s.mic.speak(600);
    s.button.release();
    expect(s.session.calls).toEqual(['clear', 'append', 'commit', 'response']);
    expect(s.conductor.state).toBe('thinking');
    expect(s.mic.isOpen).toBe(false);

    s.advance(400);
    s.session.fire('inputCommitted', { itemId: 'item_user' });
    reply(s, 'resp_1', 'item_a', 5);
    expect(s.conductor.state).toBe('speaking');
    s.session.fire('transcript', { role: 'user', itemId: 'item_user', text: 'what time is it', final: true });
    s.session.fire('transcript', { role: 'assistant', itemId: 'item_a', text: 'It is noon.', final: true });
    s.session.fire('responseDone', { responseId: 'resp_1', status: 'completed' });
    expect(s.conductor.state).toBe('speaking'); // still playing
    s.advance(600);
    s.speaker.drain();
    expect(s.conductor.state).toBe('idle');

    expect(s.turns).toHaveLength(1);
    expect(s.turns[0]).toMatchObject({
      turn: 1,
      outcome: 'complete',
      bargeIn: false,
      heldMs: 600,
      pressToFirstAppendMs: 0,
      releaseToCommitMs: 0,
      commitToFirstDeltaMs: 400,
      receivedMs: 500,
      playedMs: 500,
    });
    expect(s.transcripts.map((t) => [t.turn, t.role, t.text])).toEqual([
      [1, 'user', 'what time is it'],
      [1, 'assistant', 'It is noon.'],
    ]);
    expect(s.states).toEqual(['idle', 'listening', 'thinking', 'speaking', 'idle']);
  });

  it('treats a short tap as nothing asked: clears the input, no commit, no response', async () => {
    const s = await ready({ minHoldMs: 200 });
    talk(s, 80);
    expect(s.session.calls).toEqual(['clear', 'append', 'clear']);
    expect(s.turns[0]).toMatchObject({ outcome: 'tap', heldMs: 80 });
    expect(s.turns[0]!.reason).toMatch(/held 80 ms/);
    expect(s.conductor.state).toBe('idle');
  });

  it('holds the turn while the session is not verified and times it from when the audio could go out', async () => {
    const s = setup();
    await s.conductor.start();
    s.button.press();
    expect(s.conductor.state).toBe('listening'); // the person is talking, even though we are not connected
    s.advance(250);
    s.session.ready();
    s.advance(500);
    s.button.release();
    s.advance(300);
    reply(s, 'r', 'i', 1);
    s.session.fire('responseDone', { responseId: 'r', status: 'completed' });
    s.speaker.drain();
    expect(s.turns[0]).toMatchObject({ outcome: 'complete', pressToFirstAppendMs: 250, commitToFirstDeltaMs: 300 });
  });
});

describe('conductor, barge-in', () => {
  async function speaking() {
    const s = await ready();
    s.speaker.drain();
    s.button.press();
    s.advance(500);
    s.speaker.drain(); // the press earcon has played out
    s.button.release(); // release earcon: 100 ms written before the answer
    reply(s, 'resp_1', 'item_a', 10); // 1000 ms of answer
    s.session.fire('transcript', { role: 'assistant', itemId: 'item_a', text: 'Once upon ', final: false });
    s.session.calls = [];
    return s;
  }

  it('stops playback at once, cancels, truncates at what was heard of the item, then listens', async () => {
    const s = await speaking();
    s.speaker.played = 100 + 437; // earcon, then 437 ms of the answer
    s.advance(537);
    s.button.press();
    expect(s.speaker.interrupts).toBe(1);
    expect(s.session.calls.slice(0, 3)).toEqual(['cancel', 'truncate item_a 437', 'clear']);
    expect(s.conductor.state).toBe('listening');
    expect(s.turns[0]).toMatchObject({ outcome: 'cut', playedMs: 437, receivedMs: 1000, truncated: { itemId: 'item_a', audioEndMs: 437 } });
    expect(s.logger.records().find((r) => r.msg === 'answer cut')).toMatchObject({ heardText: 'Once upon ', playedMs: 437 });

    // The cut answer's stragglers are dropped, its done is ignored: the new turn is unaffected.
    const written = s.speaker.written;
    s.session.fire('audio', { responseId: 'resp_1', itemId: 'item_a', pcm: ms(100) });
    s.session.fire('responseDone', { responseId: 'resp_1', status: 'cancelled' });
    expect(s.speaker.written).toBe(written);
    expect(s.conductor.state).toBe('listening');
    s.session.fire('transcript', { role: 'assistant', itemId: 'item_a', text: 'Once upon a time', final: true });
    expect(s.transcripts.at(-1)).toMatchObject({ turn: 1, cut: true, heardMs: 437 });
  });

  it('truncates inside the right item when the answer has several', async () => {
    const s = await speaking();
    s.session.fire('audio', { responseId: 'resp_1', itemId: 'item_b', pcm: ms(500) });
    s.speaker.played = 100 + 1000 + 120;
    s.button.press();
    expect(s.session.calls).toContain('truncate item_b 120');
  });

  it('counts an item across a speaker underrun (the answer arrived slower than it played)', async () => {
    const s = await speaking(); // 1000 ms of item_a written after a 100 ms earcon
    s.speaker.drain(); // all of it played; the speaker went idle waiting for more
    s.session.fire('audio', { responseId: 'resp_1', itemId: 'item_a', pcm: ms(400) });
    s.speaker.played = 150;
    s.button.press();
    expect(s.session.calls).toContain('truncate item_a 1150');
    expect(s.turns[0]).toMatchObject({ outcome: 'cut', playedMs: 1150, receivedMs: 1400 });
  });

  it('a long press after a barge-in cancels: nothing new is asked', async () => {
    const s = await speaking();
    s.speaker.played = 300;
    s.button.press();
    s.advance(1500);
    s.button.longPress();
    expect(s.conductor.state).toBe('idle');
    s.button.release();
    expect(s.session.calls).not.toContain('commit');
    expect(s.turns.map((t) => t.outcome)).toEqual(['cut', 'cancelled']);
  });

  it('a release after a barge-in with only room noise live only stops: no commit, no error tone, whatever the pre-roll held', async () => {
    const s = await speaking();
    s.speaker.played = 300;
    s.button.press();
    s.mic.speak(600); // live room noise at -42 dBFS, under cancelBelowDbfs; the mic's level (pre-roll included) peaks at -10 dBFS
    s.advance(600);
    s.button.release();
    expect(s.session.calls).not.toContain('commit');
    expect(s.session.calls).not.toContain('response');
    expect(s.session.calls.at(-1)).toBe('clear');
    expect(s.turns.map((t) => t.outcome)).toEqual(['cut', 'cancelled']);
    expect(s.turns[1]!.reason).toMatch(/peak -42 dBFS, under conversation.cancelBelowDbfs -35/);
    expect(s.earcons).not.toContain('error');
    expect(s.conductor.state).toBe('idle');
  });

  it('a long press after a barge-in while talking is a question, not a cancel', async () => {
    const s = await speaking();
    s.speaker.played = 300;
    s.button.press();
    const loud = Buffer.alloc(48 * 100);
    for (let i = 0; i < loud.length; i += 2) loud.writeInt16LE(i % 4 === 0 ? 12_000 : -12_000, i);
    s.mic.sound(loud);
    s.advance(1500);
    s.button.longPress();
    expect(s.conductor.state).toBe('listening');
    s.button.release();
    expect(s.session.calls).toContain('commit');
  });

  it('a long press without a barge-in is just someone talking at length', async () => {
    const s = await ready();
    s.button.press();
    s.advance(2000);
    s.button.longPress();
    expect(s.conductor.state).toBe('listening');
    s.button.release();
    expect(s.session.calls).toContain('commit');
  });
});

describe('conductor, losing the connection', () => {
  it('keeps a turn that was still being recorded (the session re-sends it) and answers it after re-verification', async () => {
    const s = await ready();
    s.button.press();
    s.advance(300);
    s.session.lose();
    expect(s.conductor.state).toBe('listening');
    s.advance(300);
    s.button.release();
    expect(s.conductor.state).toBe('thinking');
    s.advance(700);
    s.session.ready();
    s.advance(200);
    reply(s, 'r', 'i', 2);
    s.session.fire('responseDone', { responseId: 'r', status: 'completed' });
    s.speaker.drain();
    expect(s.turns[0]).toMatchObject({ outcome: 'complete', releaseToCommitMs: 700, commitToFirstDeltaMs: 200 });
    expect(s.logger.records().some((r) => String(r.msg).startsWith('connection lost during a turn'))).toBe(true);
  });

  it('keeps a released turn whose commit the server had not acknowledged (the session re-sends it whole)', async () => {
    const s = await ready();
    talk(s, 500);
    s.session.lose();
    expect(s.turns).toHaveLength(0);
    expect(s.earcons).not.toContain('error');
    s.advance(300);
    s.session.ready();
    s.session.fire('inputCommitted', { itemId: 'u1' });
    reply(s, 'r', 'i', 2);
    s.session.fire('responseDone', { responseId: 'r', status: 'completed' });
    s.speaker.drain();
    expect(s.turns[0]).toMatchObject({ outcome: 'complete' });
  });

  it('drops a turn whose commit the lost connection had acknowledged, with the error earcon and the reason', async () => {
    const s = await ready();
    talk(s, 500);
    s.session.fire('inputCommitted', { itemId: 'u1' });
    s.session.lose();
    expect(s.earcons.at(-1)).toBe('error');
    expect(s.turns[0]).toMatchObject({ outcome: 'dropped' });
    expect(s.turns[0]!.reason).toMatch(/connection was lost after the turn was sent.*code 1006/);
    expect(s.conductor.state).toBe('connecting');
  });

  it('drops a turn with no answer after answerTimeoutMs and says why', async () => {
    const s = setup({ answerTimeoutMs: 5_000 });
    await s.conductor.start();
    talk(s, 500);
    s.session.fire('error', new PttError('REALTIME_CONNECT_FAILED', 'could not connect to wss://x: ECONNREFUSED; reconnecting'));
    s.advance(4_999);
    expect(s.turns).toHaveLength(0);
    s.advance(1);
    expect(s.turns[0]!.outcome).toBe('dropped');
    expect(s.turns[0]!.reason).toMatch(/not restored within 5000 ms \(could not connect/);
    expect(s.earcons.at(-1)).toBe('error');
    expect(s.session.calls.slice(-2)).toEqual(['cancel', 'clear']);
  });

  it('plays what arrived of an answer cut by the connection, and logs the turn as cut', async () => {
    const s = await ready();
    talk(s, 500);
    reply(s, 'r', 'i', 3);
    s.session.fire('responseDone', { responseId: 'r', status: 'disconnected' });
    s.session.lose();
    expect(s.conductor.state).toBe('speaking');
    s.speaker.drain();
    expect(s.turns[0]).toMatchObject({ outcome: 'cut', reason: 'connection lost while answering', playedMs: 300 });
  });

  it('shows error (not connecting) when the key is refused', async () => {
    const s = setup();
    await s.conductor.start();
    s.session.fire(
      'error',
      new PttError('REALTIME_BAD_KEY', 'the server refused the API key (HTTP 401 at the WebSocket handshake); retrying slowly'),
    );
    expect(s.conductor.state).toBe('error');
    s.session.ready();
    expect(s.conductor.state).toBe('idle');
  });
});

describe('conductor, hands-free', () => {
  it('streams whenever the session is ready, gates the mic while it speaks, and the button mutes', async () => {
    const s = setup({ turnDetection: 'server_vad' });
    await s.conductor.start();
    expect(s.mic.isOpen).toBe(false);
    s.session.ready();
    expect(s.mic.isOpen).toBe(true);
    expect(s.conductor.state).toBe('listening');
    s.speaker.drain();
    s.session.fire('speechStarted', { itemId: 'u1' });
    s.mic.speak(400);
    s.session.fire('inputCommitted', { itemId: 'u1' });
    expect(s.conductor.state).toBe('thinking');
    reply(s, 'r1', 'a1', 3);
    expect(s.conductor.state).toBe('speaking');
    const before = s.session.appendedMs;
    s.mic.speak(200); // the speaker's own sound must not reach the server
    expect(s.session.appendedMs).toBe(before);
    s.session.fire('responseDone', { responseId: 'r1', status: 'completed' });
    s.speaker.drain();
    expect(s.conductor.state).toBe('listening');
    s.mic.speak(200);
    expect(s.session.appendedMs).toBe(before + 200);
    expect(s.turns[0]).toMatchObject({ mode: 'hands-free', outcome: 'complete', receivedMs: 300 });

    s.button.press();
    expect(s.mic.isOpen).toBe(false);
    expect(s.conductor.state).toBe('idle');
    s.button.press();
    expect(s.mic.isOpen).toBe(true);
  });

  it('with barge-in by voice, speech during an answer stops it and truncates at what was heard', async () => {
    const s = await ready({ turnDetection: 'semantic_vad', bargeInByVoice: true, earcons: false });
    reply(s, 'r1', 'a1', 5);
    s.speaker.played = 250;
    s.session.calls = [];
    s.session.fire('speechStarted', { itemId: 'u2' });
    // The server cancels its own response on speech; we only say how much was heard.
    expect(s.session.calls).toEqual(['truncate a1 250']);
    expect(s.conductor.state).toBe('listening');
  });
});
