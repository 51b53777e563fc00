/**
 * Renders the commented example config from the schema, so the example file and the
 * schema cannot drift (a test compares them).
 */
import { stringify } from 'yaml';
import { schema, SECTION_DOCS } from './schema.js';
import { isLeaf, type ApplyAction, type Leaf, type SchemaNode } from './schema-kit.js';

const APPLY_TEXT: Record<ApplyAction, string> = {
  live: 'takes effect at once',
  tools: 'applied to the tools and the running session',
  session: 'applied to the running session',
  reconnect: 'applied by reconnecting the session',
  'restart-audio': 'restarts the audio devices',
  'restart-gpio': 'restarts the button and LED',
  'restart-home': 'reconnects the MQTT bridge',
  restart: 'needs a service restart',
};

function wrap(text: string, indent: string, width = 96): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && indent.length + 2 + line.length + 1 + word.length > width) {
      lines.push(`${indent}# ${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(`${indent}# ${line}`);
  return lines;
}

function valueYaml(key: string, value: unknown, indent: string): string[] {
  const text = stringify({ [key]: value }, { lineWidth: 0 }).trimEnd();
  return text.split('\n').map((l) => indent + l);
}

function renderLeaf(key: string, leaf: Leaf<unknown>, indent: string): string[] {
  const notes = [`allowed: ${leaf.allowed}.`];
  if (leaf.env) notes.push(`env: ${leaf.env}.`);
  notes.push(
    `On change: ${APPLY_TEXT[leaf.apply ?? 'restart']}${leaf.applyWhenCleared ? ` (turning it off: ${APPLY_TEXT[leaf.applyWhenCleared]})` : ''}.`,
  );
  const lines = [...wrap(leaf.doc, indent), ...wrap(notes.join(' '), indent)];
  // Remove the '# ' to use the example: its lines keep the indentation of the key below.
  if (leaf.example !== undefined) lines.push(`${indent}# for example:`, ...valueYaml(key, leaf.example, '').map((l) => `${indent}# ${l}`));
  return [...lines, ...valueYaml(key, leaf.default, indent)];
}

function renderNode(node: Record<string, SchemaNode>, prefix: string, depth: number): string[] {
  const indent = '  '.repeat(depth);
  const out: string[] = [];
  for (const [key, child] of Object.entries(node)) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.push('');
    if (isLeaf(child)) {
      out.push(...renderLeaf(key, child, indent));
    } else {
      if (SECTION_DOCS[path]) out.push(...wrap(SECTION_DOCS[path], indent));
      out.push(
        `${indent}${key}:`,
        ...renderNode(child as Record<string, SchemaNode>, path, depth + 1).filter((l, i) => !(i === 0 && l === '')),
      );
    }
  }
  return out;
}

export function renderExampleConfig(): string {
  const header = [
    '# realtime-ptt configuration. Installed as /etc/realtime-ptt/config.yaml; another file is',
    '# chosen with --config PATH or REALTIME_PTT_CONFIG. Every key is optional: the value shown is',
    '# the default. Check a file with: realtime-ptt check-config --config FILE',
    '# After an edit the running daemon reloads it by itself (or on systemctl reload realtime-ptt);',
    '# an invalid file is reported and the previous config stays in force.',
    '# The API key never goes in this file: use the systemd credential openai-api-key,',
    '# realtime.apiKeyFile, or OPENAI_API_KEY.',
    '#',
    '# This file is generated from src/config/schema.ts (npx tsx test/config/write-example.ts).',
  ];
  return `${[...header, ...renderNode(schema, '', 0)].join('\n')}\n`;
}
