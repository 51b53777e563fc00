/**
 * The device on an MQTT broker: availability (retained `online`, Last Will `offline`), state,
 * transcripts, turn timings, the verified profile, timers and errors out; command lines in,
 * through the same parser as the control socket and the CLI. Home Assistant discovery is sent
 * on connect and again whenever HA says `online` on its status topic.
 *
 * A broker that is down never blocks the caller: publish* only records the value (retained
 * topics keep their latest value, events go into a bounded queue) and writes it when connected;
 * every (re)connect re-publishes the latest values. Reconnects use core/backoff with a fresh
 * client per attempt (MQTT.js's own fixed reconnectPeriod is off).
 *
 * `connect()` with our own settle logic rather than `connectAsync`: we hold the client from the
 * first moment, so stop() can end an attempt that is still connecting, and the client keeps an
 * 'error' listener for its whole life (connectAsync removes its own when it settles).
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Component } from '../core/component.js';
import { Backoff } from '../core/backoff.js';
import { PttError, toPttError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { redact } from '../core/secrets.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { VERSION } from '../core/version.js';
import { dispatchCommand, formatCommand, parseCommand, parseCommandLine, type DeviceCommand, type DeviceCommands } from './commands.js';
import { discoveryPayload, HA_STATE_MAX } from './ha-discovery.js';
import type { MqttSettings } from './mqtt-settings.js';
import { deviceTopics, retainedTopics, type DeviceTopics } from './mqtt-topics.js';
import type { HookState } from '../config/schema.js';

export type DeviceState = HookState;

export interface ProfileSummary {
  profile: string;
  model: string;
  voice: string;
}

export interface MqttBridgeOptions {
  settings: MqttSettings;
  commands: DeviceCommands;
  logger: Logger;
  /** Name shown in Home Assistant (default: the node id). */
  deviceName?: string;
  reconnect?: { minMs: number; maxMs: number };
  connectTimeoutMs?: number;
  keepaliveS?: number;
  /** Events (errors) kept while disconnected; the oldest go first. */
  maxQueued?: number;
}

export type MqttBridgeEvents = {
  connected: [];
  disconnected: [];
  /** A connection problem (PttError with a stable code). */
  error: [PttError];
  /** A command from MQTT that was valid and handed to the handler. */
  command: [DeviceCommand];
  /** A command payload that was refused (also published on the error topic). */
  rejected: [PttError];
  listenerError: [unknown, string];
};

type Message = { payload: string; retain: boolean; qos: 0 | 1 };

/** Unsent bytes we let the socket hold before skipping writes. */
const MAX_BUFFERED_BYTES = 1 << 20;
/** A command line is at most a `say` text; anything far larger is refused unread. */
const MAX_COMMAND_BYTES = 16 * 1024;

export class MqttBridge extends TypedEmitter<MqttBridgeEvents> implements Component {
  readonly name = 'mqtt';
  readonly topics: DeviceTopics;
  readonly #o: MqttBridgeOptions;
  readonly #log: Logger;
  /** Latest value of every retained topic, re-published on each connect. */
  readonly #latest = new Map<string, Message>();
  readonly #queue: Array<{ topic: string } & Message> = [];
  #dropped = 0;
  #client: MqttClient | undefined;
  /** A client still connecting (ended by stop()). */
  #connecting: MqttClient | undefined;
  #backoff: Backoff;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #lastErrorCode: string | undefined;

  constructor(options: MqttBridgeOptions) {
    super();
    this.#o = options;
    this.#log = options.logger.child('mqtt');
    this.topics = deviceTopics(options.settings);
    this.#backoff = new Backoff(options.reconnect ?? { minMs: 1_000, maxMs: 60_000 });
  }

  get connected(): boolean {
    return this.#client?.connected === true;
  }

  /** Starts connecting and returns at once: the daemon never waits for a broker. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    void this.#attempt();
  }

  /** Publishes `offline` (a clean stop does not fire the Will) and disconnects. */
  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pending = this.#connecting;
    this.#connecting = undefined;
    if (pending) await pending.endAsync(true).catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    if (client.connected) {
      await Promise.race([
        client.publishAsync(this.topics.availability, 'offline', { retain: true, qos: 1 }).catch(() => undefined),
        new Promise((r) => setTimeout(r, 1_000)),
      ]);
    }
    await client.endAsync(true).catch(() => undefined);
  }

  publishState(state: DeviceState): void {
    this.#set(this.topics.state, state);
  }

  publishTranscript(role: 'user' | 'assistant', text: string): void {
    // The sensor topics are what HA shows (at most 255 characters); the full text is on `turn`.
    this.#set(role === 'user' ? this.topics.transcriptUser : this.topics.transcriptAssistant, clipText(text, HA_STATE_MAX));
  }

  /** The last turn: timings in ms plus anything the daemon wants to add (full texts). */
  publishTurn(turn: Record<string, unknown>): void {
    this.#set(this.topics.turn, JSON.stringify(turn));
  }

  publishProfile(summary: ProfileSummary): void {
    this.#set(this.topics.profile, JSON.stringify(summary));
  }

  publishTimers(timers: unknown[]): void {
    this.#set(this.topics.timers, JSON.stringify(timers));
  }

  publishVolume(level: number): void {
    this.#set(this.topics.volume, String(level));
  }

  publishMute(on: boolean): void {
    this.#set(this.topics.mute, on ? 'on' : 'off');
  }

  /** An error event (not retained): queued while disconnected, the oldest dropped past the bound. */
  publishError(err: unknown): void {
    const e = toPttError(err);
    // Like a log line: an error's text or context must not carry a secret to the broker.
    const payload = redact(
      JSON.stringify({
        code: e.code,
        message: e.message,
        ...(e.hint ? { hint: e.hint } : {}),
        ...e.context,
        at: new Date().toISOString(),
      }),
    );
    this.#send({ topic: this.topics.error, payload, retain: false, qos: 0 });
  }

  /** Removes the device from Home Assistant and clears this device's retained topics. */
  async forget(): Promise<void> {
    const client = this.#client;
    if (!client?.connected) {
      throw new PttError('MQTT_NOT_CONNECTED', 'cannot remove the device from Home Assistant: not connected to the broker', {
        context: { url: this.#o.settings.url },
        hint: 'check mqtt.url, the broker and the credentials',
      });
    }
    this.#latest.clear();
    const empty = { retain: true, qos: 1 } as const;
    await Promise.all(retainedTopics(this.topics).map((topic) => client.publishAsync(topic, '', empty)));
  }

  // ---- internals ------------------------------------------------------------------------

  #set(topic: string, payload: string): void {
    const m: Message = { payload, retain: true, qos: 0 };
    this.#latest.set(topic, m);
    if (this.connected) this.#write(topic, m);
  }

  #send(m: { topic: string } & Message): void {
    if (this.connected) return this.#write(m.topic, m);
    this.#queue.push(m);
    const max = this.#o.maxQueued ?? 50;
    while (this.#queue.length > max) {
      this.#queue.shift();
      this.#dropped += 1;
    }
  }

  #write(topic: string, m: Message): void {
    const client = this.#client;
    if (!client) return;
    // A broker that stopped reading (but did not drop us yet) must not grow our memory: past
    // the bound, writes are skipped; retained values go out again on the next connect.
    if ((client.stream?.writableLength ?? 0) > MAX_BUFFERED_BYTES) {
      this.#dropped += 1;
      return;
    }
    // Fire and forget: a failure is logged, never waited for.
    client.publish(topic, m.payload, { retain: m.retain, qos: m.qos }, (err) => {
      if (err) this.#log.debug('publish failed', { topic, error: err.message });
    });
  }

  #options(): IClientOptions {
    const s = this.#o.settings;
    return {
      clientId: `realtime-ptt-${s.nodeId}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: this.#o.connectTimeoutMs ?? 10_000,
      keepalive: this.#o.keepaliveS ?? 30,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.password !== undefined ? { password: s.password } : {}),
      ...(s.ca !== undefined ? { ca: s.ca } : {}),
      will: { topic: this.topics.availability, payload: Buffer.from('offline'), retain: true, qos: 1 },
    };
  }

  async #attempt(): Promise<void> {
    this.#timer = undefined;
    if (!this.#running) return;
    const client = connect(this.#o.settings.url, this.#options());
    this.#connecting = client;
    const failure = await new Promise<unknown>((resolve) => {
      let settled = false;
      const settle = (value: unknown) => {
        if (settled) return;
        settled = true;
        resolve(value);
      };
      // The first error ends the attempt: a refused login (CONNACK) does not close the socket
      // by itself, and a socket or TLS error comes before its close with the better message.
      client.on('error', (err) => settle(err));
      client.once('connect', () => settle(undefined));
      client.once('close', () => settle(new Error('the connection closed before the broker answered')));
    });
    if (this.#connecting !== client) return; // stop() ended it
    this.#connecting = undefined;
    if (failure !== undefined) {
      client.end(true);
      this.#failed(describeConnectError(failure, this.#o.settings));
      return;
    }
    this.#client = client;
    this.#backoff.reset();
    this.#lastErrorCode = undefined;
    client.on('error', (err) => this.#log.debug('broker connection error', { error: err.message }));
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    client.once('close', () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      client.end(true);
      this.#log.warn('lost the broker; reconnecting', { url: this.#o.settings.url });
      this.emit('disconnected');
      this.#schedule();
    });
    const t = this.topics;
    client.subscribe([t.command, t.commandWildcard, ...(this.#o.settings.discovery ? [t.haStatus] : [])], { qos: 1 }, (err) => {
      if (err) this.#log.warn('subscribing to the command topics failed', { error: err.message });
    });
    this.#write(t.availability, { payload: 'online', retain: true, qos: 1 });
    if (this.#o.settings.discovery) this.#sendDiscovery();
    for (const [topic, m] of this.#latest) this.#write(topic, m);
    if (this.#dropped) this.#log.warn('errors dropped while the broker was away', { dropped: this.#dropped });
    this.#dropped = 0;
    for (const m of this.#queue.splice(0)) this.#write(m.topic, m);
    this.#log.info('connected to the broker', { url: this.#o.settings.url, root: t.root });
    this.emit('connected');
  }

  #failed(error: PttError): void {
    // The same failure every minute is one warning, then debug lines.
    if (error.code !== this.#lastErrorCode) this.#log.warn(error.message, { error });
    else this.#log.debug(error.message, { code: error.code });
    this.#lastErrorCode = error.code;
    this.emit('error', error);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#running || this.#timer) return;
    const delay = this.#backoff.next();
    this.#timer = setTimeout(() => void this.#attempt(), delay);
    this.#timer.unref();
  }

  #sendDiscovery(): void {
    const payload = discoveryPayload(
      { nodeId: this.#o.settings.nodeId, version: VERSION, ...(this.#o.deviceName ? { name: this.#o.deviceName } : {}) },
      this.topics,
    );
    this.#write(this.topics.discovery, { payload: JSON.stringify(payload), retain: true, qos: 1 });
  }

  #onMessage(topic: string, raw: Buffer): void {
    const t = this.topics;
    if (raw.length > MAX_COMMAND_BYTES && topic !== t.haStatus) {
      this.#reject(
        new PttError('COMMAND_TOO_LONG', `command payload is ${raw.length} bytes, over the limit of ${MAX_COMMAND_BYTES}`, {
          context: { command: null, value: null, allowed: `at most ${MAX_COMMAND_BYTES} bytes` },
        }),
        topic,
      );
      return;
    }
    const payload = raw.toString('utf8');
    if (topic === t.haStatus) {
      // HA restarted: it forgets non-retained discovery, so announce again.
      if (payload.trim() === 'online' && this.#o.settings.discovery) {
        this.#log.debug('Home Assistant is online; re-sending discovery');
        this.#sendDiscovery();
        this.#write(t.availability, { payload: 'online', retain: true, qos: 1 });
      }
      return;
    }
    let parsed: DeviceCommand | PttError;
    if (topic === t.command) parsed = parseCommandLine(payload);
    else if (topic.startsWith(`${t.command}/`)) parsed = parseCommand(topic.slice(t.command.length + 1), payload, { lenient: true });
    else return;
    if (parsed instanceof PttError) {
      this.#reject(parsed, topic);
      return;
    }
    const command = parsed;
    this.#log.info('command from MQTT', { command: formatCommand(command).slice(0, 80) });
    this.emit('command', command);
    Promise.resolve()
      .then(() => dispatchCommand(command, this.#o.commands))
      .then(
        () => {
          if (command.name === 'volume') this.publishVolume(command.level);
          if (command.name === 'mute') this.publishMute(command.on);
        },
        (err: unknown) => this.#reject(toPttError(err, 'COMMAND_FAILED', { command: command.name }), topic),
      );
  }

  #reject(error: PttError, topic: string): void {
    this.#log.warn(`refused an MQTT command: ${error.message}`, { topic, error });
    this.publishError(error);
    this.emit('rejected', error);
  }
}

function clipText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A connect failure as a PttError that says what to fix. */
export function describeConnectError(err: unknown, s: MqttSettings): PttError {
  const e = err as { code?: unknown; message?: string };
  const context = { url: s.url, username: s.username ?? null };
  // MQTT 3.1.1 CONNACK 4/5, MQTT 5 reason codes 134/135.
  if (e.code === 4 || e.code === 5 || e.code === 134 || e.code === 135) {
    return new PttError(
      'MQTT_AUTH_REFUSED',
      `the broker ${s.url} refused the login${s.username ? ` of user ${s.username}` : ''}: ${e.message ?? 'not authorized'}`,
      {
        context: { ...context, reason: e.code },
        hint: 'check mqtt.username and the password (systemd credential mqtt-password or mqtt.passwordFile)',
      },
    );
  }
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (/CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL/.test(code) || /certificate/i.test(e.message ?? ''))) {
    return new PttError('MQTT_TLS_FAILED', `TLS to ${s.url} failed: ${e.message ?? code}`, {
      context: { ...context, errno: code },
      hint: 'mqtt.caFile must be the CA that signed the broker certificate, and the URL host must match the certificate',
    });
  }
  return new PttError('MQTT_UNREACHABLE', `cannot connect to the broker ${s.url}: ${e.message ?? String(err)}`, {
    context: { ...context, ...(code ? { errno: code } : {}) },
    hint: 'check mqtt.url and that the broker runs; the device keeps working and retries',
  });
}
