/** The status LED's look per daemon state, as data: [level, ms] steps played in a loop. */
export type LedState = 'idle' | 'connecting' | 'listening' | 'thinking' | 'speaking' | 'error';
export type LedStep = readonly [level: 0 | 1, ms: number];

export const LED_PATTERNS: Readonly<Record<LedState, readonly LedStep[]>> = {
  idle: [
    [1, 60],
    [0, 2940],
  ], // a short heartbeat: alive and waiting
  connecting: [
    [1, 500],
    [0, 500],
  ],
  listening: [[1, Infinity]], // steady on while the mic is open
  thinking: [
    [1, 120],
    [0, 120],
  ],
  speaking: [
    [1, 400],
    [0, 100],
  ],
  error: [
    [1, 100],
    [0, 100],
    [1, 100],
    [0, 1200],
  ],
};

/** Signals that take the LED over from the state pattern for a while (confirmation, alarm). */
export type LedSignal = 'confirm' | 'alarm';

export const LED_SIGNALS: Readonly<Record<LedSignal, readonly LedStep[]>> = {
  confirm: [
    [1, 300],
    [0, 150],
    [1, 300],
    [0, 650],
  ], // two long blinks: the device asks for a press
  alarm: [
    [1, 60],
    [0, 60],
  ], // a fast flicker until a press stops the alarm
};
