/** Output text for the model: capped in UTF-8 bytes, and errors as JSON the model can read. */

export interface CappedText {
  text: string;
  bytes: number;
  truncated: boolean;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes (never inside a character) and says so. */
export function capText(text: string, maxBytes: number): CappedText {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return { text, bytes: buf.length, truncated: false };
  const note = `\n[output truncated: ${buf.length} bytes, only the first part is shown]`;
  const room = Math.max(0, maxBytes - Buffer.byteLength(note));
  let end = room;
  // Step back over UTF-8 continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  const out = buf.subarray(0, end).toString('utf8') + note;
  return { text: out, bytes: Buffer.byteLength(out), truncated: true };
}

/** The output of a call that did not succeed: `{"error": {"code", "message"}}`. */
export function errorOutput(code: string, message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ error: { code, message, ...extra } });
}
