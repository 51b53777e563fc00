/** An observer on the broker (what Home Assistant or mosquitto_sub sees) and a recording handler. */
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import type { DeviceCommands } from '../../src/home/commands.js';
import type { MqttSettings } from '../../src/home/mqtt-settings.js';
import type { Broker } from '../support/mosquitto.js';

export interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

export class Observer {
  readonly seen: Seen[] = [];
  #waiters: Array<() => void> = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.seen.push({ topic, payload: payload.toString('utf8'), retain: packet.retain });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async connect(broker: Broker, options: IClientOptions = {}, topics: string[] = ['#']): Promise<Observer> {
    const client = await connectAsync(broker.url, { reconnectPeriod: 0, ...options }, false);
    const o = new Observer(client);
    if (topics.length) await client.subscribeAsync(topics, { qos: 1 });
    return o;
  }

  /** Resolves with the first message (seen from `from` on) that matches. */
  async waitFor(match: (m: Seen) => boolean, what: string, from = 0, timeoutMs = 10_000): Promise<Seen> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.seen.slice(from).find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; seen: ${JSON.stringify(this.seen.slice(-10))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async publish(topic: string, payload: string, retain = false): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export function recordingCommands(): DeviceCommands & { calls: string[]; next(): Promise<string> } {
  const calls: string[] = [];
  let wake: (() => void) | undefined;
  const push = (c: string) => {
    calls.push(c);
    wake?.();
  };
  let read = 0;
  return {
    calls,
    say: (t) => push(`say:${t}`),
    ask: (t) => push(`ask:${t}`),
    stop: () => push('stop'),
    setVolume: (l) => push(`volume:${l}`),
    setMute: (on) => push(`mute:${on}`),
    talk: () => push('talk'),
    switchProfile: (name) => push(`profile:${name}`),
    forget: () => push('forget'),
    async next() {
      while (calls.length <= read) await new Promise<void>((r) => (wake = r));
      return calls[read++]!;
    },
  };
}

export function settingsFor(broker: Broker, over: Partial<MqttSettings> = {}): MqttSettings {
  return {
    url: broker.url,
    nodeId: 'kitchen',
    username: undefined,
    password: undefined,
    ca: undefined,
    baseTopic: 'realtime-ptt',
    discovery: true,
    discoveryPrefix: 'homeassistant',
    ...over,
  };
}
