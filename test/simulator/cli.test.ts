import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyFaultSpec } from '../../src/simulator/fault-spec.js';
import { PTT_UPDATE, TestClient } from './ws-client.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = ['--import', 'tsx', 'src/cli.ts', 'simulator'];

function runToEnd(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...args], { cwd: ROOT, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

describe('realtime-ptt simulator', () => {
  it('prints its URL, serves sessions with the faults asked for, logs connections without the key, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [...CLI, '--port', '0', '--fault', 'dropAfterEvents=2', '--reply-ms', '200'], {
      cwd: ROOT,
      env: { ...process.env, SIMULATOR_API_KEY: 'sk-cli-simulator-key-777' },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/v1\/realtime$/);

    await expect(TestClient.connect(url, { Authorization: 'Bearer sk-wrong-key-00000' })).rejects.toMatchObject({ status: 401 });
    const c = await TestClient.connect(`${url}?model=gpt-realtime`, { Authorization: 'Bearer sk-cli-simulator-key-777' });
    c.send(PTT_UPDATE);
    expect((await c.waitClose()).code).toBe(1006); // dropped after session.created + session.updated
    expect(c.types()).toEqual(['session.created', 'session.updated']);

    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(stderr).toContain('client connected');
    expect(stderr).toContain('handshake refused');
    expect(stderr).not.toContain('sk-cli-simulator-key-777');
    expect(stderr).not.toMatch(/\n\s+at /); // no stack traces
  });

  it.each([
    [['--fault', 'dropAfterEvent=3'], /unknown fault 'dropAfterEvent'[\s\S]*faults are: rejectHandshake, stall/],
    [['--fault', 'rejectHandshake=404'], /--fault rejectHandshake=404: expected 401 \| 403 \| 500/],
    [['--fault', 'closeAfterMs=soon'], /expected MS:CODE\[:REASON\]/],
    [['--port', 'eighty'], /--port must be a whole number, got 'eighty'/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--pace', 'fast'], /--pace must be a positive number \(a multiple of real time\), realtime or instant, got 'fast'/],
    [['--pace', '0'], /--pace must be a positive number/],
    [['--pace', '2', '--realtime'], /--realtime and --pace 2 contradict each other/],
    [
      ['--tool-call', 'set timer={"seconds":3}'],
      /--tool-call set timer=\{"seconds":3\}: the function name must be 1-64 letters, digits, _ or -, got 'set timer'/,
    ],
    [
      ['--tool-call', 'set_timer={seconds:3}'],
      /--tool-call set_timer=\{seconds:3\}: the arguments are not valid JSON[\s\S]*e\.g\. --tool-call 'set_timer=\{"seconds":3\}'/,
    ],
    [['--tool-call', 'set_timer=[3]'], /--tool-call set_timer=\[3\]: the arguments must be a JSON object, got an array/],
  ])('refuses %j with a clear message and no stack trace', async (args, message) => {
    const { code, stderr } = await runToEnd(args);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe('realtime-ptt simulator --tool-call', () => {
  // Generous waits: the CLI child compiles through tsx first, slow on a loaded machine.
  it('the first response makes the scripted calls together; after their outputs it answers in audio', async () => {
    const child = spawn(
      process.execPath,
      [
        ...CLI,
        '--reply-ms',
        '200',
        '--pace',
        'instant',
        '--tool-call',
        'set_timer={"seconds":3,"name":"tea"}',
        '--tool-call',
        'get_local_time',
      ],
      { cwd: ROOT },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const c = await TestClient.connect(`${url}?model=gpt-realtime`);
      c.send(PTT_UPDATE);
      await c.next('session.updated', undefined, 10_000);
      c.send({
        type: 'conversation.item.create',
        item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'tea timer' }] },
      });
      c.send({ type: 'response.create' });
      const done = await c.next('response.done', undefined, 10_000);
      const output = (done.response as { output: Array<{ type: string; name: string; arguments: string; call_id: string }> }).output;
      expect(output.map((o) => [o.type, o.name, JSON.parse(o.arguments)])).toEqual([
        ['function_call', 'set_timer', { seconds: 3, name: 'tea' }],
        ['function_call', 'get_local_time', {}],
      ]);
      for (const o of output)
        c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: o.call_id, output: '{"ok":true}' } });
      // At pace instant the whole answer may arrive at once: look from here, not after the last event.
      const mark = c.events.length;
      c.send({ type: 'response.create' });
      const answer = await c.next('response.done', (e) => c.events.indexOf(e) >= mark, 10_000);
      expect((answer.response as { status: string }).status).toBe('completed');
      expect(c.events.slice(mark).some((e) => e.type === 'response.output_audio.delta')).toBe(true);
      c.close();
    } finally {
      child.kill('SIGTERM');
    }
  }, 30_000);
});

describe('fault specs', () => {
  it('parses every kind of value into a FaultPlan', () => {
    let plan = {};
    for (const spec of [
      'stall',
      'dropMidResponse=false',
      'sessionUpdate=partial',
      'partialFields=audio.input.turn_detection, instructions',
      'closeAfterMs=5000:1001:time limit',
      'rejectHandshake=403',
      'expiresInS=30',
    ]) {
      plan = applyFaultSpec(plan, spec);
    }
    expect(plan).toEqual({
      stall: true,
      dropMidResponse: false,
      sessionUpdate: 'partial',
      partialFields: ['audio.input.turn_detection', 'instructions'],
      closeAfterMs: { ms: 5000, code: 1001, reason: 'time limit' },
      rejectHandshake: 403,
      expiresInS: 30,
    });
  });

  it('an error names the fault and carries a hint', () => {
    expect(() => applyFaultSpec({}, 'sessionUpdate=maybe')).toThrow(
      expect.objectContaining({ code: 'SIMULATOR_BAD_FAULT', hint: expect.stringContaining('sessionUpdate=') }),
    );
  });
});
