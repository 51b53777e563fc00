import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { PttError } from '../../src/core/errors.js';
import { memoryLogger } from '../../src/core/logger.js';
import { createHomeParts } from '../../src/home/home-parts.js';
import { startBroker, type Broker } from '../support/mosquitto.js';
import { Observer, recordingCommands } from './mqtt-helpers.js';

let broker: Broker;
let dir: string;
beforeAll(async () => {
  broker = await startBroker({ users: { parlour: 'parlour-pass-1234', ha: 'ha-pass-5678' } });
  dir = mkdtempSync(join(tmpdir(), 'ptt-home-parts-'));
});
afterAll(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(yaml: string) {
  const r = parseConfig(yaml, {});
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

describe('home parts from the config', () => {
  it('with mqtt off there is no bridge and nothing connects; hooks still run', () => {
    const parts = createHomeParts({ config: config('{}'), commands: recordingCommands(), logger: memoryLogger() });
    if (parts instanceof PttError) throw parts;
    expect(parts.bridge).toBeUndefined();
    expect(parts.components.map((c) => c.name)).toEqual(['hooks']);
  });

  it('a state change reaches the broker and the hook; the password comes from the file, the node id from the config', async () => {
    const pw = join(dir, 'mqtt-password');
    writeFileSync(pw, 'parlour-pass-1234\n');
    const out = join(dir, 'hook-out');
    const cfg = config(
      [
        'mqtt:',
        `  url: ${broker.url}`,
        '  nodeId: parlour',
        '  username: parlour',
        `  passwordFile: ${pw}`,
        'hooks:',
        '  on:',
        `    listening: [/bin/sh, -c, 'echo "$REALTIME_PTT_STATE" >> ${out}']`,
      ].join('\n'),
    );
    const parts = createHomeParts({ config: cfg, commands: recordingCommands(), logger: memoryLogger() });
    if (parts instanceof PttError) throw parts;
    const ha = await Observer.connect(broker, { username: 'ha', password: 'ha-pass-5678' }, ['realtime-ptt/parlour/state']);
    try {
      const up = parts.bridge!.next('connected', 10_000);
      for (const c of parts.components) await c.start();
      await up;
      parts.onState('listening');
      await ha.waitFor((m) => m.payload === 'listening', 'state listening');
      while (!parts.hooks.busy && readFileSync(out, { flag: 'a+' }).length === 0) await new Promise((r) => setTimeout(r, 10));
      while (parts.hooks.busy) await new Promise((r) => setTimeout(r, 10));
      expect(readFileSync(out, 'utf8')).toBe('listening\n');
    } finally {
      for (const c of [...parts.components].reverse()) await c.stop();
      await ha.close();
    }
  });

  it('an unreadable password file is a PttError naming the file, before anything starts', () => {
    const cfg = config(`mqtt:\n  url: ${broker.url}\n  passwordFile: ${join(dir, 'absent')}\n`);
    const parts = createHomeParts({ config: cfg, commands: recordingCommands(), logger: memoryLogger() });
    expect(parts).toMatchObject({
      code: 'MQTT_FILE_UNREADABLE',
      message: expect.stringContaining(`${join(dir, 'absent')} cannot be read (ENOENT)`),
    });
  });
});
