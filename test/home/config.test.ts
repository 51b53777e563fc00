import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';

function problem(yaml: string) {
  const r = parseConfig(yaml, {});
  if (r.ok) throw new Error(`expected a problem in: ${yaml}`);
  expect(r.problems).toHaveLength(1);
  return r.problems[0]!;
}

describe('config: mqtt, hooks and the mint endpoint', () => {
  it('everything is off by default', () => {
    const r = parseConfig('{}', {});
    if (!r.ok) throw new Error('invalid');
    expect(r.config.mqtt.url).toBeNull();
    expect(r.config.hooks.on).toEqual({});
    expect(r.config.realtime.mintUrl).toBeNull();
  });

  it.each([
    ['mqtt:\n  url: http://broker:1883', 'mqtt.url', 'has scheme http:, not mqtt: or mqtts:'],
    ['mqtt:\n  url: mqtt://kitchen:secret@broker', 'mqtt.url', 'must not carry a user or password'],
    ['mqtt:\n  nodeId: kitchen/main', 'mqtt.nodeId', 'must be 1-64 letters, digits, _ or - (no /, + or #)'],
    ['mqtt:\n  baseTopic: home/+/ptt', 'mqtt.baseTopic', 'must not contain +, # or NUL'],
    ['mqtt:\n  discoveryPrefix: homeassistant/', 'mqtt.discoveryPrefix', 'must not start or end with /'],
    ['mqtt:\n  passwordFile: mqtt-password', 'mqtt.passwordFile', 'must be an absolute path'],
    ['hooks:\n  on:\n    listening: [mpc, pause]', 'hooks.on', 'must be an absolute path'],
    ['hooks:\n  on:\n    asleep: [/usr/bin/true]', 'hooks.on', 'has unknown state asleep'],
    [
      'hooks:\n  on:\n    idle: "/usr/bin/mpc play"',
      'hooks.on',
      'idle must be a non-empty list of strings (program and arguments, no shell)',
    ],
    ['realtime:\n  mintUrl: http://mint.lan/v1/realtime/client_secrets', 'realtime.mintUrl', 'the device token would travel unencrypted'],
  ])('%j is refused at %s', (yaml, key, message) => {
    const p = problem(yaml);
    expect(p.key).toBe(key);
    expect(p.message).toContain(message);
  });

  it('accepts a full fleet device config', () => {
    const r = parseConfig(
      [
        'realtime:',
        '  bootstrap: client-secret',
        '  mintUrl: https://mint.lan:8443/v1/realtime/client_secrets',
        '  deviceTokenFile: /etc/realtime-ptt/device-token',
        'mqtt:',
        '  url: mqtts://broker.lan:8883',
        '  username: kitchen',
        '  passwordFile: /etc/realtime-ptt/mqtt-password',
        '  caFile: /etc/realtime-ptt/mqtt-ca.pem',
        'hooks:',
        '  on: {listening: [/usr/bin/mpc, pause], idle: [/usr/bin/mpc, play]}',
      ].join('\n'),
      {},
    );
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.hooks.on.idle).toEqual(['/usr/bin/mpc', 'play']);
  });
});
