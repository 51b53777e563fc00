import { describe, expect, it } from 'vitest';
import { ConversationMemory, heardPart } from '../../src/daemon/conversation-memory.js';

const limits = { maxTurns: 3, maxChars: 1000, forgetAfterMs: 60_000 };

function talk(m: ConversationMemory, turn: number, q: string, a: string) {
  m.add({ turn, role: 'user', text: q });
  m.add({ turn, role: 'assistant', text: a });
}

describe('conversation memory', () => {
  it('keeps the last maxTurns turns, oldest first, as GA message items', () => {
    const m = new ConversationMemory(limits);
    for (let t = 1; t <= 5; t++) talk(m, t, `question ${t}`, `answer ${t}`);
    expect(m.entries().map((e) => e.text)).toEqual(['question 3', 'answer 3', 'question 4', 'answer 4', 'question 5', 'answer 5']);
    expect(m.items()[0]).toEqual({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'question 3' }] });
    expect(m.items()[1]).toEqual({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'answer 3' }] });
  });

  it('keeps at most maxChars characters: whole old entries go first, one long entry keeps its end', () => {
    const m = new ConversationMemory({ ...limits, maxChars: 20 });
    talk(m, 1, 'what is the weather', 'sunny');
    talk(m, 2, 'and tomorrow', 'rain');
    expect(m.entries().map((e) => e.text)).toEqual(['and tomorrow', 'rain']);
    m.add({ turn: 3, role: 'user', text: 'tell me a very long story about a dragon' });
    expect(m.entries()).toEqual([{ turn: 3, role: 'user', text: 'story about a dragon' }]);
  });

  it('starts fresh after forgetAfterMs without a turn; forget() clears at once; maxTurns 0 keeps nothing', () => {
    let now = 0;
    const m = new ConversationMemory(limits, () => now);
    talk(m, 1, 'hello', 'hi');
    now = 59_000;
    expect(m.entries()).toHaveLength(2);
    now = 59_000 + 60_001;
    expect(m.entries()).toEqual([]);
    talk(m, 2, 'again', 'yes');
    m.forget();
    expect(m.items()).toEqual([]);
    const off = new ConversationMemory({ ...limits, maxTurns: 0 });
    talk(off, 1, 'q', 'a');
    expect(off.entries()).toEqual([]);
  });

  it('a turn that is replayed or dropped can be taken out, so it is never kept twice', () => {
    const m = new ConversationMemory(limits);
    talk(m, 1, 'one', 'uno');
    m.add({ turn: 2, role: 'user', text: 'two' });
    m.remove(2, 'user');
    expect(m.entries().map((e) => e.text)).toEqual(['one', 'uno']);
  });
});

describe('heardPart', () => {
  const text = 'The capital of France is Paris, a city on the Seine.';
  it('keeps the share of the text that was played, ended at a word', () => {
    expect(heardPart(text, 500, 1000)).toBe('The capital of France is');
    expect(heardPart(text, 1000, 1000)).toBe(text);
    expect(heardPart(text, 0, 1000)).toBe('');
    expect(heardPart('Paris', 100, 1000)).toBe('');
  });
});
