export {
  schema,
  SECTION_DOCS,
  BUILTIN_VOICES,
  type Config,
  type ConfigSchema,
  type SessionProfile,
  type Voice,
  type FunctionTool,
  type HostedMcpTool,
  type SessionTool,
} from './schema.js';
export { APPLY_ORDER, valueAt, type ApplyAction } from './schema-kit.js';
export { loadConfig, parseConfig, readConfigText, validateRaw, type LoadResult, type Env, type ParseOptions } from './load.js';
export { formatProblems, FILE_KEY, type ConfigProblem } from './problems.js';
export { profileToSession, PCM_24K, type GaSession } from './session.js';
export { resolveApiKey, CREDENTIAL_NAME, type ApiKeyResult, type ApiKeySource } from './api-key.js';
export { redactConfig } from './redact-config.js';
export { diffConfig, actionsFor, actionFor, type ConfigChanges } from './diff.js';
export { ConfigWatcher, type ConfigWatcherEvents, type ConfigWatcherOptions } from './watcher.js';
export { renderExampleConfig } from './example.js';
export { planReload, type ReloadPlan, type ReloadStep, type ReloadStepKind } from './reload-plan.js';
export { MAIN_PROFILE, profileNames, resolveProfile, withProfile } from './profiles.js';
