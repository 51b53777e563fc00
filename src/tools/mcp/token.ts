/**
 * The bearer token of an HTTP MCP server: from a systemd credential ($CREDENTIALS_DIRECTORY/<name>,
 * LoadCredential= in the unit) or a file. It is registered as a secret at once so no log line,
 * error or transcript can show it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PttError } from '../../core/errors.js';
import { registerSecret } from '../../core/secrets.js';
import type { McpServerConfig } from './server-config.js';

export async function readBearerToken(server: McpServerConfig, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  let path: string;
  let what: string;
  if (server.credential) {
    const dir = env.CREDENTIALS_DIRECTORY;
    if (!dir) {
      throw new PttError(
        'MCP_TOKEN',
        `MCP server ${server.name}: credential ${server.credential} is set but $CREDENTIALS_DIRECTORY is not`,
        {
          context: { server: server.name },
          hint: `add LoadCredential=${server.credential}:/etc/realtime-ptt/${server.credential} to the unit, or use tokenFile`,
        },
      );
    }
    path = join(dir, server.credential);
    what = `systemd credential ${server.credential}`;
  } else if (server.tokenFile) {
    path = server.tokenFile;
    what = `tokenFile ${server.tokenFile}`;
  } else return undefined;
  let token: string;
  try {
    token = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new PttError(
      'MCP_TOKEN',
      `MCP server ${server.name}: cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      {
        context: { server: server.name, path },
        hint: 'create the file with the token on one line, readable by the service user',
      },
    );
  }
  if (token === '') {
    throw new PttError('MCP_TOKEN', `MCP server ${server.name}: ${what} is empty`, { context: { server: server.name, path } });
  }
  registerSecret(token);
  return token;
}
