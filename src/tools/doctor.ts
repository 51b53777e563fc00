/**
 * For `realtime-ptt doctor`: connect to each configured MCP server once, list its tools or say
 * why not. Nothing is retried and every child started here is stopped before it returns.
 */
import { toPttError } from '../core/errors.js';
import { McpConnection } from './mcp/connection.js';
import type { McpServerConfig } from './mcp/server-config.js';

export interface McpServerCheck {
  server: string;
  ok: boolean;
  /** Function names as the model sees them (after allow/deny). */
  tools: string[];
  /** One line: the tools, or what went wrong. */
  detail: string;
  /** How to fix what went wrong. */
  fix?: string;
}

export async function checkMcpServers(
  servers: readonly McpServerConfig[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<McpServerCheck[]> {
  return Promise.all(
    servers.map(async (server) => {
      const c = new McpConnection({
        server,
        callTimeoutMs: options.timeoutMs ?? 10_000,
        connectTimeoutMs: options.timeoutMs ?? 10_000,
        // A long first delay: doctor stops the connection before any retry happens.
        backoff: { minMs: 3_600_000, maxMs: 3_600_000 },
        ...(options.env ? { env: options.env } : {}),
      });
      c.on('error', () => {});
      try {
        await c.start();
        if (c.state !== 'ready') {
          const e = toPttError(c.lastError ?? 'did not connect');
          return { server: server.name, ok: false, tools: [], detail: e.message, ...(e.hint ? { fix: e.hint } : {}) };
        }
        const tools = c.tools.map((t) => t.definition.name);
        const detail = tools.length
          ? `${tools.length} tool(s): ${tools.join(', ')}`
          : 'connected, but no tools are allowed (check allow/deny)';
        return { server: server.name, ok: true, tools, detail };
      } finally {
        await c.stop();
      }
    }),
  );
}
