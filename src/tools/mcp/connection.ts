/**
 * One configured MCP server: connects with the official SDK client (stdio child or Streamable
 * HTTP), lists its tools as function tools (allow/deny applied), runs calls with a timeout and an
 * abort signal, and when the server dies or cannot be reached reports why, drops its tools
 * (`tools` with an empty list) and retries with backoff until it is back.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Backoff } from '../../core/backoff.js';
import { PttError } from '../../core/errors.js';
import { isPlainObject } from '../../core/guards.js';
import { redact } from '../../core/secrets.js';
import { TypedEmitter } from '../../core/typed-emitter.js';
import { VERSION } from '../../core/version.js';
import { mcpFunctionName } from '../names.js';
import { type Tool, ToolTimeoutError } from '../types.js';
import { ChildTransport } from './child-transport.js';
import { contentToText } from './content.js';
import type { McpServerConfig } from './server-config.js';
import { readBearerToken } from './token.js';

export type McpState = 'idle' | 'connecting' | 'ready' | 'down' | 'stopped';

export type McpConnectionEvents = {
  state: [McpState];
  /** The server's current function tools; empty while it is down. */
  tools: [Tool[]];
  /** Unreachable, refused, crashed: always a PttError naming the server and the reason. */
  error: [PttError];
  /** A line the stdio child wrote to stderr. */
  stderr: [string];
};

export interface McpConnectionOptions {
  server: McpServerConfig;
  /** Default per-call timeout when the server has none of its own. */
  callTimeoutMs: number;
  connectTimeoutMs?: number;
  backoff?: { minMs: number; maxMs: number };
  env?: NodeJS.ProcessEnv;
}

export class McpConnection extends TypedEmitter<McpConnectionEvents> {
  readonly #o: McpConnectionOptions;
  readonly #backoff: Backoff;
  #state: McpState = 'idle';
  /** Read through a method: TypeScript narrows a field across awaits as if it could not change. */
  #stopped(): boolean {
    return this.#state === 'stopped';
  }
  #client: Client | undefined;
  #transport: Transport | undefined;
  #retry: NodeJS.Timeout | undefined;
  #tools: Tool[] = [];
  #lastError: PttError | undefined;

  constructor(options: McpConnectionOptions) {
    super();
    this.#o = options;
    this.#backoff = new Backoff(options.backoff ?? { minMs: 1_000, maxMs: 60_000 });
  }

  get name(): string {
    return this.#o.server.name;
  }
  get server(): McpServerConfig {
    return this.#o.server;
  }
  get state(): McpState {
    return this.#state;
  }
  get tools(): Tool[] {
    return this.#tools;
  }
  get lastError(): PttError | undefined {
    return this.#lastError;
  }
  /** The stdio child's pid while it runs (tests read its environment). */
  get pid(): number | undefined {
    return this.#transport instanceof ChildTransport ? this.#transport.pid : undefined;
  }

  /** Resolves after the first attempt, successful or not (a failure is retried in the background). */
  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    await this.#connect();
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#setState('stopped');
    clearTimeout(this.#retry);
    await this.#teardown();
    this.#setTools([]);
  }

  async #connect(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#setState('connecting');
    const server = this.#o.server;
    try {
      const transport = await this.#makeTransport();
      const client = new Client({ name: 'realtime-ptt', version: VERSION });
      this.#transport = transport;
      this.#client = client;
      client.onclose = () => {
        if (this.#client === client) this.#lost('the connection closed (the server exited or hung up)');
      };
      await client.connect(transport, { timeout: this.#o.connectTimeoutMs ?? 10_000 });
      if (this.#stopped()) return void (await this.#teardown());
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        void this.#list(client).catch((err: unknown) => this.#report(err, 'listing tools failed'));
      });
      await this.#list(client);
      this.#backoff.reset();
      this.#lastError = undefined;
      this.#setState('ready');
    } catch (err) {
      if (this.#stopped()) return;
      await this.#teardown();
      this.#report(err, `cannot connect to ${server.transport === 'http' ? server.url : server.command}`);
      this.#scheduleRetry();
    }
  }

  async #list(client: Client): Promise<void> {
    const listed: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { timeout: this.#o.connectTimeoutMs ?? 10_000 });
      for (const t of page.tools) {
        if (this.#allowed(t.name)) listed.push(this.#toTool(client, t));
      }
      cursor = page.nextCursor;
    } while (cursor);
    if (this.#client === client) this.#setTools(listed);
  }

  #allowed(name: string): boolean {
    const { allow, deny } = this.#o.server;
    if (deny?.includes(name)) return false;
    return allow === undefined || allow.includes(name);
  }

  #toTool(client: Client, t: { name: string; description?: string; inputSchema: Record<string, unknown> }): Tool {
    const server = this.#o.server;
    const timeout = server.timeoutMs ?? this.#o.callTimeoutMs;
    return {
      source: server.name,
      originalName: t.name,
      definition: {
        type: 'function',
        name: mcpFunctionName(server.name, t.name),
        description: t.description?.trim() || `${t.name} (from ${server.name})`,
        parameters: isPlainObject(t.inputSchema) ? t.inputSchema : { type: 'object', properties: {} },
      },
      run: async (args, { signal }) => {
        if (this.#client !== client) {
          throw new PttError('MCP_UNAVAILABLE', `MCP server ${server.name} is not connected`, { context: { server: server.name } });
        }
        const result = await client.callTool({ name: t.name, arguments: args }, undefined, { signal, timeout }).catch((err: unknown) => {
          throw err instanceof McpError && err.code === ErrorCode.RequestTimeout ? new ToolTimeoutError(timeout) : err;
        });
        return { text: contentToText(result as { content?: unknown }), isError: result.isError === true };
      },
    };
  }

  async #makeTransport(): Promise<Transport> {
    const s = this.#o.server;
    if (s.transport === 'stdio') {
      return new ChildTransport({
        command: s.command ?? '',
        args: s.args ?? [],
        env: s.env ?? {},
        onStderr: (line) => this.emit('stderr', redact(line)),
      });
    }
    const token = await readBearerToken(s, this.#o.env);
    const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
    return new StreamableHTTPClientTransport(new URL(s.url ?? ''), { requestInit: { headers } });
  }

  #lost(reason: string): void {
    if (this.#state === 'stopped' || this.#state === 'connecting') return;
    this.#client = undefined;
    this.#transport = undefined;
    this.#report(new Error(reason), 'lost');
    this.#scheduleRetry();
  }

  #report(err: unknown, doing: string): void {
    const s = this.#o.server;
    let reason = err instanceof Error ? err.message : String(err);
    let hint = s.transport === 'http' ? `check that ${s.url} is reachable from the device` : `check that ${s.command} runs on its own`;
    if (err instanceof PttError && err.code === 'MCP_TOKEN') {
      reason = err.message;
      hint = err.hint ?? hint;
    } else if (err instanceof StreamableHTTPError && (err.code === 401 || err.code === 403)) {
      reason = `the server refused the token (HTTP ${err.code})`;
      hint = 'check the token in tokenFile/credential (Home Assistant: a long-lived access token of a user)';
    } else if (/ENOENT/.test(reason) && s.transport === 'stdio') {
      reason = `command ${s.command} not found`;
    }
    const e = new PttError('MCP_UNAVAILABLE', `MCP server ${s.name}: ${doing}: ${redact(reason)}`, {
      context: { server: s.name, transport: s.transport },
      hint,
    });
    this.#lastError = e;
    this.#setTools([]);
    this.#setState('down');
    this.emit('error', e);
  }

  #scheduleRetry(): void {
    if (this.#state === 'stopped') return;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#connect(), this.#backoff.next());
  }

  async #teardown(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#transport = undefined;
    await client?.close().catch(() => {});
  }

  #setTools(tools: Tool[]): void {
    if (tools.length === 0 && this.#tools.length === 0) return;
    this.#tools = tools;
    this.emit('tools', tools);
  }

  #setState(s: McpState): void {
    if (s === this.#state) return;
    this.#state = s;
    this.emit('state', s);
  }
}
