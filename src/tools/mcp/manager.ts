/**
 * The set of MCP servers from `tools.mcpServers`. `apply` brings the running set in line with a
 * config (at start and on every hot reload): new servers start, removed ones stop, an edited one
 * restarts, an unchanged one is left alone. Each server's tools go into the registry under the
 * server's name, so a server that goes down takes its tools out of the profile until it is back.
 */
import type { PttError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import type { ToolRegistry } from '../registry.js';
import { McpConnection, type McpState } from './connection.js';
import type { McpServerConfig } from './server-config.js';

export type McpManagerEvents = {
  serverError: [PttError];
  serverState: [name: string, state: McpState];
};

export interface McpManagerOptions {
  registry: ToolRegistry;
  callTimeoutMs: number;
  connectTimeoutMs?: number;
  backoff?: { minMs: number; maxMs: number };
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

export class McpManager extends TypedEmitter<McpManagerEvents> {
  readonly name = 'mcp';
  readonly #o: McpManagerOptions;
  readonly #running = new Map<string, { config: string; connection: McpConnection }>();

  constructor(options: McpManagerOptions) {
    super();
    this.#o = options;
  }

  get connections(): McpConnection[] {
    return [...this.#running.values()].map((r) => r.connection);
  }

  connection(name: string): McpConnection | undefined {
    return this.#running.get(name)?.connection;
  }

  /** Resolves after every new server had its first connection attempt. */
  async apply(servers: readonly McpServerConfig[], callTimeoutMs = this.#o.callTimeoutMs): Promise<void> {
    const wanted = new Map(servers.map((s) => [s.name, JSON.stringify([s, callTimeoutMs])]));
    const stops: Promise<void>[] = [];
    for (const [name, r] of this.#running) {
      if (wanted.get(name) !== r.config) {
        this.#running.delete(name);
        stops.push(this.#stopOne(name, r.connection));
      }
    }
    await Promise.all(stops);
    const starts: Promise<void>[] = [];
    for (const s of servers) {
      if (this.#running.has(s.name)) continue;
      const connection = this.#connectionFor(s, callTimeoutMs);
      this.#running.set(s.name, { config: wanted.get(s.name) ?? '', connection });
      starts.push(connection.start());
    }
    await Promise.all(starts);
  }

  async stop(): Promise<void> {
    const all = [...this.#running];
    this.#running.clear();
    await Promise.all(all.map(([name, r]) => this.#stopOne(name, r.connection)));
  }

  #connectionFor(server: McpServerConfig, callTimeoutMs: number): McpConnection {
    const c = new McpConnection({
      server,
      callTimeoutMs,
      ...(this.#o.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.#o.connectTimeoutMs }),
      ...(this.#o.backoff ? { backoff: this.#o.backoff } : {}),
      ...(this.#o.env ? { env: this.#o.env } : {}),
    });
    const log = this.#o.logger?.child(`mcp:${server.name}`);
    c.on('tools', (tools) => {
      log?.info('tools', { count: tools.length, names: tools.map((t) => t.definition.name) });
      this.#o.registry.setSource(server.name, tools);
    });
    c.on('error', (err) => {
      log?.warn('server unavailable', { error: err });
      this.emit('serverError', err);
    });
    c.on('state', (state) => this.emit('serverState', server.name, state));
    c.on('stderr', (line) => log?.debug('stderr', { line }));
    return c;
  }

  async #stopOne(name: string, connection: McpConnection): Promise<void> {
    await connection.stop();
    connection.removeAllListeners();
    this.#o.registry.removeSource(name);
  }
}
