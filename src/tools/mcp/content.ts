/** An MCP tool result's content as the one text a function_call_output carries. */
import { isPlainObject } from '../../core/guards.js';

export function contentToText(result: { content?: unknown; structuredContent?: unknown }): string {
  const parts: string[] = [];
  for (const c of Array.isArray(result.content) ? result.content : []) {
    if (!isPlainObject(c)) continue;
    if (c.type === 'text' && typeof c.text === 'string') parts.push(c.text);
    else if (c.type === 'image' || c.type === 'audio') {
      // The model cannot use base64 media through a function output; say what was there.
      const bytes = typeof c.data === 'string' ? Math.floor((c.data.length * 3) / 4) : 0;
      parts.push(`[${c.type} ${String(c.mimeType ?? '')}, ${bytes} bytes, not shown]`);
    } else if (c.type === 'resource' && isPlainObject(c.resource)) {
      const r = c.resource;
      parts.push(typeof r.text === 'string' ? r.text : `[resource ${String(r.uri ?? '')}, binary, not shown]`);
    } else if (c.type === 'resource_link') parts.push(`[link ${String(c.name ?? '')}: ${String(c.uri ?? '')}]`);
  }
  if (parts.length === 0 && result.structuredContent !== undefined) return JSON.stringify(result.structuredContent);
  return parts.join('\n');
}
