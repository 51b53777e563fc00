/**
 * Everything the MQTT bridge needs, resolved from the config once: the node id (host name made
 * topic-safe when unset), the password (systemd credential `mqtt-password`, then
 * mqtt.passwordFile) and the CA file's contents. File problems are PttErrors naming the file.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { PttError } from '../core/errors.js';
import { registerSecret } from '../core/secrets.js';

export const MQTT_PASSWORD_CREDENTIAL = 'mqtt-password';

export interface MqttSettings {
  url: string;
  nodeId: string;
  username: string | undefined;
  password: string | undefined;
  /** PEM text of the CA (mqtts://). */
  ca: string | undefined;
  baseTopic: string;
  discovery: boolean;
  discoveryPrefix: string;
}

/** A host name as one topic level and a Home Assistant id: letters, digits, _ and - only. */
export function topicSafeId(name: string): string {
  const id = name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64);
  return id || 'realtime-ptt';
}

function readSecretFile(path: string, what: string, hint: string): string | PttError {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (!text) return new PttError('MQTT_FILE_EMPTY', `${what} ${path} is empty`, { context: { path }, hint });
    return text;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    return new PttError('MQTT_FILE_UNREADABLE', `${what} ${path} cannot be read (${code})`, { context: { path, errno: code }, hint });
  }
}

/** Undefined when MQTT is off (mqtt.url null). */
export function resolveMqttSettings(config: Config, env: NodeJS.ProcessEnv = process.env): MqttSettings | PttError | undefined {
  const m = config.mqtt;
  if (m.url === null) return undefined;
  let password: string | undefined;
  const credential = env.CREDENTIALS_DIRECTORY ? join(env.CREDENTIALS_DIRECTORY, MQTT_PASSWORD_CREDENTIAL) : undefined;
  let fromCredential: string | PttError | undefined;
  if (credential) {
    try {
      fromCredential = readFileSync(credential, 'utf8').trim() || undefined;
    } catch {
      fromCredential = undefined; // the credential is optional; the file below may hold it
    }
  }
  if (typeof fromCredential === 'string') password = fromCredential;
  else if (m.passwordFile !== null) {
    const p = readSecretFile(m.passwordFile, 'MQTT password file', 'fix mqtt.passwordFile or the file (one line: the password)');
    if (p instanceof PttError) return p;
    password = p;
  }
  registerSecret(password);
  let ca: string | undefined;
  if (m.caFile !== null) {
    const c = readSecretFile(m.caFile, 'MQTT CA file', 'mqtt.caFile must name a PEM certificate file');
    if (c instanceof PttError) return c;
    ca = c;
  }
  return {
    url: m.url,
    nodeId: m.nodeId ?? topicSafeId(hostname()),
    username: m.username ?? undefined,
    password,
    ca,
    baseTopic: m.baseTopic,
    discovery: m.discovery,
    discoveryPrefix: m.discoveryPrefix,
  };
}
