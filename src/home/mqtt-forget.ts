/**
 * `realtime-ptt mqtt-forget`: removes the device from Home Assistant by emptying its retained
 * discovery config and its retained state topics (an empty retained payload deletes them). It
 * connects under its own client id, so a running daemon is not thrown off the broker; that
 * daemon would announce itself again, so the command is meant for a device taken out of use.
 */
import { connectAsync } from 'mqtt';
import { toPttError } from '../core/errors.js';
import { describeConnectError } from './mqtt-bridge.js';
import type { MqttSettings } from './mqtt-settings.js';
import { deviceTopics, retainedTopics } from './mqtt-topics.js';

export async function forgetDevice(s: MqttSettings, timeoutMs = 10_000): Promise<string[]> {
  let client;
  try {
    client = await connectAsync(
      s.url,
      {
        clientId: `realtime-ptt-${s.nodeId}-forget-${process.pid}`,
        clean: true,
        reconnectPeriod: 0,
        connectTimeout: timeoutMs,
        ...(s.username !== undefined ? { username: s.username } : {}),
        ...(s.password !== undefined ? { password: s.password } : {}),
        ...(s.ca !== undefined ? { ca: s.ca } : {}),
      },
      false,
    );
  } catch (err) {
    throw describeConnectError(err, s);
  }
  try {
    const topics = retainedTopics(deviceTopics(s));
    await Promise.all(topics.map((topic) => client.publishAsync(topic, '', { retain: true, qos: 1 })));
    return topics;
  } catch (err) {
    throw toPttError(err, 'MQTT_FORGET_FAILED', { url: s.url });
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}
