/**
 * RealtimeSimulator: a local server speaking OpenAI's GA Realtime protocol on one port:
 * WebSocket sessions at /v1/realtime and client-secret minting at POST /v1/realtime/client_secrets.
 * It records every client frame and every frame it sends, for assertions.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Component } from '../core/component.js';
import { PttError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { registerSecret } from '../core/secrets.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { SimConnection, type ConnectionSettings } from './connection.js';
import { ClientSecretStore, credentialOf, type Credential, type MintedSecret } from './client-secrets.js';
import { DEFAULT_MODEL, defaultSession, SESSION_SECONDS, type Json } from './session-config.js';
import {
  type CallOutput,
  DEFAULT_PACE,
  paceFactor,
  type ConnectionRecord,
  type FaultPlan,
  type RecordedFrame,
  type SentFrame,
  type SimulatorEvents,
  type SimulatorOptions,
} from './types.js';
import { isPlainObject } from '../core/guards.js';
import type { McpApproval, ScriptedCall } from './function-calls.js';

export class RealtimeSimulator extends TypedEmitter<SimulatorEvents> implements Component {
  readonly name = 'simulator';
  readonly frames: RecordedFrame[] = [];
  readonly sent: SentFrame[] = [];
  readonly connections: ConnectionRecord[] = [];
  /** Every function_call_output received, in order. */
  readonly callOutputs: CallOutput[] = [];
  /** Every mcp_approval_response received, in order. */
  readonly approvals: McpApproval[] = [];
  #scriptedCalls: ScriptedCall[][];

  #http: Server | undefined;
  #wss: WebSocketServer | undefined;
  /** Stalled connections must not answer pings, which ws does per server. */
  #wssStalled: WebSocketServer | undefined;
  #sockets = new Set<Socket>();
  #live = new Map<number, { socket: WebSocket; conn: SimConnection | undefined }>();
  #faults: FaultPlan | ((connectionIndex: number) => FaultPlan);
  readonly #secrets = new ClientSecretStore();
  #startedAt = 0;
  #port = 0;
  readonly #logger: Logger;

  constructor(private readonly options: SimulatorOptions = {}) {
    super();
    this.#faults = options.faults ?? {};
    this.#scriptedCalls = (options.toolCalls ?? []).map((calls) => [...calls]);
    this.#logger = (options.logger ?? createLogger({ level: 'warn' })).child('simulator');
  }

  /** The next response (on any connection) calls these functions instead of speaking; queued in order. */
  queueToolCalls(calls: ScriptedCall[]): void {
    this.#scriptedCalls.push([...calls]);
  }

  get port(): number {
    if (!this.#http)
      throw new PttError('SIMULATOR_NOT_STARTED', 'the simulator has no port before start()', { hint: 'await simulator.start() first' });
    return this.#port;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  get url(): string {
    return `ws://${this.#hostForUrl()}:${this.port}/v1/realtime`;
  }

  get httpUrl(): string {
    return `http://${this.#hostForUrl()}:${this.port}/v1`;
  }

  #hostForUrl(): string {
    return this.host.includes(':') ? `[${this.host}]` : this.host;
  }

  /** Replaces the fault plan of connections opened from now on. */
  setFaults(plan: FaultPlan | ((connectionIndex: number) => FaultPlan)): void {
    this.#faults = plan;
  }

  /**
   * Closes a live connection from the server side now, with a close frame (code 1006: drop the
   * TCP connection instead). For tests that need a close at an exact point, not after a delay.
   * False when that connection is not open.
   */
  closeConnection(index: number, code: number, reason = ''): boolean {
    const live = this.#live.get(index);
    if (!live) return false;
    if (!live.conn) {
      // A stalled connection has no SimConnection; close its socket directly.
      this.connections[index]!.closedWith ??= { code, reason, by: 'server' };
      if (code === 1006) live.socket.terminate();
      else live.socket.close(code, reason);
      return true;
    }
    if (code === 1006) live.conn.terminate();
    else live.conn.close(code, reason);
    return true;
  }

  framesOf(type: string, connection?: number): RecordedFrame[] {
    return this.frames.filter((f) => f.type === type && (connection === undefined || f.connection === connection));
  }

  sentOf(type: string, connection?: number): SentFrame[] {
    return this.sent.filter((f) => f.type === type && (connection === undefined || f.connection === connection));
  }

  /** Resolves with the first frame (already received or still to come) that matches. */
  waitForFrame(predicate: (f: RecordedFrame) => boolean, timeoutMs = 5000): Promise<RecordedFrame> {
    const seen = this.frames.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const listener = (f: RecordedFrame) => {
        if (!predicate(f)) return;
        clearTimeout(timer);
        this.off('frame', listener);
        resolve(f);
      };
      const timer = setTimeout(() => {
        this.off('frame', listener);
        reject(
          new PttError('SIMULATOR_WAIT_TIMEOUT', `no matching client frame within ${timeoutMs} ms`, {
            context: { received: this.frames.map((f) => f.type) },
          }),
        );
      }, timeoutMs);
      this.on('frame', listener);
    });
  }

  async start(): Promise<void> {
    if (this.#http) return;
    const pace = this.options.pace;
    if (pace !== undefined && typeof pace === 'number' && !(pace > 0 && Number.isFinite(pace)))
      throw new PttError('SIMULATOR_BAD_PACE', `pace must be a positive multiple of real time, 'realtime' or 'instant', got ${pace}`, {
        context: { pace },
      });
    registerSecret(this.options.apiKey);
    this.#startedAt = Date.now();
    this.#wss = new WebSocketServer({ noServer: true });
    this.#wssStalled = new WebSocketServer({ noServer: true, autoPong: false });
    const http = createServer((req, res) => void this.#onHttp(req, res));
    http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#onUpgrade(req, socket, head));
    http.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          new PttError(
            'SIMULATOR_LISTEN_FAILED',
            `the simulator cannot listen on ${this.host}:${this.options.port ?? 0}: ${err.code ?? err.message}`,
            {
              context: { host: this.host, port: this.options.port ?? 0 },
              hint: err.code === 'EADDRINUSE' ? 'pick another --port, or 0 for a free one' : 'check --host names a local address',
            },
          ),
        );
      };
      http.once('error', onError);
      http.listen(this.options.port ?? 0, this.host, () => {
        http.off('error', onError);
        resolve();
      });
    });
    this.#http = http;
    this.#port = (http.address() as AddressInfo).port;
    this.#logger.info('simulator listening', { url: this.url });
  }

  async stop(): Promise<void> {
    const http = this.#http;
    if (!http) return;
    for (const { socket, conn } of this.#live.values()) {
      conn?.dispose();
      socket.terminate();
    }
    this.#live.clear();
    for (const s of this.#sockets) s.destroy();
    this.#wss?.close();
    this.#wssStalled?.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    this.#http = undefined;
  }

  /** A long-running simulator (the CLI, the demo) must not grow without bound. */
  #record<T>(list: T[], item: T): void {
    list.push(item);
    const max = this.options.maxRecordedFrames;
    if (max !== undefined && list.length > max) list.splice(0, list.length - max);
  }

  #now(): number {
    return Date.now() - this.#startedAt;
  }

  #planFor(index: number): FaultPlan {
    return typeof this.#faults === 'function' ? this.#faults(index) : this.#faults;
  }

  /** Which credential is acceptable: the API key (when one is set) or a live minted secret. */
  #authorize(cred: Credential): { ok: boolean; secret: MintedSecret | undefined } {
    const secret = cred.value ? this.#secrets.lookup(cred.value) : undefined;
    if (secret) {
      if (secret.expiresAtS * 1000 <= Date.now()) return { ok: false, secret: undefined };
      return { ok: true, secret };
    }
    if (this.options.apiKey === undefined) return { ok: true, secret: undefined };
    return { ok: cred.value === this.options.apiKey, secret: undefined };
  }

  // ---- WebSocket --------------------------------------------------------------------------

  #onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const cred = credentialOf(req, url);
    const { ok, secret } = this.#authorize(cred);
    const index = this.connections.length;
    url.searchParams.delete('api-key'); // the record and the logs never hold a key
    const record: ConnectionRecord = {
      index,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      auth: cred.kind,
      authMatched: ok,
      clientSecret: secret !== undefined,
      betaHeader: /realtime=v1/.test(String(req.headers['openai-beta'] ?? '')),
      openedAt: this.#now(),
    };
    this.connections.push(record);
    const plan = this.#planFor(index);
    const refuse = (status: number, message: string, code: string) => {
      record.rejectedWith = status;
      this.#logger.info('handshake refused', { connection: index, status, code });
      const body = JSON.stringify({ error: { message, type: 'invalid_request_error', code, param: null } });
      socket.end(
        `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Internal Server Error'}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      this.emit('connection', record);
    };
    if (!/\/realtime\/?$/.test(url.pathname)) return refuse(404, `Invalid URL (GET ${url.pathname})`, 'not_found');
    if (plan.rejectHandshake)
      return refuse(
        plan.rejectHandshake,
        plan.rejectHandshake === 500 ? 'The server had an error while processing your request.' : 'Incorrect API key provided.',
        plan.rejectHandshake === 500 ? 'server_error' : 'invalid_api_key',
      );
    if (!ok) {
      const message =
        cred.kind === 'none'
          ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
          : 'Incorrect API key provided.';
      return refuse(401, message, cred.kind === 'none' ? 'missing_api_key' : 'invalid_api_key');
    }
    const wss = plan.stall ? this.#wssStalled! : this.#wss!;
    wss.handleUpgrade(req, socket, head, (ws) => this.#onOpen(ws, record, plan, secret));
  }

  #onOpen(ws: WebSocket, record: ConnectionRecord, plan: FaultPlan, secret: MintedSecret | undefined): void {
    const index = record.index;
    this.#logger.info('client connected', {
      connection: index,
      path: record.path,
      auth: record.auth,
      clientSecret: record.clientSecret,
      ...record.query,
    });
    const live: { socket: WebSocket; conn: SimConnection | undefined } = { socket: ws, conn: undefined };
    this.#live.set(index, live);
    ws.on('message', (data, isBinary) => {
      const raw = isBinary ? `<binary ${(data as Buffer).length} bytes>` : data.toString();
      let event: Json | undefined;
      try {
        const parsed: unknown = JSON.parse(raw);
        event = isPlainObject(parsed) ? parsed : undefined;
      } catch {
        event = undefined;
      }
      const frame: RecordedFrame = {
        connection: index,
        at: this.#now(),
        type: typeof event?.type === 'string' ? event.type : '',
        event: event ?? {},
        raw,
      };
      this.#record(this.frames, frame);
      this.emit('frame', frame);
      live.conn?.handle(event);
    });
    ws.on('close', (code, reason) => {
      record.closedWith ??= { code, reason: reason.toString(), by: 'client' };
      live.conn?.dispose();
      this.#live.delete(index);
      this.#logger.info('client disconnected', { connection: index, code, reason: reason.toString() });
      this.emit('close', record);
    });
    ws.on('error', (err) => this.#logger.warn('socket error', { connection: index, error: err.message }));
    this.emit('connection', record);
    if (record.betaHeader && plan.refuseBetaHeader !== false) {
      record.closedWith = { code: 4000, reason: 'beta API shape is no longer supported', by: 'server' };
      ws.close(4000, 'beta API shape is no longer supported');
      return;
    }
    if (plan.stall) return;

    const model = record.query.model ?? record.query.deployment ?? DEFAULT_MODEL;
    // expiresInS may be fractional in tests; expires_at is whole seconds, as on the wire.
    const fresh = defaultSession({ model, expiresAt: Math.floor(Date.now() / 1000 + (plan.expiresInS ?? SESSION_SECONDS)) });
    const session = secret ? { ...secret.session, id: fresh.id, expires_at: fresh.expires_at } : fresh;
    const conn = new SimConnection({
      socket: ws,
      index,
      plan,
      settings: this.#settings(),
      session,
      logger: this.#logger,
      onSent: (event, raw, deliberate) => {
        const frame: SentFrame = {
          connection: index,
          at: this.#now(),
          type: typeof event.type === 'string' ? event.type : '',
          event,
          raw,
          ...(deliberate ? { deliberate } : {}),
        };
        this.#record(this.sent, frame);
        this.emit('sent', frame);
      },
      // Recorded before the client's echo arrives, so closedWith says who ended it.
      onServerClose: (code, reason) => void (record.closedWith ??= { code, reason, by: 'server' }),
    });
    live.conn = conn;
    conn.start();
  }

  #settings(): ConnectionSettings {
    return {
      replyMs: this.options.replyMs ?? 1500,
      replyText: this.options.replyText ?? ((turn) => `This is simulated reply number ${turn}. The local simulator is speaking.`),
      deltaMs: this.options.deltaMs ?? 100,
      paceFactor: paceFactor(this.options.pace ?? DEFAULT_PACE),
      nextCalls: () => this.#scriptedCalls.shift(),
      onApproval: (approval) => void this.approvals.push(approval),
      onCallOutput: (output) => {
        this.callOutputs.push(output);
        this.emit('callOutput', output);
      },
    };
  }

  async #onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { status, body } = await this.#secrets.handle(req, this.options.apiKey, this.#logger);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
  }
}
