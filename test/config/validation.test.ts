import { describe, expect, expectTypeOf, it } from 'vitest';
import { join } from 'node:path';
import { formatProblems, loadConfig, schema, type Config } from '../../src/config/index.js';
import { FIXTURES, problemAt, problems, valid } from './helpers.js';

describe('defaults and a full profile', () => {
  it('an empty file is a valid config with every default from the schema', () => {
    const c = valid('');
    expect(c.realtime.url).toBe('wss://api.openai.com/v1/realtime');
    expect(c.realtime.model).toBe('gpt-realtime');
    expect(c.session.turnDetection.type).toBe('manual');
    expect(c.control.socket).toBe('/run/realtime-ptt/control.sock');
    expect(c.log.transcriptFile).toBe('/var/lib/realtime-ptt/transcripts.jsonl');
    expect(c.conversation).toEqual({
      bargeInByVoice: false,
      earcons: true,
      minHoldMs: 200,
      answerTimeoutMs: 15_000,
      memoryTurns: 10,
      memoryChars: 4000,
      forgetAfterMs: 1_800_000,
      cancelBelowDbfs: -35,
    });
    expect(c.gpio.ledPin).toBeNull();
    expect(Object.keys(c)).toEqual(Object.keys(schema));
  });

  it('a profile that sets every section is read as written', async () => {
    const r = await loadConfig(join(FIXTURES, 'hands-free.yaml'), {});
    if (!r.ok) throw new Error(formatProblems(r.problems));
    const c = r.config;
    expect(c.realtime).toMatchObject({
      provider: 'azure',
      bootstrap: 'client-secret',
      connection: 'on-demand',
      reconnect: { minMs: 250, maxMs: 8000 },
    });
    expect(c.session.voice).toEqual({ id: 'voice_kitchen_01' });
    expect(c.session.turnDetection).toMatchObject({ type: 'server_vad', threshold: 0.7, idleTimeoutMs: 6000, interruptResponse: false });
    expect(c.session.transcription).toEqual({ enabled: true, model: 'gpt-4o-transcribe', language: 'de', prompt: 'Küche' });
    expect(c.audio.output.volume).toBe(0.6);
    expect(c.gpio).toMatchObject({ backend: 'gpiomon', mode: 'toggle', ledPin: 23, chip: 'gpiochip4', pull: 'down' });
    expect(c.log).toEqual({ level: 'debug', format: 'json', transcriptFile: null });
    expect(c.conversation).toMatchObject({ bargeInByVoice: true, earcons: false, minHoldMs: 200 });
  });

  it('Config is typed from the schema', () => {
    expectTypeOf<Config['gpio']['backend']>().toEqualTypeOf<'auto' | 'rpio' | 'gpiomon' | 'virtual'>();
    expectTypeOf<Config['gpio']['ledPin']>().toEqualTypeOf<number | null>();
    expectTypeOf<Config['session']['maxOutputTokens']>().toEqualTypeOf<number | 'inf'>();
    expectTypeOf<Config['session']['voice']>().toEqualTypeOf<
      typeof import('../../src/config/index.js').BUILTIN_VOICES[number] | { id: string }
    >();
    expectTypeOf<Config['conversation']>().toEqualTypeOf<{
      bargeInByVoice: boolean;
      earcons: boolean;
      minHoldMs: number;
      answerTimeoutMs: number;
      memoryTurns: number;
      memoryChars: number;
      forgetAfterMs: number | null;
      cancelBelowDbfs: number;
    }>();
  });

  it('the returned config cannot be mutated by a consumer', () => {
    const c = valid('');
    expect(() => {
      (c.session as { speed: number }).speed = 2;
    }).toThrow();
  });
});

describe('each section refuses wrong values, naming key, value and what is allowed', () => {
  const cases: Array<[string, string, string, unknown, RegExp]> = [
    ['realtime', 'realtime: {provider: google}', 'realtime.provider', 'google', /openai, azure/],
    ['realtime', 'realtime: {bootstrap: token}', 'realtime.bootstrap', 'token', /session-update, client-secret/],
    ['realtime', 'realtime: {connection: always}', 'realtime.connection', 'always', /persistent, on-demand/],
    ['realtime', 'realtime: {model: ""}', 'realtime.model', '', /non-empty/],
    ['realtime', 'realtime: {timeouts: {connectMs: 10}}', 'realtime.timeouts.connectMs', 10, /500 to 120000 ms/],
    ['realtime', 'realtime: {url: "https://api.openai.com/v1/realtime"}', 'realtime.url', 'https://api.openai.com/v1/realtime', /wss:\/\//],
    ['session', 'session: {speed: 2}', 'session.speed', 2, /0.25 to 1.5/],
    ['session', 'session: {voice: marine}', 'session.voice', 'marine', /marin, cedar, or \{id/],
    ['session', 'session: {voice: {id: ""}}', 'session.voice', { id: '' }, /\{id/],
    ['session', 'session: {voice: {id: v, name: x}}', 'session.voice', { id: 'v', name: 'x' }, /\{id/],
    ['session', 'session: {outputModalities: [audio, text]}', 'session.outputModalities', ['audio', 'text'], /\[audio\] or \[text\]/],
    ['session', 'session: {turnDetection: {type: vad}}', 'session.turnDetection.type', 'vad', /manual, server_vad, semantic_vad/],
    ['session', 'session: {turnDetection: {eagerness: fast}}', 'session.turnDetection.eagerness', 'fast', /low, medium, high, auto/],
    ['session', 'session: {turnDetection: {idleTimeoutMs: 100}}', 'session.turnDetection.idleTimeoutMs', 100, /5000 to 30000/],
    ['session', 'session: {noiseReduction: studio}', 'session.noiseReduction', 'studio', /near_field, far_field, off/],
    ['session', 'session: {maxOutputTokens: 5000}', 'session.maxOutputTokens', 5000, /1 to 4096, or inf/],
    ['session', 'session: {maxOutputTokens: infinite}', 'session.maxOutputTokens', 'infinite', /or inf/],
    ['session', 'session: {tools: [{type: mcp, name: x}]}', 'session.tools', [{ type: 'mcp', name: 'x' }], /function/],
    ['session', 'session: {transcription: {language: english}}', 'session.transcription.language', 'english', /two-letter ISO-639-1/],
    ['session', 'session: {transcription: {enabled: maybe}}', 'session.transcription.enabled', 'maybe', /true or false/],
    ['audio.input', 'audio: {input: {periodMs: 1}}', 'audio.input.periodMs', 1, /5 to 200 ms/],
    ['audio.input', 'audio: {input: {preRollMs: 2.5}}', 'audio.input.preRollMs', 2.5, /integer/],
    ['audio.input', 'audio: {input: {device: ""}}', 'audio.input.device', '', /non-empty/],
    ['audio.output', 'audio: {output: {volume: 1.5}}', 'audio.output.volume', 1.5, /0 to 1/],
    ['audio.output', 'audio: {output: {bufferMs: lots}}', 'audio.output.bufferMs', 'lots', /integer/],
    ['gpio', 'gpio: {backend: sysfs}', 'gpio.backend', 'sysfs', /auto, rpio, gpiomon, virtual/],
    ['gpio', 'gpio: {pin: 40}', 'gpio.pin', 40, /0 to 27/],
    ['gpio', 'gpio: {pull: sideways}', 'gpio.pull', 'sideways', /up, down, off/],
    ['gpio', 'gpio: {mode: push}', 'gpio.mode', 'push', /hold, toggle/],
    ['gpio', 'gpio: {activeLow: "yes"}', 'gpio.activeLow', 'yes', /true or false/],
    ['gpio', 'gpio: {ledPin: -1}', 'gpio.ledPin', -1, /or null/],
    ['control', 'control: {socket: 5}', 'control.socket', 5, /absolute path/],
    ['control', 'control: {socket: run/ptt.sock}', 'control.socket', 'run/ptt.sock', /absolute path/],
    ['realtime', 'realtime: {apiKeyFile: key.txt}', 'realtime.apiKeyFile', 'key.txt', /absolute path or null/],
    ['log', 'log: {transcriptFile: ""}', 'log.transcriptFile', '', /absolute path or null/],
    ['log', 'log: {level: verbose}', 'log.level', 'verbose', /debug, info, warn, error/],
    ['log', 'log: {format: xml}', 'log.format', 'xml', /json, pretty, auto/],
    ['conversation', 'conversation: {earcons: 1}', 'conversation.earcons', 1, /true or false/],
  ];
  it.each(cases)('%s: %s', (_section, yaml, key, value, allowed) => {
    const list = problems(yaml);
    expect(list).toHaveLength(1);
    const p = problemAt(list, key);
    expect(p.value).toEqual(value);
    expect(p.allowed).toMatch(allowed);
    expect(p.message.length).toBeGreaterThan(5);
  });

  it('reports every problem of a file at once, each with key, given value and allowed', () => {
    const list = problems(
      'session: {speed: 9, voice: nobody}\ngpio: {pin: 99, mode: x}\nlog: {level: loud}\naudio: {output: {volume: -1}}',
    );
    expect(list.map((p) => p.key).sort()).toEqual([
      'audio.output.volume',
      'gpio.mode',
      'gpio.pin',
      'log.level',
      'session.speed',
      'session.voice',
    ]);
    const text = formatProblems(list);
    expect(text).toMatch(/^6 problems in the config:/);
    expect(text).toContain('  - gpio.pin: is above the maximum 27\n    given: 99\n    allowed: an integer from 0 to 27');
    expect(text).not.toMatch(/at .*\.ts:\d+/); // no stack frames
  });
});

describe('cross-key rules', () => {
  it('ws:// is accepted for loopback hosts only', () => {
    for (const url of ['ws://127.0.0.1:9000/v1/realtime', 'ws://localhost/x', 'ws://[::1]:80/'])
      expect(valid(`realtime: {url: "${url}"}`).realtime.url).toBe(url);
    const p = problemAt(problems('realtime: {url: "ws://192.168.1.5/v1/realtime"}'), 'realtime.url');
    expect(p.message).toMatch(/ws:\/\/ to a non-loopback host \(192\.168\.1\.5\)/);
    expect(problemAt(problems('realtime: {url: "not a url"}'), 'realtime.url').message).toMatch(/not a valid URL/);
  });

  it('reconnect.maxMs below minMs, and an LED on the button pin, are refused', () => {
    expect(problemAt(problems('realtime: {reconnect: {minMs: 5000, maxMs: 1000}}'), 'realtime.reconnect.maxMs').message).toMatch(
      /below realtime.reconnect.minMs \(5000\)/,
    );
    expect(problemAt(problems('gpio: {pin: 5, ledPin: 5}'), 'gpio.ledPin').message).toMatch(/same pin/);
  });

  it('turn detection keys of the other VAD kind are refused; manual keeps them for later', () => {
    const p = problemAt(problems('session: {turnDetection: {type: semantic_vad, threshold: 0.3}}'), 'session.turnDetection.threshold');
    expect(p.message).toMatch(/does not apply to turnDetection type semantic_vad/);
    expect(p.allowed).toMatch(/eagerness/);
    expect(
      problemAt(problems('session: {turnDetection: {type: server_vad, eagerness: low}}'), 'session.turnDetection.eagerness').allowed,
    ).toMatch(/threshold/);
    expect(valid('session: {turnDetection: {type: manual, threshold: 0.3}}').session.turnDetection.threshold).toBe(0.3);
  });

  it('barge-in by voice needs a VAD turn detection', () => {
    expect(problemAt(problems('conversation: {bargeInByVoice: true}'), 'conversation.bargeInByVoice').allowed).toMatch(
      /server_vad or semantic_vad/,
    );
    expect(valid('conversation: {bargeInByVoice: true}\nsession: {turnDetection: semantic_vad}').conversation.bargeInByVoice).toBe(true);
  });
});

describe('shorthands people write', () => {
  it('transcription: off, noiseReduction: off and turnDetection: <type>', () => {
    const c = valid('session:\n  transcription: off\n  noiseReduction: off\n  turnDetection: server_vad\n');
    expect(c.session.transcription.enabled).toBe(false);
    expect(c.session.noiseReduction).toBe('off');
    expect(c.session.turnDetection.type).toBe('server_vad');
    expect(valid('session: {transcription: false, noiseReduction: false}').session.noiseReduction).toBe('off');
  });

  it('an empty section is all defaults; a scalar where a section belongs is refused', () => {
    expect(valid('gpio:\n').gpio.pin).toBe(17);
    expect(problemAt(problems('gpio: 17'), 'gpio').allowed).toMatch(/keys backend, pin/);
  });
});

describe('unknown keys', () => {
  it('a typo gets a did-you-mean, and the keys allowed at that level', () => {
    const p = problemAt(problems('gpio: {pinn: 3}'), 'gpio.pinn');
    expect(p.message).toMatch(/did you mean gpio\.pin\?/);
    expect(p.allowed).toMatch(/keys under gpio: backend, pin, activeLow/);
    expect(problemAt(problems('sesion: {}'), 'sesion').message).toMatch(/did you mean session/);
  });

  it('a key in the wrong section names where it belongs', () => {
    expect(problemAt(problems('voice: ash'), 'voice').message).toMatch(/write it as session\.voice/);
    expect(problemAt(problems('gpio: {device: hw:1}'), 'gpio.device').message).toMatch(/audio\.input\.device or audio\.output\.device/);
  });

  it('snake_case spellings of our keys name the camelCase key', () => {
    expect(problemAt(problems('gpio: {debounce_ms: 5}'), 'gpio.debounce_ms').message).toMatch(/write gpio\.debounceMs/);
    expect(
      problemAt(problems('session: {turnDetection: {silence_duration_ms: 5}}'), 'session.turnDetection.silence_duration_ms').message,
    ).toMatch(/write session\.turnDetection\.silenceDurationMs/);
  });

  it('an API key in the file is refused and never echoed back', () => {
    const key = 'sk-proj-NEVERPRINTME1234567890';
    const list = problems(`realtime: {apiKey: ${key}}`);
    const p = problemAt(list, 'realtime.apiKey');
    expect(p.message).toMatch(/cannot be stored in the config file/);
    expect(JSON.stringify(list)).not.toContain(key);
    expect(formatProblems(list)).not.toContain(key);
    const other = problems('openai_api_key: plain-secret-value-1234\nrealtime: {OPENAI_API_KEY: x-secret-value-5678}');
    expect(other.map((p) => p.value)).toEqual(['[redacted]', '[redacted]']);
    expect(other.every((p) => /cannot be stored in the config file/.test(p.message))).toBe(true);
  });
});

describe('beta and tutorial keys', () => {
  it('every beta key of a pasted tutorial gets its GA spelling or "no such setting"', async () => {
    const r = await loadConfig(join(FIXTURES, 'beta-tutorial.yaml'), {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const by = Object.fromEntries(r.problems.map((p) => [p.key, p.message]));
    expect(by.modalities).toMatch(/output_modalities.*session\.outputModalities/);
    expect(by.turn_detection).toMatch(/audio\.input\.turn_detection.*session\.turnDetection/);
    expect(by['session.input_audio_format']).toMatch(/audio\.input\.format/);
    expect(by['session.output_audio_format']).toMatch(/audio\.output\.format/);
    expect(by['session.temperature']).toMatch(/GA Realtime API has no temperature/);
    expect(by['session.input_audio_transcription']).toMatch(/audio\.input\.transcription.*session\.transcription/);
    expect(by['session.turn_detection']).toMatch(/session\.turnDetection/);
    expect(by['session.max_response_output_tokens']).toMatch(/max_output_tokens.*session\.maxOutputTokens/);
    expect(by['session.output_modalities']).toMatch(/camelCase: write session\.outputModalities/);
    expect(r.problems).toHaveLength(9);
  });

  it('GA wire layout pasted into the session section names our flat spelling or says it is not exposed', () => {
    const list = problems(
      'session:\n  type: realtime\n  model: gpt-realtime\n  audio: {output: {voice: ash}}\n  tracing: auto\n  tool_choice: auto\n  prompt: {id: pmpt_1}',
    );
    const by = Object.fromEntries(list.map((p) => [p.key, p.message]));
    expect(by['session.type']).toMatch(/always realtime/);
    expect(by['session.model']).toMatch(/write realtime\.model/);
    expect(by['session.audio']).toMatch(/session\.voice, session\.speed, session\.turnDetection/);
    expect(by['session.tracing']).toMatch(/does not expose/);
    expect(by['session.tool_choice']).toMatch(/does not expose/);
    expect(by['session.prompt']).toMatch(/session\.instructions/);
  });
});

describe('the file itself', () => {
  it('a YAML syntax error names line and column', async () => {
    const r = await loadConfig(join(FIXTURES, 'syntax-error.yaml'), {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]!.key).toBe('(file)');
    expect(r.problems[0]!.message).toMatch(/^YAML syntax error at line \d+, column \d+: .*quote/i);
    expect(problems('a: 1\na: 2')[0]!.message).toMatch(/line 2, column 1: .*unique/i);
  });

  it('a missing file says so and how to create one', async () => {
    const r = await loadConfig('/nonexistent/realtime-ptt.yaml', {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]!.message).toMatch(
      /\/nonexistent\/realtime-ptt\.yaml does not exist; create it from the commented example: .*realtime-ptt\.example\.yaml/,
    );
  });

  it('a file that is not a mapping is refused', () => {
    expect(problems('- a\n- b')[0]!.message).toMatch(/must be a YAML mapping/);
  });
});

describe('environment overrides', () => {
  it('env overrides the file, coerced to the key type', () => {
    const c = valid('realtime: {url: "wss://a.example/v1"}\ngpio: {pin: 4}', {
      REALTIME_PTT_REALTIME_URL: 'ws://127.0.0.1:5555/v1/realtime',
      REALTIME_PTT_GPIO_PIN: '26',
      REALTIME_PTT_LOG_LEVEL: 'warn',
    });
    expect(c.realtime.url).toBe('ws://127.0.0.1:5555/v1/realtime');
    expect(c.gpio.pin).toBe(26);
    expect(c.log.level).toBe('warn');
  });

  it('a bad env value is reported with the variable that set it', () => {
    const p = problemAt(problems('', { REALTIME_PTT_GPIO_PIN: 'seventeen' }), 'gpio.pin');
    expect(p.value).toBe('seventeen');
    expect(p.message).toMatch(/set by REALTIME_PTT_GPIO_PIN/);
  });
});

describe('a huge bad file', () => {
  it('is reported in a few hundred characters, not echoed back', () => {
    const huge = 'x'.repeat(5_000_000);
    const text = formatProblems(problems(`session:\n  voice: ${huge}\n  ? ${huge}\n  : 1\n`));
    expect(text.length).toBeLessThan(2_000);
    expect(text).toMatch(/session\.voice/);
    expect(text).toMatch(/session\.x+\.\.\. \(\d+ more characters\)/);
  });
});
