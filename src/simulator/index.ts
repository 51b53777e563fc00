/**
 * The local Realtime-protocol simulator: tests, the demo and the benchmarks talk to it.
 *
 *   const sim = new RealtimeSimulator({ replyMs: 300 });
 *   await sim.start();                       // ws://127.0.0.1:<port>/v1/realtime
 *   sim.setFaults((i) => (i === 0 ? { dropMidResponse: true } : {}));
 *   ... connect a client to sim.url ...
 *   sim.framesOf('input_audio_buffer.append'); sim.sentOf('session.updated');
 *   await sim.stop();
 */
export { RealtimeSimulator } from './server.js';
export type {
  AuthKind,
  CallOutput,
  ConnectionRecord,
  Deliberate,
  FaultPlan,
  RecordedFrame,
  SentFrame,
  SimulatorEvents,
  SimulatorOptions,
  Pace,
} from './types.js';
export { DEFAULT_PACE, parsePace } from './types.js';
export type { ScriptedCall } from './function-calls.js';
export { synthesizeReply } from './tone.js';
export { DEFAULT_INSTRUCTIONS } from './session-config.js';
