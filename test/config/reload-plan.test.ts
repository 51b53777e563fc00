import { describe, expect, it } from 'vitest';
import { APPLY_ORDER, planReload, schema } from '../../src/config/index.js';
import { leaves } from '../../src/config/schema-kit.js';
import { valid } from './helpers.js';

const base = valid('');
const plan = (yaml: string, from = base) => planReload(from, valid(yaml));
const kinds = (yaml: string, from = base) => plan(yaml, from).steps.map((s) => s.kind);

describe('planReload: what a config change does, from the schema apply tags', () => {
  it('no change (a comment, a reordered tool) is an empty plan: nothing runs, nothing is logged as reloaded', () => {
    expect(plan('# only a comment\n')).toEqual({ keys: [], steps: [] });
  });

  it('live tag: log level, conversation, volume, session timeouts and reconnect range are applied at once, nothing restarts', () => {
    for (const yaml of [
      'log: {level: debug}',
      'conversation: {minHoldMs: 300}',
      'conversation: {earcons: false}',
      'audio: {output: {volume: 0.5}}',
      'realtime: {timeouts: {sessionUpdateMs: 3000}}',
      'realtime: {reconnect: {minMs: 100, maxMs: 400}}',
    ]) {
      expect(kinds(yaml), yaml).toEqual(['live']);
    }
    expect(plan('audio: {output: {volume: 0.5}}').steps[0]).toEqual({ kind: 'live', keys: ['audio.output.volume'] });
  });

  it('session tag: profile fields go to applyProfile on the open session (voice too: the session defers it itself)', () => {
    expect(plan('session: {instructions: Be terse.}').steps).toEqual([{ kind: 'apply-profile', keys: ['session.instructions'] }]);
    expect(kinds('session: {voice: cedar}')).toEqual(['apply-profile']);
    expect(kinds('session: {turnDetection: {type: server_vad}}')).toEqual(['apply-profile']);
    // Turning a feature back on is a session update...
    expect(kinds('', valid('session: {transcription: off}'))).toEqual(['apply-profile']);
    expect(kinds('session: {noiseReduction: near_field}')).toEqual(['apply-profile']);
  });

  it('tools tag: the tools part follows the section (built-ins, confirm list, MCP servers), before a profile step', () => {
    expect(plan('tools: {builtins: {time: false}}').steps).toEqual([{ kind: 'apply-tools', keys: ['tools.builtins.time'] }]);
    expect(kinds('tools: {mcpServers: [{name: ha, transport: http, url: "http://127.0.0.1:1/api/mcp"}]}')).toEqual(['apply-tools']);
    expect(kinds('tools: {confirm: [set_volume]}\nsession: {instructions: Be terse.}')).toEqual(['apply-tools', 'apply-profile']);
  });

  it('applyWhenCleared: turning transcription or noise reduction off rebuilds the session (GA cannot clear them in place)', () => {
    expect(plan('session: {transcription: off}').steps).toEqual([{ kind: 'rebuild-session', keys: ['session.transcription.enabled'] }]);
    expect(kinds('session: {noiseReduction: off}')).toEqual(['rebuild-session']);
  });

  it('reconnect tag: endpoint, model, provider, key file, bootstrap and connection mode rebuild the session', () => {
    for (const yaml of [
      'realtime: {url: "wss://example.test/v1/realtime"}',
      'realtime: {model: gpt-realtime-mini}',
      'realtime: {apiKeyFile: /etc/other-key}',
      'realtime: {connection: on-demand}',
    ]) {
      expect(kinds(yaml), yaml).toEqual(['rebuild-session']);
    }
  });

  it('a rebuild carries the profile edits made with it: one new session, no extra session.update first', () => {
    expect(plan('realtime: {model: gpt-realtime-mini}\nsession: {instructions: Be terse.}').steps).toEqual([
      { kind: 'rebuild-session', keys: ['realtime.model', 'session.instructions'] },
    ]);
  });

  it('restart-audio and restart-gpio tags restart only their own part', () => {
    expect(plan('audio: {input: {device: "plughw:1"}}').steps).toEqual([{ kind: 'restart-audio', keys: ['audio.input.device'] }]);
    expect(kinds('audio: {output: {device: "plughw:1"}}')).toEqual(['restart-audio']);
    expect(kinds('audio: {input: {preRollMs: 200}}')).toEqual(['restart-audio']);
    expect(plan('gpio: {pin: 27}').steps).toEqual([{ kind: 'restart-gpio', keys: ['gpio.pin'] }]);
  });

  it('restart tag: control socket, log format and transcript file only say they need a daemon restart', () => {
    expect(plan('control: {socket: /tmp/x.sock}\nlog: {format: pretty, transcriptFile: null}').steps).toEqual([
      { kind: 'needs-restart', keys: ['control.socket', 'log.format', 'log.transcriptFile'] },
    ]);
  });

  it('several changes run in one order: live, session, part restarts, then the restart notice', () => {
    const p = plan(
      'log: {level: warn, format: json}\ngpio: {mode: toggle}\naudio: {input: {preRollMs: 200}}\nsession: {speed: 1.1}\nconversation: {minHoldMs: 300}',
    );
    expect(p.steps).toEqual([
      { kind: 'live', keys: ['log.level', 'conversation.minHoldMs'] },
      { kind: 'apply-profile', keys: ['session.speed'] },
      { kind: 'restart-audio', keys: ['audio.input.preRollMs'] },
      { kind: 'restart-gpio', keys: ['gpio.mode'] },
      { kind: 'needs-restart', keys: ['log.format'] },
    ]);
    expect(p.keys).toHaveLength(6);
  });

  it('every key of the schema is tagged with an action the plan maps to a step', () => {
    const tags = new Set(leaves(schema).map(([, leaf]) => leaf.apply));
    expect([...tags].sort()).toEqual([...APPLY_ORDER].sort());
  });
});
