import { describe, expect, it } from 'vitest';
import { actionsFor, APPLY_ORDER, diffConfig, schema } from '../../src/config/index.js';
import { leaves } from '../../src/config/schema-kit.js';
import { valid } from './helpers.js';

describe('diffConfig: changed keys, sections and the actions they need', () => {
  it('an identical config is no change', () => {
    expect(diffConfig(valid('session: {speed: 1.2}'), valid('session:\n  # a comment\n  speed: 1.2\n'))).toEqual({
      keys: [],
      sections: [],
      actions: [],
    });
  });

  it('instructions and voice apply to the running session (the session itself defers voice after an audio answer); model needs a reconnect', () => {
    expect(diffConfig(valid(''), valid('session: {instructions: Be terse.}'))).toEqual({
      keys: ['session.instructions'],
      sections: ['session'],
      actions: ['session'],
    });
    expect(diffConfig(valid(''), valid('session: {voice: cedar}')).actions).toEqual(['session']);
    expect(diffConfig(valid(''), valid('realtime: {model: gpt-realtime-mini}')).actions).toEqual(['reconnect']);
  });

  it('hardware sections restart their own part only; log level is live', () => {
    expect(diffConfig(valid(''), valid('audio: {input: {device: "plughw:1"}}'))).toEqual({
      keys: ['audio.input.device'],
      sections: ['audio.input'],
      actions: ['restart-audio'],
    });
    expect(diffConfig(valid(''), valid('gpio: {pin: 27}')).actions).toEqual(['restart-gpio']);
    expect(diffConfig(valid(''), valid('log: {level: debug}')).actions).toEqual(['live']);
    expect(diffConfig(valid(''), valid('control: {socket: /tmp/x.sock}')).actions).toEqual(['restart']);
  });

  it('turning transcription or noise reduction off reconnects (GA cannot clear them in place), on is a session update', () => {
    expect(diffConfig(valid(''), valid('session: {transcription: off}')).actions).toEqual(['reconnect']);
    expect(diffConfig(valid('session: {transcription: off}'), valid('')).actions).toEqual(['session']);
    expect(diffConfig(valid(''), valid('session: {noiseReduction: off}')).actions).toEqual(['reconnect']);
    expect(diffConfig(valid(''), valid('session: {noiseReduction: near_field}')).actions).toEqual(['session']);
  });

  it('several changes list each distinct action, cheapest first', () => {
    const d = diffConfig(valid(''), valid('session: {speed: 1.1}\ngpio: {mode: toggle}\nlog: {level: warn}\nrealtime: {provider: azure}'));
    expect(d.sections).toEqual(['realtime', 'session', 'gpio', 'log']);
    expect(d.actions).toEqual(['live', 'session', 'reconnect', 'restart-gpio']);
  });

  it('reordering keys inside a tool is not a change', () => {
    const a = valid('session: {tools: [{type: function, name: f, parameters: {type: object, properties: {a: {type: string}}}}]}');
    const b = valid('session: {tools: [{name: f, parameters: {properties: {a: {type: string}}, type: object}, type: function}]}');
    expect(diffConfig(a, b).keys).toEqual([]);
  });

  it('every key of the schema carries an apply tag the daemon understands', () => {
    for (const [path, leaf] of leaves(schema)) expect(APPLY_ORDER, path).toContain(leaf.apply);
  });

  it('actionsFor maps key names (e.g. from a control command) and treats unknown keys as restart', () => {
    expect(actionsFor(['session.speed', 'audio.output.volume'])).toEqual(['live', 'session']);
    expect(actionsFor(['no.such.key'])).toEqual(['restart']);
  });
});
