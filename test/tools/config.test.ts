import { describe, expect, it } from 'vitest';
import { problemAt, problems, valid } from '../config/helpers.js';

describe('config: the tools section', () => {
  it('defaults: every built-in on, no MCP servers, nothing to confirm', () => {
    const c = valid('');
    expect(c.tools).toEqual({
      builtins: { time: true, timers: true, volume: true, deviceStatus: true, profiles: true },
      mcpServers: [],
      confirm: [],
      confirmWindowMs: 8_000,
      alarmMaxMs: 60_000,
      callTimeoutMs: 10_000,
      maxOutputBytes: 16_384,
      maxRoundsPerTurn: 5,
    });
  });

  it('reads a Home Assistant server and a stdio server as written', () => {
    const c = valid(`
tools:
  confirm: [ha_HassTurnOff]
  mcpServers:
    - {name: ha, transport: http, url: "http://homeassistant.local:8123/api/mcp", credential: ha-token, allow: [HassTurnOn, HassTurnOff]}
    - {name: notes, transport: stdio, command: /usr/local/bin/notes-mcp, args: [--db, /var/lib/notes.db], env: {NOTES_LANG: en}, timeoutMs: 3000}
`);
    expect(c.tools.mcpServers.map((s) => s.name)).toEqual(['ha', 'notes']);
    expect(c.tools.confirm).toEqual(['ha_HassTurnOff']);
  });

  it('a mistake names the key, the value and what is allowed', () => {
    const cases: Array<[string, string, RegExp]> = [
      [
        'tools: {mcpServers: [{name: ha, transport: http, url: "ftp://x/api/mcp"}]}',
        'tools.mcpServers',
        /item 0 \(ha\) url has scheme ftp:; use http: or https:/,
      ],
      [
        'tools: {mcpServers: [{name: "home assistant", transport: http}]}',
        'tools.mcpServers',
        /item 0 needs a name of 1-24 letters, digits or -/,
      ],
      [
        'tools: {mcpServers: [{name: x, transport: stdio, command: a, url: "http://h/"}]}',
        'tools.mcpServers',
        /item 0 \(x\) has key\(s\) url that transport stdio does not use; allowed: name, transport, command, args, env, allow, deny, timeoutMs/,
      ],
      [
        'tools: {mcpServers: [{name: x, transport: stdio, command: a, env: {OPENAI_API_KEY: k}}]}',
        'tools.mcpServers',
        /must not pass OPENAI_API_KEY \(the daemon's secrets never go to a tool process\)/,
      ],
      [
        'tools: {mcpServers: [{name: a, transport: stdio, command: x}, {name: a, transport: stdio, command: y}]}',
        'tools.mcpServers',
        /server name a is used twice/,
      ],
      [
        'tools: {mcpServers: [{name: h, transport: http, url: "http://h/", tokenFile: /t, credential: c}]}',
        'tools.mcpServers',
        /has both tokenFile and credential; use one/,
      ],
      ['tools: {confirm: ["door.unlock"]}', 'tools.confirm', /must be a list of function names/],
      ['tools: {callTimeoutMs: 50}', 'tools.callTimeoutMs', /below the minimum 100/],
      ['tools: {builtins: {timers: maybe}}', 'tools.builtins.timers', /true or false/],
      ['state: {dir: relative/dir}', 'state.dir', /absolute path/],
    ];
    for (const [yaml, key, message] of cases) {
      const p = problemAt(problems(yaml), key);
      expect(p.message, yaml).toMatch(message);
      expect(p.allowed, yaml).toBeTruthy();
      expect(p.value, yaml).toBeDefined();
    }
  });
});
