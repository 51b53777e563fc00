/**
 * The unacknowledged-turn ledger, transition by transition: what a dead socket's replay must
 * carry, and how much audio each acknowledged commit took.
 */
import { describe, expect, it } from 'vitest';
import type { GateItem } from '../../src/realtime/gate.js';
import { TurnLedger } from '../../src/realtime/index.js';
import { pcm } from './harness.js';

/** Items as short labels: `a<ms>` for audio, the command name otherwise. */
const labels = (items: GateItem[]): string[] => items.map((i) => (i.kind === 'audio' ? `a${i.pcm.length / 48}` : i.name));

describe('TurnLedger', () => {
  it('starts empty; sent audio is unacknowledged until a commit of it is acknowledged', () => {
    const l = new TurnLedger(10_000);
    expect(l.empty).toBe(true);
    l.audio(pcm(1, 100));
    l.audio(pcm(2, 60));
    expect(l.empty).toBe(false);
    expect(labels(l.items)).toEqual(['a100', 'a60']);
    expect(l.commitPending).toBe(false);
  });

  it('a commit stays pending with its audio; the response.create after it belongs to it', () => {
    const l = new TurnLedger(10_000);
    l.audio(pcm(1, 100));
    l.commit();
    l.response();
    expect(l.commitPending).toBe(true);
    expect(labels(l.items)).toEqual(['a100', 'commit', 'response']);
  });

  it('a response.create with no commit pending is not the ledger’s (its turn was acknowledged already)', () => {
    const l = new TurnLedger(10_000);
    l.response();
    expect(l.empty).toBe(true);
    l.audio(pcm(1, 100));
    l.response();
    expect(labels(l.items)).toEqual(['a100']);
  });

  it('committed acknowledges the oldest commit with its audio and response, keeps what came after, and says how much audio it took', () => {
    const l = new TurnLedger(10_000);
    l.audio(pcm(1, 100));
    l.audio(pcm(2, 100));
    l.commit();
    l.response();
    l.audio(pcm(3, 40)); // the next turn, already streaming
    expect(l.committed()).toBe(200);
    expect(labels(l.items)).toEqual(['a40']);
    expect(l.commitPending).toBe(false);
  });

  it('two commits in flight are acknowledged in order, each with its own audio', () => {
    const l = new TurnLedger(10_000);
    l.audio(pcm(1, 120));
    l.commit();
    l.audio(pcm(2, 300));
    l.commit();
    l.response();
    expect(l.committed()).toBe(120);
    expect(labels(l.items)).toEqual(['a300', 'commit', 'response']);
    expect(l.committed()).toBe(300);
    expect(l.empty).toBe(true);
  });

  it('a commit by server VAD (none of ours pending) takes everything sent so far', () => {
    const l = new TurnLedger(10_000);
    l.audio(pcm(1, 100));
    l.audio(pcm(2, 250));
    expect(l.committed()).toBe(350);
    expect(l.empty).toBe(true);
    expect(l.committed()).toBe(0);
  });

  it('clear drops the audio after the last command; a pending commit and its audio stay', () => {
    const l = new TurnLedger(10_000);
    l.audio(pcm(1, 100));
    l.commit();
    l.audio(pcm(2, 80));
    l.clear();
    expect(labels(l.items)).toEqual(['a100', 'commit']);
    // The cleared audio is not counted in the commit that follows, nor in the pending one.
    l.audio(pcm(3, 150));
    l.commit();
    expect(l.committed()).toBe(100);
    expect(l.committed()).toBe(150);
    expect(l.empty).toBe(true);
  });

  it('clear with nothing pending empties it', () => {
    const l = new TurnLedger(10_000);
    l.audio(pcm(1, 100));
    l.clear();
    expect(l.empty).toBe(true);
    expect(l.committed()).toBe(0);
  });

  it('takeAll hands over everything in order for the replay, and leaves it empty', () => {
    const l = new TurnLedger(10_000);
    l.audio(pcm(1, 100));
    l.commit();
    l.response();
    l.audio(pcm(2, 40));
    const taken = l.takeAll();
    expect(labels(taken.items)).toEqual(['a100', 'commit', 'response', 'a40']);
    expect(Buffer.concat(taken.items.flatMap((i) => (i.kind === 'audio' ? [i.pcm] : [])))).toEqual(
      Buffer.concat([pcm(1, 100), pcm(2, 40)]),
    );
    expect(taken.droppedMs).toBe(0);
    expect(l.empty).toBe(true);
    expect(l.commitPending).toBe(false);
    expect(l.committed()).toBe(0);
  });

  it('past its bound the oldest audio goes, to the byte; commands never; takeAll says how much is missing', () => {
    const l = new TurnLedger(200);
    l.audio(pcm(1, 100));
    l.commit();
    l.audio(pcm(2, 100));
    l.audio(pcm(3, 50)); // 250 ms held: the oldest 50 ms go
    expect(labels(l.items)).toEqual(['a50', 'commit', 'a100', 'a50']);
    expect((l.items[0] as Extract<GateItem, { kind: 'audio' }>).pcm).toEqual(pcm(1, 100).subarray(50 * 48));
    l.audio(pcm(4, 100)); // the rest of the first turn's audio goes, and 50 ms of the second
    expect(labels(l.items)).toEqual(['commit', 'a50', 'a50', 'a100']);
    const taken = l.takeAll();
    expect(taken.droppedMs).toBe(150);
  });

  it('what the bound dropped is forgotten once the server acknowledged it', () => {
    const l = new TurnLedger(100);
    l.audio(pcm(1, 150));
    l.commit();
    // The commit still took all 150 ms on the server: the count is of what was sent, not kept.
    expect(l.committed()).toBe(150);
    expect(l.takeAll()).toEqual({ items: [], droppedMs: 0 });
  });
});
