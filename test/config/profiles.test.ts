import { describe, expect, it } from 'vitest';
import { profileToSession } from '../../src/config/index.js';
import { profileNames, resolveProfile, withProfile } from '../../src/config/profiles.js';
import { problemAt, problems, valid } from './helpers.js';

const FAMILY = `
session:
  voice: marin
  instructions: You help grown-ups.
  turnDetection: { type: manual }
  transcription: { language: en }
profiles:
  active: kids
  named:
    kids:
      voice: shimmer
      instructions: You talk with children. Short, simple words.
      followUp: { windowMs: 6000 }
    quiet-kids:
      inherits: kids
      speed: 0.8
      transcription: { prompt: dinosaurs }
`;

describe('named profiles', () => {
  it('a profile overrides the session section; an inheriting one overrides its parent, nested sections merged', () => {
    const c = valid(FAMILY);
    expect(profileNames(c)).toEqual(['main', 'kids', 'quiet-kids']);
    expect(c.profiles.active).toBe('kids');
    const quiet = resolveProfile(c, 'quiet-kids')!;
    expect(quiet.voice).toBe('shimmer');
    expect(quiet.instructions).toBe('You talk with children. Short, simple words.');
    expect(quiet.speed).toBe(0.8);
    expect(quiet.followUp).toEqual({ windowMs: 6000, turnDetection: 'server_vad' });
    // transcription merged key by key: language from main, prompt from quiet-kids.
    expect(quiet.transcription).toMatchObject({ enabled: true, language: 'en', prompt: 'dinosaurs' });
    expect(resolveProfile(c, 'main')).toBe(c.session);
    expect(resolveProfile(c, 'nobody')).toBeUndefined();
  });

  it('the GA session of a profile carries its voice and instructions (print-session --profile)', () => {
    const c = valid(FAMILY);
    const s = profileToSession(withProfile(c, 'kids')!);
    expect(s.audio?.output?.voice).toBe('shimmer');
    expect(s.instructions).toMatch(/children/);
    expect(profileToSession(c).audio?.output?.voice).toBe('marin');
  });

  it('every problem names the profile and the key, with the value and what is allowed', () => {
    const list = problems(`
profiles:
  active: grown-up
  named:
    kids:
      voice: bubbles
      speed: 3
      turnDetection: { type: shouting }
      colour: blue
    teen:
      inherits: nobody
    main: { voice: ash }
    "Bad Name": { voice: ash }
`);
    expect(problemAt(list, 'profiles.named.kids.voice')).toMatchObject({ value: 'bubbles', allowed: expect.stringContaining('marin') });
    expect(problemAt(list, 'profiles.named.kids.speed')).toMatchObject({ value: 3, message: 'is above the maximum 1.5' });
    expect(problemAt(list, 'profiles.named.kids.turnDetection.type').allowed).toBe('one of manual, server_vad, semantic_vad');
    expect(problemAt(list, 'profiles.named.kids.colour')).toMatchObject({
      message: 'is not a session key',
      allowed: expect.stringContaining('instructions'),
    });
    expect(problemAt(list, 'profiles.named.teen.inherits')).toMatchObject({ value: 'nobody', allowed: expect.stringContaining('main') });
    expect(problemAt(list, 'profiles.named.main').message).toMatch(/session section itself/);
    expect(problemAt(list, 'profiles.named.Bad Name').message).toBe('is not a valid profile name');
    expect(problemAt(list, 'profiles.active')).toMatchObject({ value: 'grown-up', message: 'names no profile' });
  });

  it('inheritance in a circle is refused, naming the circle', () => {
    const list = problems(`
profiles:
  named:
    a: { inherits: b }
    b: { inherits: a }
`);
    expect(problemAt(list, 'profiles.named.a.inherits').message).toBe('inherits in a circle (a -> b -> a)');
  });
});
