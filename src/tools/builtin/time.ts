/** The local date and time in the Pi's time zone (the model has no clock of its own). */
import type { Tool } from '../types.js';

export function timeTool(now: () => Date = () => new Date()): Tool {
  return {
    source: 'builtin',
    originalName: 'get_local_time',
    definition: {
      type: 'function',
      name: 'get_local_time',
      description:
        "The current local date, time, weekday and time zone of the device. Use it for any question about today's date or the time.",
      parameters: { type: 'object', properties: {}, additionalProperties: false },
    },
    async run() {
      const d = now();
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const date = d.toLocaleDateString('en-CA', { timeZone: zone }); // YYYY-MM-DD
      const time = d.toLocaleTimeString('en-GB', { timeZone: zone, hour12: false });
      const weekday = d.toLocaleDateString('en-US', { timeZone: zone, weekday: 'long' });
      return { text: JSON.stringify({ date, time, weekday, timeZone: zone, iso: d.toISOString() }) };
    },
  };
}
