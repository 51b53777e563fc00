/** The local Realtime-protocol simulator: tests, the demo and the benchmarks talk to it. */
export { RealtimeSimulator } from './server.js';
export type { AuthKind, ConnectionRecord, Deliberate, FaultPlan, RecordedFrame, SentFrame, SimulatorEvents, SimulatorOptions } from './types.js';
export { synthesizeReply } from './tone.js';
export { DEFAULT_INSTRUCTIONS } from './session-config.js';
