/**
 * Function names for MCP tools. The Realtime API accepts only ^[a-zA-Z0-9_-]{1,64}$, while MCP
 * names may hold dots, slashes or spaces and two servers may both have a `search`. A tool is
 * named `<server>_<tool>`; a name that does not fit as is gets its bad characters replaced and a
 * short hash of the original appended, so two different originals never map to the same name.
 * The way back is the registry's map from function name to tool, never a parse of the name.
 */
import { createHash } from 'node:crypto';

export const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
/** Server names are validated by the config to this, so the prefix itself is always legal. */
export const SERVER_NAME = /^[a-zA-Z0-9-]{1,24}$/;

const HASH_CHARS = 8;

export function mcpFunctionName(server: string, tool: string): string {
  const plain = `${server}_${tool}`;
  if (FUNCTION_NAME.test(plain)) return plain;
  const hash = createHash('sha256').update(plain).digest('hex').slice(0, HASH_CHARS);
  const cleaned = plain.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64 - HASH_CHARS - 1);
  return `${cleaned}_${hash}`;
}
