/** `realtime-ptt mqtt-forget`: removes this device (mqtt.nodeId) from Home Assistant. */
import { PttError } from '../core/errors.js';
import { forgetDevice } from '../home/mqtt-forget.js';
import { resolveMqttSettings } from '../home/mqtt-settings.js';
import { CONFIG_OPTION, configPathFrom, loadConfigOrReport, parseCommandArgs, type CliCommand } from './command.js';

const USAGE = `usage: realtime-ptt mqtt-forget [--config FILE]

Removes this device from Home Assistant: empties its retained discovery config and state topics
on the broker of mqtt.url (as mqtt.nodeId). Stop the daemon first (or set mqtt.discovery: false),
or it announces the device again.

options:
  -c, --config FILE  the config file (default $REALTIME_PTT_CONFIG or /etc/realtime-ptt/config.yaml)
`;

export const command: CliCommand = {
  async run(argv) {
    const parsed = parseCommandArgs(argv, { usage: USAGE, options: { ...CONFIG_OPTION } });
    if (!parsed) return 0;
    const config = await loadConfigOrReport(configPathFrom(parsed.values));
    if (!config) return 78;
    const settings = resolveMqttSettings(config, process.env);
    if (settings instanceof PttError) throw settings;
    if (!settings) throw new PttError('MQTT_OFF', 'mqtt.url is not set: this device is not on a broker', { context: { key: 'mqtt.url' } });
    const topics = await forgetDevice(settings);
    process.stdout.write(`removed ${settings.nodeId} from Home Assistant (${topics.length} retained topics emptied on ${settings.url})\n`);
    return 0;
  },
};
