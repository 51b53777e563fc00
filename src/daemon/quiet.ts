/** When a turn is in progress: a restart or a profile switch waits for it rather than cut someone off. */
import type { Conductor } from './conductor.js';
import type { ConductorState } from './ports.js';

export function isBusy(state: ConductorState | undefined): boolean {
  return state === 'listening' || state === 'thinking' || state === 'speaking';
}

/** Resolves when no turn is in progress (or after limitMs). Hands-free listening is not a turn. */
export async function whenQuiet(conductor: Conductor | undefined, limitMs: number): Promise<void> {
  if (!conductor || !isBusy(conductor.state) || (conductor.handsFree && conductor.state === 'listening')) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, limitMs);
    function done(): void {
      clearTimeout(timer);
      conductor!.off('state', onState);
      resolve();
    }
    const onState = (s: ConductorState) => {
      if (!isBusy(s)) done();
    };
    conductor.on('state', onState);
  });
}
