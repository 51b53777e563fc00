/**
 * The schema sections of the home features (MQTT bridge, hooks): part of the one config schema
 * (schema.ts puts them in place), kept here so each file stays readable.
 */
import { checkHooks, checkMqttUrl, checkTopicPrefix, type HookState, TOPIC_ID } from './schema-checks.js';
import { applyAll, bool, custom, int, str } from './schema-kit.js';

export const mqttSection = applyAll('restart-home', {
  url: custom<string | null>({
    doc: 'MQTT broker, mqtt:// or mqtts:// (TLS); null is off. A broker that is down never blocks a conversation.',
    default: null,
    allowed: 'an mqtt:// or mqtts:// URL, or null',
    check: checkMqttUrl,
    kind: 'string',
    example: 'mqtts://broker.lan:8883',
    env: 'REALTIME_PTT_MQTT_URL',
  }),
  nodeId: custom<string | null>({
    doc: 'This device in topics and in Home Assistant; null is the host name (made topic-safe).',
    default: null,
    allowed: '1-64 letters, digits, _ or -, or null',
    check: (v) =>
      v === null || (typeof v === 'string' && TOPIC_ID.test(v)) ? undefined : 'must be 1-64 letters, digits, _ or - (no /, + or #)',
    kind: 'string',
    example: 'kitchen',
  }),
  username: str({
    doc: 'Broker user name; null connects without one.',
    default: null,
    nullable: true,
    nonEmpty: true,
    example: 'kitchen',
  }),
  passwordFile: str({
    doc: 'File holding the broker password (one line). Used when the systemd credential $CREDENTIALS_DIRECTORY/mqtt-password is absent.',
    default: null,
    nullable: true,
    absolutePath: true,
    example: '/etc/realtime-ptt/mqtt-password',
  }),
  caFile: str({
    doc: 'PEM file of the CA that signed the broker certificate (mqtts://); null trusts the system CAs.',
    default: null,
    nullable: true,
    absolutePath: true,
    example: '/etc/realtime-ptt/mqtt-ca.pem',
  }),
  baseTopic: custom<string>({
    doc: 'Topics are <baseTopic>/<nodeId>/...',
    default: 'realtime-ptt',
    allowed: 'topic levels separated by /, without + or #',
    check: checkTopicPrefix,
    kind: 'string',
  }),
  discovery: bool({ doc: 'Announce the device to Home Assistant (MQTT discovery).', default: true }),
  discoveryPrefix: custom<string>({
    doc: 'Home Assistant discovery prefix (its default is homeassistant).',
    default: 'homeassistant',
    allowed: 'topic levels separated by /, without + or #',
    check: checkTopicPrefix,
    kind: 'string',
  }),
});

export const hooksSection = applyAll('live', {
  on: custom<Partial<Record<HookState, string[]>>>({
    doc: 'A command (argv list, no shell) run when the device enters a state: idle, connecting, listening, thinking, speaking, error. It gets PATH and LC_ALL only, never the key.',
    default: {},
    allowed: 'a mapping of state to a non-empty list of strings (absolute program path first)',
    check: checkHooks,
    example: { listening: ['/usr/bin/mpc', 'pause'], idle: ['/usr/bin/mpc', 'play'] },
  }),
  timeoutMs: int({
    doc: 'A hook still running after this long is killed (its whole process group).',
    default: 5_000,
    min: 100,
    max: 600_000,
    unit: 'ms',
  }),
});
