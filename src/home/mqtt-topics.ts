/** The topics of one device: `<baseTopic>/<nodeId>/...`, and its Home Assistant discovery topics. */
import type { MqttSettings } from './mqtt-settings.js';

export interface DeviceTopics {
  root: string;
  availability: string;
  state: string;
  transcriptUser: string;
  transcriptAssistant: string;
  turn: string;
  profile: string;
  timers: string;
  error: string;
  volume: string;
  mute: string;
  /** A command line: `say hello`, `volume 0.3` (what Home Assistant's entities send). */
  command: string;
  /** `<command>/<name>` with the argument as payload (scripts). */
  commandWildcard: string;
  discovery: string;
  haStatus: string;
}

/** Every retained topic of a device (discovery first, availability last): what forgetting it empties. */
export function retainedTopics(t: DeviceTopics): string[] {
  return [t.discovery, t.state, t.transcriptUser, t.transcriptAssistant, t.turn, t.profile, t.timers, t.volume, t.mute, t.availability];
}

export function deviceTopics(s: Pick<MqttSettings, 'baseTopic' | 'nodeId' | 'discoveryPrefix'>): DeviceTopics {
  const root = `${s.baseTopic}/${s.nodeId}`;
  return {
    root,
    availability: `${root}/availability`,
    state: `${root}/state`,
    transcriptUser: `${root}/transcript/user`,
    transcriptAssistant: `${root}/transcript/assistant`,
    turn: `${root}/turn`,
    profile: `${root}/profile`,
    timers: `${root}/timers`,
    error: `${root}/error`,
    volume: `${root}/volume`,
    mute: `${root}/mute`,
    command: `${root}/command`,
    commandWildcard: `${root}/command/+`,
    discovery: `${s.discoveryPrefix}/device/${s.nodeId}/config`,
    haStatus: `${s.discoveryPrefix}/status`,
  };
}
