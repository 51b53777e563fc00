/**
 * GPIO: the push-to-talk button (rpio sampling on Pi 1-4, gpiomon on the Pi 5, and the
 * virtual button on the control socket, always present), the control socket, the LED.
 */
export { createButton, checkGpioAccess, type CreateButtonDeps, type GpioAccessReport } from './create-button.js';
export { Button, type ButtonOptions } from './button.js';
export { ButtonLogic, type ButtonLogicOptions } from './button-logic.js';
export { RpioBackend, type RpioBackendOptions } from './rpio-backend.js';
export { GpiomonBackend, type GpiomonBackendOptions } from './gpiomon-backend.js';
export { VirtualBackend, DEFAULT_TAP_MS, MAX_TAP_MS } from './virtual-backend.js';
export {
  ControlServer,
  type ControlServerOptions,
  type ControlTarget,
  type StatusProvider,
  type DaemonCommands,
} from './control-server.js';
export { sendControlCommand } from './control-client.js';
export { parseControlLine, CONTROL_COMMANDS, type ControlCommand } from './control-protocol.js';
export { createLed, Led, RpioLedDriver, GpiosetLedDriver, type LedDriver } from './led.js';
export { LED_PATTERNS, LED_SIGNALS, type LedSignal, type LedState, type LedStep } from './led-patterns.js';
export { selectBackend, findTool, boardKind, readBoardModel, checkDeviceAccess, type GpioHost, type BackendChoice } from './board.js';
export { monotonicMs } from '../core/clock.js';
export {
  DEFAULT_GPIO_OPTIONS,
  type GpioOptions,
  type GpioBackendName,
  type ButtonMode,
  type Pull,
  type ButtonEvents,
  type EdgeBackend,
  type EdgeBackendEvents,
  type LevelSample,
} from './types.js';
