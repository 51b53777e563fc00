/**
 * The set of tools offered to the model. Sources (the built-ins, each MCP server) put their
 * current tools here; the registry answers "what goes into `session.tools`" and "which tool is
 * this function name", and emits `toolsChanged` whenever the answer to the first changes, so the
 * session can re-apply (and re-verify) the profile.
 */
import { PttError } from '../core/errors.js';
import { TypedEmitter } from '../core/typed-emitter.js';
import { FUNCTION_NAME } from './names.js';
import type { FunctionDefinition, Tool } from './types.js';

export const CONFIRM_SUFFIX =
  ' Before this runs, the device asks the person to press its button to approve; if they do not, you are told it was declined.';

export interface RegisteredTool extends Tool {
  /** Needs a button press before it runs. */
  confirm: boolean;
}

export type RegistryEvents = {
  toolsChanged: [names: string[]];
  /** A source offered a tool the registry could not take (bad or duplicate name). */
  toolRejected: [PttError];
};

export class ToolRegistry extends TypedEmitter<RegistryEvents> {
  readonly #sources = new Map<string, Tool[]>();
  #confirm: ReadonlySet<string>;
  #byName = new Map<string, RegisteredTool>();

  constructor(options: { confirm?: readonly string[] } = {}) {
    super();
    this.#confirm = new Set(options.confirm ?? []);
  }

  /** Replaces every tool of `source` (an empty list removes them). */
  setSource(source: string, tools: readonly Tool[]): void {
    if (tools.length === 0) this.#sources.delete(source);
    else this.#sources.set(source, [...tools]);
    this.#rebuild();
  }

  removeSource(source: string): void {
    if (this.#sources.delete(source)) this.#rebuild();
  }

  /** The function names that need a button press (config `tools.confirm`). */
  setConfirm(names: readonly string[]): void {
    this.#confirm = new Set(names);
    this.#rebuild(true);
  }

  get(name: string): RegisteredTool | undefined {
    return this.#byName.get(name);
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** The `session.tools` list, in a stable order (sources in insertion order, tools as given). */
  definitions(): FunctionDefinition[] {
    return [...this.#byName.values()].map((t) =>
      t.confirm ? { ...t.definition, description: t.definition.description + CONFIRM_SUFFIX } : t.definition,
    );
  }

  #rebuild(force = false): void {
    const before = JSON.stringify(this.definitions());
    const next = new Map<string, RegisteredTool>();
    for (const [source, tools] of this.#sources) {
      for (const tool of tools) {
        const name = tool.definition.name;
        if (!FUNCTION_NAME.test(name) || next.has(name)) {
          const why = next.has(name) ? `is already used by ${next.get(name)?.source}` : 'is not 1-64 letters, digits, _ or -';
          this.emit(
            'toolRejected',
            new PttError('TOOL_NAME', `tool ${JSON.stringify(name)} from ${source} ${why}; it is left out`, {
              context: { source, tool: name },
              hint: 'rename the tool or deny it in the config (tools.mcpServers[].deny)',
            }),
          );
          continue;
        }
        // The source key wins over what the tool says, so allow/deny and logs agree on one name.
        next.set(name, { ...tool, source, confirm: this.#confirm.has(name) });
      }
    }
    this.#byName = next;
    if (force || JSON.stringify(this.definitions()) !== before) this.emit('toolsChanged', this.names());
  }
}
