/**
 * The checks and value types behind the schema's structured keys (URLs, voices, tools, hooks):
 * each returns a message fit for a person, or undefined when the value is allowed.
 */
import { isAbsolute } from 'node:path';
import { isPlainObject } from '../core/guards.js';
import { registerSecret } from '../core/secrets.js';

export const BUILTIN_VOICES = ['alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', 'cedar'] as const;
export type Voice = (typeof BUILTIN_VOICES)[number] | { id: string };

export interface FunctionTool {
  type: 'function';
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

/** A hosted MCP server (OpenAI's servers connect to it, so it must be public). */
export interface HostedMcpTool {
  type: 'mcp';
  server_label: string;
  server_url?: string;
  connector_id?: (typeof MCP_CONNECTORS)[number];
  /** An OAuth access token: a secret (registered, never logged). */
  authorization?: string;
  headers?: Record<string, string>;
  allowed_tools?: string[];
  require_approval?: 'always' | 'never';
}

export type SessionTool = FunctionTool | HostedMcpTool;

/** The connectors of the published schema (MCPTool.connector_id). */
export const MCP_CONNECTORS = [
  'connector_dropbox',
  'connector_gmail',
  'connector_googlecalendar',
  'connector_googledrive',
  'connector_microsoftteams',
  'connector_outlookcalendar',
  'connector_outlookemail',
  'connector_sharepoint',
] as const;

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

export function checkUrl(v: unknown): string | undefined {
  if (typeof v !== 'string') return 'must be a URL string';
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol === 'wss:') return undefined;
  if (url.protocol === 'ws:') {
    // An unencrypted socket would carry the API key in clear text over the network.
    return LOOPBACK.test(url.hostname)
      ? undefined
      : `uses ws:// to a non-loopback host (${url.hostname}); the API key would travel unencrypted`;
  }
  return `has scheme ${url.protocol}, not wss:`;
}

export function checkVoice(v: unknown): string | undefined {
  if (typeof v === 'string')
    return (BUILTIN_VOICES as readonly string[]).includes(v)
      ? undefined
      : 'is not a built-in voice (a custom voice is written {id: voice_...})';
  if (isPlainObject(v)) {
    const extra = Object.keys(v).filter((k) => k !== 'id');
    if (extra.length) return `custom voice has unknown key(s) ${extra.join(', ')}; only id is allowed`;
    return typeof v.id === 'string' && v.id.trim() !== '' ? undefined : 'custom voice needs a non-empty string id';
  }
  return 'must be a voice name or {id: ...}';
}

export function checkModalities(v: unknown): string | undefined {
  // GA cannot answer with text and audio at the same time.
  if (Array.isArray(v) && v.length === 1 && (v[0] === 'audio' || v[0] === 'text')) return undefined;
  return 'must be [audio] or [text] (GA allows exactly one)';
}

export function checkMaxTokens(v: unknown): string | undefined {
  if (v === 'inf') return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4096) return undefined;
  return 'must be an integer from 1 to 4096, or inf';
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function checkTools(v: unknown): string | undefined {
  if (!Array.isArray(v)) return 'must be a list of function tools';
  const seen = new Set<string>();
  for (const [i, tool] of v.entries()) {
    if (!isPlainObject(tool)) return `item ${i} must be a mapping {type: function, name, description, parameters}`;
    if (tool.type === 'mcp') {
      const problem = checkHostedMcp(tool, i, seen);
      if (problem) return problem;
      continue;
    }
    const extra = Object.keys(tool).filter((k) => !['type', 'name', 'description', 'parameters'].includes(k));
    if (extra.length) return `item ${i} has unknown key(s) ${extra.join(', ')}`;
    if (tool.type !== 'function') return `item ${i} has type ${JSON.stringify(tool.type)}; allowed are function and mcp (hosted MCP)`;
    if (typeof tool.name !== 'string' || !TOOL_NAME.test(tool.name)) return `item ${i} needs a name of 1-64 letters, digits, _ or -`;
    if (seen.has(tool.name)) return `tool name ${tool.name} is used twice`;
    seen.add(tool.name);
    if (tool.description !== undefined && typeof tool.description !== 'string') return `item ${i} description must be a string`;
    if (tool.parameters !== undefined && !(isPlainObject(tool.parameters) && tool.parameters.type === 'object')) {
      return `item ${i} parameters must be a JSON Schema object ({type: object, properties: ...})`;
    }
  }
  return undefined;
}

const MCP_KEYS = ['type', 'server_label', 'server_url', 'connector_id', 'authorization', 'headers', 'allowed_tools', 'require_approval'];

export function checkHostedMcp(tool: Record<string, unknown>, i: number, seen: Set<string>): string | undefined {
  const extra = Object.keys(tool).filter((k) => !MCP_KEYS.includes(k));
  if (extra.length) return `item ${i} (mcp) has unknown key(s) ${extra.join(', ')}; allowed: ${MCP_KEYS.join(', ')}`;
  const label = tool.server_label;
  if (typeof label !== 'string' || !TOOL_NAME.test(label)) return `item ${i} (mcp) needs a server_label of 1-64 letters, digits, _ or -`;
  if (seen.has(`mcp:${label}`)) return `hosted MCP server_label ${label} is used twice`;
  seen.add(`mcp:${label}`);
  const url = tool.server_url;
  if ((url === undefined) === (tool.connector_id === undefined)) return `item ${i} (mcp) needs exactly one of server_url and connector_id`;
  // OpenAI's servers make the connection: only a public https URL can work.
  if (url !== undefined && (typeof url !== 'string' || !/^https:\/\/[^/\s]+/.test(url)))
    return `item ${i} (mcp) server_url must be an https:// URL`;
  if (tool.connector_id !== undefined && !(MCP_CONNECTORS as readonly unknown[]).includes(tool.connector_id)) {
    return `item ${i} (mcp) connector_id must be one of ${MCP_CONNECTORS.join(', ')}`;
  }
  if (tool.authorization !== undefined) {
    if (typeof tool.authorization !== 'string' || tool.authorization === '')
      return `item ${i} (mcp) authorization must be a non-empty string`;
    registerSecret(tool.authorization);
  }
  const headers = tool.headers;
  if (headers !== undefined && !(isPlainObject(headers) && Object.values(headers).every((v) => typeof v === 'string'))) {
    return `item ${i} (mcp) headers must be a mapping of header names to strings`;
  }
  // Header values (an API key header) are treated as secrets too.
  if (isPlainObject(headers)) for (const v of Object.values(headers)) registerSecret(v as string);
  const allowed = tool.allowed_tools;
  if (allowed !== undefined && !(Array.isArray(allowed) && allowed.every((n) => typeof n === 'string'))) {
    return `item ${i} (mcp) allowed_tools must be a list of tool names`;
  }
  if (tool.require_approval !== undefined && tool.require_approval !== 'always' && tool.require_approval !== 'never') {
    return `item ${i} (mcp) require_approval must be always or never (always: the device asks for a press)`;
  }
  return undefined;
}

export function checkMintUrl(v: unknown): string | undefined {
  if (v === null) return undefined;
  if (typeof v !== 'string') return 'must be a URL string or null';
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol === 'https:') return undefined;
  // The device token would travel in clear text.
  if (url.protocol === 'http:')
    return LOOPBACK.test(url.hostname)
      ? undefined
      : `uses http:// to a non-loopback host (${url.hostname}); the device token would travel unencrypted`;
  return `has scheme ${url.protocol}, not https:`;
}

export function checkMqttUrl(v: unknown): string | undefined {
  if (v === null) return undefined;
  if (typeof v !== 'string') return 'must be a URL string or null';
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') return `has scheme ${url.protocol}, not mqtt: or mqtts:`;
  if (url.username || url.password) return 'must not carry a user or password (use mqtt.username and mqtt.passwordFile)';
  return undefined;
}

export const TOPIC_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function checkTopicPrefix(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return 'must be a non-empty string';
  if (/[+#]/.test(v) || v.includes('\0')) return 'must not contain +, # or NUL (they are MQTT wildcards)';
  if (v.startsWith('/') || v.endsWith('/') || v.includes('//')) return 'must not start or end with / or have empty levels';
  return undefined;
}

export const HOOK_STATES = ['idle', 'connecting', 'listening', 'thinking', 'speaking', 'error'] as const;
export type HookState = (typeof HOOK_STATES)[number];

export function checkHooks(v: unknown): string | undefined {
  if (!isPlainObject(v)) return 'must be a mapping of state to command';
  for (const [state, argv] of Object.entries(v)) {
    if (!(HOOK_STATES as readonly string[]).includes(state)) return `has unknown state ${state}; states are ${HOOK_STATES.join(', ')}`;
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
      return `${state} must be a non-empty list of strings (program and arguments, no shell)`;
    }
    if (!isAbsolute(argv[0] as string))
      return `${state}: the program ${JSON.stringify(argv[0])} must be an absolute path (the service has a minimal PATH)`;
  }
  return undefined;
}
