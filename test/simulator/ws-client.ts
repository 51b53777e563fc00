/**
 * A plain `ws` client for simulator tests: connects, keeps every server event in order,
 * and waits for the next one of a type.
 */
import WebSocket from 'ws';

export type Event = Record<string, unknown> & { type: string };

export class TestClient {
  readonly events: Event[] = [];
  /** Frames that were not JSON objects, verbatim. */
  readonly unparsed: string[] = [];
  closed: { code: number; reason: string } | undefined;
  #waiters: Array<{ match: (e: Event) => boolean; resolve: (e: Event) => void }> = [];
  #closeWaiters: Array<(c: { code: number; reason: string }) => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const raw = data.toString();
      let event: unknown;
      try {
        event = JSON.parse(raw);
      } catch {
        this.unparsed.push(raw);
        return;
      }
      const e = event as Event;
      this.events.push(e);
      this.#waiters = this.#waiters.filter((w) => (w.match(e) ? (w.resolve(e), false) : true));
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.#closeWaiters) w(this.closed);
    });
  }

  /** Opens a socket; rejects with the HTTP status when the handshake is refused. */
  static connect(url: string, headers: Record<string, string> = { Authorization: 'Bearer sk-test-key-123456' }): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body })));
      });
      ws.once('error', (err) => reject(err));
    });
  }

  send(event: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(event));
  }

  /** The first event of `type` (optionally matching), already received or still to come. */
  next(type: string, match: (e: Event) => boolean = () => true, timeoutMs = 3000): Promise<Event> {
    const seen = this.events.find((e) => e.type === type && match(e));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms; got ${this.types().join(', ')}`)), timeoutMs);
      this.#waiters.push({ match: (e) => e.type === type && match(e), resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  /** Waits for an event of `type` that arrives after the current last event. */
  after(type: string, match: (e: Event) => boolean = () => true, timeoutMs = 3000): Promise<Event> {
    const from = this.events.length;
    return this.next(type, (e) => this.events.indexOf(e) >= from && match(e), timeoutMs);
  }

  waitClose(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs);
      this.#closeWaiters.push((c) => (clearTimeout(timer), resolve(c)));
    });
  }

  types(): string[] {
    return this.events.map((e) => e.type);
  }

  ofType(type: string): Event[] {
    return this.events.filter((e) => e.type === type);
  }

  close(): void {
    this.ws.close();
  }
}

/** PCM16 24 kHz: `ms` of a 440 Hz tone at `amplitude` (0..1), or silence at 0. */
export function pcm(ms: number, amplitude = 0.5): Buffer {
  const n = Math.round(ms * 24);
  const out = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) out.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * 440 * i) / 24000)), i * 2);
  return out;
}

export const append = (audio: Buffer): Record<string, unknown> => ({ type: 'input_audio_buffer.append', audio: audio.toString('base64') });

/** A session.update that turns server VAD off: a push-to-talk profile. */
export const PTT_UPDATE = {
  type: 'session.update',
  event_id: 'evt_ptt',
  session: { type: 'realtime', audio: { input: { turn_detection: null } } },
};
