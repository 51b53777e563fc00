/**
 * The tools layer as one daemon part: the registry, the executor, the built-ins (timers and
 * volume keep their state in the state directory) and the MCP servers of `tools.mcpServers`.
 * It starts before the session (so the first profile already carries the tools), follows hot
 * reloads (`applyConfig`), and stops every MCP child with it. `toolsChanged` tells the daemon
 * the definitions changed (a server went down or came back) so the profile is re-applied.
 */
import type { Component } from '../core/component.js';
import type { Logger } from '../core/logger.js';
import { resolveStateDir } from '../core/state-file.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import type { Config } from '../config/index.js';
import type { GaSession } from '../config/index.js';
import { createBuiltins, type Builtins } from '../tools/builtins.js';
import type { Timer } from '../tools/builtin/timers.js';
import type { VolumeControl } from '../tools/builtin/volume.js';
import { ToolExecutor } from '../tools/executor.js';
import { McpManager } from '../tools/mcp/manager.js';
import { ToolRegistry } from '../tools/registry.js';
import type { ProfileControl } from '../tools/builtin/profile.js';
import type { ConfirmHook, FunctionDefinition } from '../tools/types.js';

export type DaemonToolsEvents = {
  /** The function definitions offered to the model changed. */
  toolsChanged: [];
  /** A timer or alarm went off; `late` when it expired while the daemon was not running. */
  timerFired: [timer: Timer, info: { late: boolean }];
  /** The pending timers changed (for MQTT). */
  timersChanged: [timers: Timer[]];
};

export interface DaemonToolsOptions {
  config: Config;
  logger: Logger;
  /** The speaker's gain (the daemon's audio part); without it the volume tools are left out. */
  volume?: VolumeControl;
  /** The daemon's profile switch, for the switch_profile tool. */
  profiles?: ProfileControl;
  /** Asked before a tool of `tools.confirm` runs (the conductor's button). */
  confirm?: ConfirmHook;
  env?: NodeJS.ProcessEnv;
}

export class DaemonTools extends TypedEmitter<DaemonToolsEvents> implements Component {
  readonly name = 'tools';
  readonly registry: ToolRegistry;
  readonly #o: DaemonToolsOptions;
  readonly #log: Logger;
  #config: Config;
  #confirm: ConfirmHook | undefined;
  #executor: ToolExecutor | undefined;
  #builtins: Builtins | undefined;
  #mcp: McpManager | undefined;

  constructor(options: DaemonToolsOptions) {
    super();
    this.#o = options;
    this.#config = options.config;
    this.#confirm = options.confirm;
    this.#log = options.logger.child('tools');
    this.registry = new ToolRegistry({ confirm: options.config.tools.confirm });
  }

  get executor(): ToolExecutor {
    if (!this.#executor) this.#executor = this.#buildExecutor();
    return this.#executor;
  }

  get timers() {
    return this.#builtins?.timers;
  }

  /** The confirmation hook, set once the conductor exists. */
  setConfirm(hook: ConfirmHook): void {
    this.#confirm = hook;
    this.#executor = this.#buildExecutor();
  }

  async start(): Promise<void> {
    this.registry.on('toolRejected', (error) => this.#log.warn('tool left out', { error }));
    this.registry.on('toolsChanged', (names) => {
      this.#log.info('tools offered to the model', { count: names.length, names });
      this.emit('toolsChanged');
    });
    await this.#startBuiltins(this.#config);
    this.#mcp = new McpManager({
      registry: this.registry,
      callTimeoutMs: this.#config.tools.callTimeoutMs,
      logger: this.#o.logger,
      ...(this.#o.env ? { env: this.#o.env } : {}),
    });
    this.#mcp.on('serverState', (name, state) => this.#log.info('MCP server', { server: name, state }));
    await this.#mcp.apply(this.#config.tools.mcpServers);
  }

  async stop(): Promise<void> {
    const mcp = this.#mcp;
    this.#mcp = undefined;
    await mcp?.stop();
    await this.#builtins?.stop();
    this.#builtins = undefined;
    this.registry.removeAllListeners();
  }

  /** Hot reload of the `tools` section: built-ins, confirm list and MCP servers follow the config. */
  async applyConfig(next: Config): Promise<void> {
    const before = this.#config;
    this.#config = next;
    this.#executor = this.#buildExecutor();
    if (JSON.stringify(before.tools.confirm) !== JSON.stringify(next.tools.confirm)) this.registry.setConfirm(next.tools.confirm);
    if (JSON.stringify(before.tools.builtins) !== JSON.stringify(next.tools.builtins)) {
      await this.#builtins?.stop();
      await this.#startBuiltins(next);
    }
    await this.#mcp?.apply(next.tools.mcpServers, next.tools.callTimeoutMs);
  }

  /** What goes into `session.tools`: the profile's own tools first, then the device's. */
  definitions(): FunctionDefinition[] {
    return this.registry.definitions();
  }

  async #startBuiltins(config: Config): Promise<void> {
    const builtins = createBuiltins({
      enabled: config.tools.builtins,
      stateDir: resolveStateDir(config.state.dir, this.#o.env ?? process.env),
      ...(this.#o.volume ? { volume: this.#o.volume } : {}),
      ...(this.#o.profiles ? { profiles: this.#o.profiles } : {}),
    });
    builtins.timers?.on('fired', (timer, info) => this.emit('timerFired', timer, info));
    builtins.timers?.on('changed', (timers) => this.emit('timersChanged', timers));
    builtins.timers?.on('error', (error) => this.#log.warn('timers', { error }));
    this.#builtins = builtins;
    await builtins.start();
    this.registry.setSource('builtin', builtins.tools());
  }

  #buildExecutor(): ToolExecutor {
    const t = this.#config.tools;
    return new ToolExecutor({
      registry: this.registry,
      timeoutMs: t.callTimeoutMs,
      maxOutputBytes: t.maxOutputBytes,
      logger: this.#o.logger.child('tool'),
      ...(this.#confirm ? { confirm: this.#confirm } : {}),
    });
  }
}

/**
 * The profile's session with the device's tools added after the user's own `session.tools`. A
 * device tool whose name the profile already uses is left out: the profile's definition wins.
 */
export function withDeviceTools(session: GaSession, tools: readonly FunctionDefinition[]): GaSession {
  const own = session.tools ?? [];
  const taken = new Set(own.map((t) => ('name' in t ? t.name : undefined)));
  return { ...session, tools: [...own, ...tools.filter((t) => !taken.has(t.name)).map((t) => structuredClone(t))] };
}
