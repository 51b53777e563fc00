/**
 * The profile switch as a tool ("talk to the kids' assistant"): the same switch as the control
 * socket's `profile NAME`, owned by the daemon. The call answers at once: the daemon applies a
 * switch after the answer in progress, and this very answer is that answer.
 */
import type { Tool } from '../types.js';

export interface ProfileControl {
  names(): string[];
  active(): string;
  /** Asks for the switch; it is applied when the answer in progress has ended. */
  switchTo(name: string): void;
}

export function profileTool(control: ProfileControl): Tool {
  return {
    source: 'builtin',
    originalName: 'switch_profile',
    definition: {
      type: 'function',
      name: 'switch_profile',
      description: `Switch the assistant to another profile (persona with its own voice and rules) when the person asks for it. Profiles: ${control.names().join(', ')}. The switch happens right after this answer.`,
      parameters: {
        type: 'object',
        properties: { profile: { type: 'string', description: 'The name of the profile.' } },
        required: ['profile'],
        additionalProperties: false,
      },
    },
    async run(args) {
      const name = String(args.profile);
      const names = control.names();
      if (!names.includes(name)) return { text: JSON.stringify({ error: `no profile "${name}"`, profiles: names }), isError: true };
      if (name === control.active()) return { text: JSON.stringify({ profile: name, switched: false, note: 'already active' }) };
      control.switchTo(name);
      return { text: JSON.stringify({ profile: name, switched: true, note: 'applied after this answer' }) };
    },
  };
}
