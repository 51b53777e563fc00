import { parseArgs, type ParseArgsConfig } from 'node:util';
import { formatProblems, loadConfig, type Config } from '../config/index.js';
import { PttError } from '../core/errors.js';

/** A subcommand: `run` gets the arguments after its name and returns the exit code. */
export interface CliCommand {
  run(argv: string[], invokedAs: string): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs with `--help` built in and errors turned into a usage error (exit 2).
 * Returns undefined after printing help.
 */
export function parseCommandArgs<O extends Options>(argv: string[], spec: { usage: string; options: O; allowPositionals?: boolean }) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...spec.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: spec.allowPositionals ?? false,
      strict: true,
    });
  } catch (err) {
    throw new PttError('USAGE', `${(err as Error).message}\n\n${spec.usage}`);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(spec.usage.endsWith('\n') ? spec.usage : `${spec.usage}\n`);
    return undefined;
  }
  return parsed;
}

/** The `--config` option every command shares; REALTIME_PTT_CONFIG is its env spelling. */
export const CONFIG_OPTION = { config: { type: 'string', short: 'c' } } as const;
export const DEFAULT_CONFIG_PATH = '/etc/realtime-ptt/config.yaml';

export function configPathFrom(values: { config?: string | boolean | undefined }): string {
  return (typeof values.config === 'string' ? values.config : undefined) ?? process.env.REALTIME_PTT_CONFIG ?? DEFAULT_CONFIG_PATH;
}

/** Loads the config file; when it has problems, prints every one (never a stack trace) and returns undefined. */
export async function loadConfigOrReport(path: string): Promise<Config | undefined> {
  const loaded = await loadConfig(path, process.env);
  if (loaded.ok) return loaded.config;
  process.stderr.write(`realtime-ptt: ${path}: ${formatProblems(loaded.problems)}`);
  return undefined;
}
