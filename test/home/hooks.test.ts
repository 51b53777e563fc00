import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/core/logger.js';
import { StateHooks, type HookOutcome, type StateHooksOptions } from '../../src/home/hooks.js';

let dir: string;
const made: StateHooks[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ptt-hooks-'));
});
afterEach(async () => {
  for (const h of made.splice(0)) await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

function hooks(on: StateHooksOptions['on'], timeoutMs = 5_000) {
  const logger = memoryLogger();
  const h = new StateHooks({ on, timeoutMs, logger, killGraceMs: 100 });
  const outcomes: HookOutcome[] = [];
  let wake: (() => void) | undefined;
  h.onOutcome = (o) => {
    outcomes.push(o);
    wake?.();
  };
  made.push(h);
  const settled = async (n: number) => {
    while (outcomes.length < n) await new Promise<void>((r) => (wake = r));
  };
  return { h, logger, outcomes, settled };
}

/** Running, not a zombie (an orphan's zombie waits for an init that may not reap it in a container). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('state hooks', () => {
  it('runs the argv of the state without a shell, with PATH, LC_ALL and the state only (never the key)', async () => {
    const out = join(dir, 'env');
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-test-never-in-a-hook-000000';
    try {
      const { h, settled, outcomes } = hooks({
        listening: ['/bin/sh', '-c', 'env > "$1"; printf %s "$2" >> "$1"', 'sh', out, '$(touch pwned); echo hi'],
      });
      await h.start();
      h.onState('idle');
      h.onState('listening');
      await settled(1);
      expect(outcomes[0]).toMatchObject({ state: 'listening', result: 'ok' });
    } finally {
      process.env.OPENAI_API_KEY = saved;
    }
    const text = readFileSync(out, 'utf8');
    // sh itself exports PWD; everything else came from the hook runner.
    const vars = text
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => l.split('=')[0])
      .filter((v) => v !== 'PWD')
      .sort();
    expect(vars).toEqual(['LC_ALL', 'PATH', 'REALTIME_PTT_PREVIOUS_STATE', 'REALTIME_PTT_STATE']);
    expect(text).toContain('REALTIME_PTT_STATE=listening');
    expect(text).toContain('REALTIME_PTT_PREVIOUS_STATE=idle');
    expect(text).not.toContain('sk-test');
    // The argument arrived literally: no shell interpreted it.
    expect(text.endsWith('$(touch pwned); echo hi')).toBe(true);
    expect(existsSync(join(process.cwd(), 'pwned'))).toBe(false);
  });

  it('kills a hook that outlives the timeout, with everything it started (its process group)', async () => {
    const pidFile = join(dir, 'pid');
    const { h, settled, outcomes, logger } = hooks({ speaking: ['/bin/sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`] }, 300);
    h.onState('speaking');
    await settled(1);
    expect(outcomes[0]).toMatchObject({ state: 'speaking', result: 'timeout' });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(grandchild)).toBe(false);
    expect(logger.records().some((r) => r.level === 'warn' && r.msg === 'hook for speaking was killed after 300 ms')).toBe(true);
  });

  it('logs a failing hook (exit code and stderr) and one that cannot start, without throwing', async () => {
    const { h, settled, outcomes, logger } = hooks({
      error: ['/bin/sh', '-c', 'echo "mpc: connection refused" >&2; exit 3'],
      idle: ['/nonexistent/mpc', 'play'],
    });
    expect(() => h.onState('error')).not.toThrow();
    await settled(1);
    h.onState('idle');
    await settled(2);
    expect(outcomes[0]).toMatchObject({ result: 'failed', exitCode: 3, stderr: 'mpc: connection refused' });
    expect(outcomes[1]).toMatchObject({ result: 'spawn-error' });
    const warns = logger.records().filter((r) => r.level === 'warn');
    expect(warns.map((r) => r.msg)).toEqual([
      'hook for error failed (exit 3)',
      expect.stringMatching(/^hook for idle could not start: .*ENOENT/),
    ]);
  });

  it('runs one hook at a time; states that arrive meanwhile collapse to the latest', async () => {
    const log = join(dir, 'order');
    const step = (name: string, sleep = '0') => ['/bin/sh', '-c', `sleep ${sleep}; echo ${name} >> ${log}`];
    const { h, settled, outcomes } = hooks({
      listening: step('listening', '0.3'),
      thinking: step('thinking'),
      speaking: step('speaking'),
      idle: step('idle'),
    });
    h.onState('listening');
    h.onState('thinking');
    h.onState('speaking');
    h.onState('idle');
    expect(h.busy).toBe(true);
    await settled(2);
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual(['listening', 'idle']);
    expect(outcomes.map((o) => o.state)).toEqual(['listening', 'idle']);
  });

  it('configure() applies new hooks from the next state change on', async () => {
    const { h, settled, outcomes } = hooks({});
    h.onState('listening');
    h.configure({ idle: ['/bin/sh', '-c', 'exit 0'] }, 1_000);
    h.onState('idle');
    await settled(1);
    expect(outcomes.map((o) => o.state)).toEqual(['idle']);
  });

  it('stop() kills a running hook and runs nothing after it', async () => {
    const pidFile = join(dir, 'pid');
    const { h } = hooks({
      listening: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`],
      idle: ['/bin/sh', '-c', `touch ${join(dir, 'idle')}`],
    });
    h.onState('listening');
    h.onState('idle');
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8') === '') await new Promise((r) => setTimeout(r, 10));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await h.stop();
    expect(alive(pid)).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(join(dir, 'idle'))).toBe(false);
  });
});
