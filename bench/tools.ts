/**
 * Tool-call benchmark (figures only, no assertions):
 *
 *   npx tsx bench/tools.ts [--runs 300]   (npm run bench:tools)
 *
 * 1. Latency from "arguments done" to "output ready": ToolExecutor.call() with the JSON text of
 *    the arguments, through argument checking, the run and the output cap, for
 *    - a built-in tool (get_local_time): the floor, nothing but our own code;
 *    - a stdio MCP tool (echo on a real child process built with the SDK);
 *    - an HTTP MCP tool (GetDateTime on the Home Assistant stand-in, Streamable HTTP, stateless
 *      JSON, bearer auth, on 127.0.0.1; the stand-in runs in this process, so its work counts).
 *    p50/p95 after 20 warm-up calls, and each MCP figure as a ratio of the built-in p50.
 * 2. RSS of this process with no MCP server, then with both servers connected, and the stdio
 *    child's own RSS (it is a separate process on the device too).
 * 3. On the wire, the real daemon process (bench/tools-wire.ts; needs `npm run build`): from the
 *    simulator sending `response.function_call_arguments.done` to it receiving the
 *    `function_call_output`, for the same three tools (--wire-calls each, default 30), and the
 *    daemon's RSS with no MCP server and with the two connected. --wire-calls 0 skips it.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createBuiltins } from '../src/tools/builtins.js';
import { ToolExecutor } from '../src/tools/executor.js';
import { McpManager } from '../src/tools/mcp/manager.js';
import { ToolRegistry } from '../src/tools/registry.js';
import { startHaStandIn } from '../test/support/ha-mcp-server.js';
import { measureOnTheWire } from './tools-wire.js';

const { values } = parseArgs({ options: { runs: { type: 'string' }, 'wire-calls': { type: 'string' } } });
const RUNS = Number(values.runs ?? 300);
const WIRE_CALLS = Number(values['wire-calls'] ?? 30);
const TOKEN = 'bench-token-0123456789abcdef';
const STDIO_SERVER = fileURLToPath(new URL('../test/support/mcp-stdio-server.ts', import.meta.url));

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

async function settle(): Promise<number> {
  global.gc?.();
  await new Promise((r) => setTimeout(r, 300));
  return process.memoryUsage().rss;
}

const dir = mkdtempSync(join(tmpdir(), 'ptt-bench-tools-'));
writeFileSync(join(dir, 'ha-token'), TOKEN);
const ha = await startHaStandIn({ token: TOKEN });
const registry = new ToolRegistry();
const builtins = createBuiltins({ enabled: { time: true, timers: false, volume: false, deviceStatus: false }, stateDir: dir });
registry.setSource('builtin', builtins.tools());
const executor = new ToolExecutor({ registry, timeoutMs: 10_000, maxOutputBytes: 16_384 });
const manager = new McpManager({ registry, callTimeoutMs: 10_000, env: { CREDENTIALS_DIRECTORY: dir } });

try {
  const rssWithout = await settle();
  await manager.apply([
    { name: 'box', transport: 'stdio', command: process.execPath, args: ['--import', 'tsx', STDIO_SERVER] },
    { name: 'ha', transport: 'http', url: ha.url, credential: 'ha-token' },
  ]);
  const rssWith = await settle();
  const childRss = rssOf(manager.connection('box')?.pid ?? 0);

  const measure = async (name: string, args: Record<string, unknown>) => {
    const text = JSON.stringify(args);
    const times: number[] = [];
    for (let i = 0; i < RUNS + 20; i++) {
      const t0 = performance.now();
      const r = await executor.call({ callId: `c${i}`, name, arguments: text });
      const dt = performance.now() - t0;
      if (r.record.outcome !== 'ok') throw new Error(`${name}: ${r.output}`);
      if (i >= 20) times.push(dt);
    }
    times.sort((a, b) => a - b);
    return { p50: pct(times, 50), p95: pct(times, 95) };
  };
  const rows: Array<[string, { p50: number; p95: number }]> = [
    ['built-in get_local_time', await measure('get_local_time', {})],
    ['stdio MCP echo', await measure('box_echo', { text: 'hello' })],
    ['HTTP MCP GetDateTime (HA stand-in)', await measure('ha_GetDateTime', {})],
  ];
  const floor = rows[0]?.[1].p50 ?? 1;
  console.log(`tool call, arguments done -> output ready (${RUNS} calls each after 20 warm-up, node ${process.version})`);
  for (const [label, { p50, p95 }] of rows) {
    console.log(
      `  ${label.padEnd(38)} p50 ${p50.toFixed(3).padStart(8)} ms   p95 ${p95.toFixed(3).padStart(8)} ms   p50 ${(p50 / floor).toFixed(1)}x built-in`,
    );
  }
  console.log('RSS of this process');
  console.log(`  no MCP server          ${mb(rssWithout)} MB`);
  console.log(`  two MCP servers        ${mb(rssWith)} MB  (+${mb(rssWith - rssWithout)} MB; the HA stand-in runs in this process too)`);
  console.log(`  stdio server child     ${mb(childRss)} MB  (its own process: node + tsx + SDK)`);
  await manager.stop();
  if (WIRE_CALLS > 0) {
    const wire = await measureOnTheWire({ calls: WIRE_CALLS, stdioServer: STDIO_SERVER, haUrl: ha.url, tokenFile: join(dir, 'ha-token') });
    const wireFloor = wire.rows[0]?.p50 ?? 1;
    console.log(
      `on the wire, real daemon: function_call_arguments.done sent -> function_call_output received (simulator clock, ${WIRE_CALLS} turns each after 3 warm-up)`,
    );
    for (const r of wire.rows) {
      console.log(
        `  ${r.label.padEnd(38)} p50 ${r.p50.toFixed(1).padStart(8)} ms   p95 ${r.p95.toFixed(1).padStart(8)} ms   p50 ${(r.p50 / Math.max(wireFloor, 0.1)).toFixed(1)}x built-in`,
      );
    }
    console.log('daemon RSS (/proc/<pid>/status VmRSS, 2 s after settling)');
    console.log(`  no MCP server          ${wire.rssNoneMb.toFixed(1)} MB`);
    console.log(
      `  two MCP servers        ${wire.rssTwoMb.toFixed(1)} MB  (+${(wire.rssTwoMb - wire.rssNoneMb).toFixed(1)} MB; stdio box + HTTP HA stand-in, added by a hot reload)`,
    );
  }
} finally {
  await manager.stop();
  await builtins.stop();
  await ha.close();
  rmSync(dir, { recursive: true, force: true });
}
