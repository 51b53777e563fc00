/**
 * A long-lived part of the daemon (button, capture, playback, session, control socket).
 * The constructor only stores what it is given; all I/O happens in start(), and stop()
 * releases everything start() acquired. stop() must be safe to call twice and after a
 * failed start().
 */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
