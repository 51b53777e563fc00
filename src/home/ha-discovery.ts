/**
 * Home Assistant device-based MQTT discovery: one retained message on
 * `<prefix>/device/<nodeId>/config` with the device (`dev`), the origin (`o`, required by HA for
 * device discovery) and its components (`cmps`, each with platform `p` and a `unique_id`).
 * Every entity sends a command line to the one command topic, so HA goes through the same
 * parser as the control socket and the CLI. An empty retained payload removes the device.
 */
import { MAX_TEXT_CHARS } from './commands.js';
import type { DeviceTopics } from './mqtt-topics.js';
import { HOOK_STATES } from '../config/schema.js';

export const PROJECT_URL = 'https://github.com/realtime-ptt/realtime-ptt';
/** Home Assistant refuses entity states longer than this. */
export const HA_STATE_MAX = 255;

export interface DiscoveryDevice {
  nodeId: string;
  /** Shown in HA; defaults to the node id. */
  name?: string;
  version: string;
}

export function discoveryPayload(device: DiscoveryDevice, t: DeviceTopics): Record<string, unknown> {
  const id = `realtime-ptt_${device.nodeId}`;
  const uid = (key: string) => `${id}_${key}`;
  return {
    dev: { ids: [id], name: device.name ?? device.nodeId, mf: 'realtime-ptt', mdl: 'Push-to-talk voice assistant', sw: device.version },
    o: { name: 'realtime-ptt', sw: device.version, url: PROJECT_URL },
    availability_topic: t.availability,
    payload_available: 'online',
    payload_not_available: 'offline',
    qos: 1,
    cmps: {
      state: {
        p: 'sensor',
        name: 'State',
        unique_id: uid('state'),
        state_topic: t.state,
        device_class: 'enum',
        options: [...HOOK_STATES],
        icon: 'mdi:account-voice',
      },
      last_question: {
        p: 'sensor',
        name: 'Last question',
        unique_id: uid('last_question'),
        state_topic: t.transcriptUser,
        icon: 'mdi:account-question',
      },
      last_answer: {
        p: 'sensor',
        name: 'Last answer',
        unique_id: uid('last_answer'),
        state_topic: t.transcriptAssistant,
        icon: 'mdi:robot',
      },
      stop: { p: 'button', name: 'Stop', unique_id: uid('stop'), command_topic: t.command, payload_press: 'stop', icon: 'mdi:stop' },
      talk: { p: 'button', name: 'Talk', unique_id: uid('talk'), command_topic: t.command, payload_press: 'talk', icon: 'mdi:microphone' },
      volume: {
        p: 'number',
        name: 'Volume',
        unique_id: uid('volume'),
        command_topic: t.command,
        command_template: 'volume {{ value }}',
        state_topic: t.volume,
        min: 0,
        max: 1,
        step: 0.05,
        mode: 'slider',
        icon: 'mdi:volume-high',
      },
      mute: {
        p: 'switch',
        name: 'Microphone muted',
        unique_id: uid('mute'),
        command_topic: t.command,
        state_topic: t.mute,
        payload_on: 'mute on',
        payload_off: 'mute off',
        state_on: 'on',
        state_off: 'off',
        icon: 'mdi:microphone-off',
      },
      say: {
        p: 'text',
        name: 'Say',
        unique_id: uid('say'),
        command_topic: t.command,
        command_template: 'say {{ value }}',
        min: 1,
        // HA's text entity holds at most 255 characters.
        max: Math.min(HA_STATE_MAX, MAX_TEXT_CHARS),
        icon: 'mdi:bullhorn',
      },
    },
  };
}
