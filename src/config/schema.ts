/**
 * The config schema: the single source of truth for every key, its default, its doc
 * (the example file is generated from these), its validation and what a change to it
 * needs at runtime. `Config` is derived from it. The checks of structured values live in
 * schema-checks.ts.
 */
import { checkMcpServers, checkToolNameList, type McpServerConfig } from '../tools/mcp/server-config.js';
import {
  BUILTIN_VOICES,
  checkMaxTokens,
  checkMintUrl,
  checkModalities,
  checkTools,
  checkUrl,
  checkVoice,
  type SessionTool,
  type Voice,
} from './schema-checks.js';
import { isPlainObject } from '../core/guards.js';
import { mqttSection, hooksSection } from './schema-home.js';
import { applyAll, bool, custom, type ConfigOf, int, num, oneOf, str } from './schema-kit.js';

export {
  BUILTIN_VOICES,
  type FunctionTool,
  HOOK_STATES,
  type HookState,
  type HostedMcpTool,
  MCP_CONNECTORS,
  type SessionTool,
  type Voice,
} from './schema-checks.js';

export const schema = {
  realtime: applyAll('reconnect', {
    url: custom<string>({
      doc: 'Realtime WebSocket endpoint. wss:// only; ws:// is allowed for loopback hosts (the local simulator).',
      default: 'wss://api.openai.com/v1/realtime',
      allowed: 'a wss:// URL, or ws:// to localhost/127.0.0.1/::1',
      check: checkUrl,
      kind: 'string',
      env: 'REALTIME_PTT_REALTIME_URL',
    }),
    model: str({
      doc: 'Realtime model. It cannot change inside a session, so a change reconnects.',
      default: 'gpt-realtime',
      nonEmpty: true,
      env: 'REALTIME_PTT_REALTIME_MODEL',
    }),
    provider: oneOf(['openai', 'azure'] as const, {
      doc: 'openai sends Authorization: Bearer; azure sends an api-key header.',
      default: 'openai',
      env: 'REALTIME_PTT_REALTIME_PROVIDER',
    }),
    apiKeyFile: str({
      doc: 'File holding the API key (one line). Used when the systemd credential $CREDENTIALS_DIRECTORY/openai-api-key is absent; OPENAI_API_KEY is the last resort. The key itself never goes in this file.',
      default: null,
      nullable: true,
      absolutePath: true,
      example: '/etc/realtime-ptt/openai-api-key',
      env: 'REALTIME_PTT_REALTIME_API_KEY_FILE',
    }),
    bootstrap: oneOf(['session-update', 'client-secret'] as const, {
      doc: 'session-update: connect, send session.update and wait for session.updated. client-secret: mint an ephemeral secret carrying the profile, then verify session.created.',
      default: 'session-update',
      // A fleet device (mintUrl below) needs client-secret.
      example: 'client-secret',
      env: 'REALTIME_PTT_REALTIME_BOOTSTRAP',
    }),
    mintUrl: custom<string | null>({
      doc: "client-secret bootstrap from the owner's mint server (realtime-ptt mint-server) instead of OpenAI: the device then holds no API key, only its device token. https:// only; http:// is allowed for loopback hosts. null mints with the API key directly.",
      default: null,
      allowed: 'an https:// URL (http:// to localhost/127.0.0.1/::1), or null',
      check: checkMintUrl,
      kind: 'string',
      example: 'https://mint.example.lan:8443/v1/mint',
      env: 'REALTIME_PTT_REALTIME_MINT_URL',
    }),
    deviceTokenFile: str({
      doc: "File holding this device's token for realtime.mintUrl (one line). Used when the systemd credential $CREDENTIALS_DIRECTORY/device-token is absent.",
      default: null,
      nullable: true,
      absolutePath: true,
      example: '/etc/realtime-ptt/device-token',
    }),
    connection: oneOf(['persistent', 'on-demand'] as const, {
      doc: 'persistent keeps a session open (lowest latency); on-demand connects at a press and closes after idleCloseMs.',
      default: 'persistent',
      env: 'REALTIME_PTT_REALTIME_CONNECTION',
    }),
    timeouts: applyAll('live', {
      connectMs: int({ doc: 'Give up on a WebSocket handshake after this long.', default: 10_000, min: 500, max: 120_000, unit: 'ms' }),
      sessionUpdateMs: int({
        doc: 'Wait this long for session.updated (verification of the profile) before reconnecting.',
        default: 5_000,
        min: 200,
        max: 60_000,
        unit: 'ms',
      }),
      idleCloseMs: int({
        doc: 'on-demand connection: close the session after this long without a turn.',
        default: 60_000,
        min: 1_000,
        max: 3_600_000,
        unit: 'ms',
      }),
    }),
    reconnect: applyAll('live', {
      minMs: int({ doc: 'First reconnect delay; doubles after each failure.', default: 500, min: 50, max: 60_000, unit: 'ms' }),
      maxMs: int({ doc: 'Longest reconnect delay (must be >= minMs).', default: 30_000, min: 100, max: 600_000, unit: 'ms' }),
    }),
  }),
  session: applyAll('session', {
    instructions: str({
      doc: 'System instructions of the device profile, applied at every session start.',
      default: 'You are a helpful voice assistant on a small device. Answer briefly and speak naturally.',
    }),
    voice: custom<Voice>({
      doc: `Voice of the answers: one of ${BUILTIN_VOICES.join(', ')}, or a custom voice {id: voice_...}. A change applies to the running session until its first audio answer; after that the server keeps the voice, so the session reconnects when idle.`,
      default: 'marin',
      allowed: `one of ${BUILTIN_VOICES.join(', ')}, or {id: <custom voice id>}`,
      check: checkVoice,
    }),
    speed: num({ doc: 'Speaking speed multiplier.', default: 1, min: 0.25, max: 1.5 }),
    outputModalities: custom<Array<'audio' | 'text'>>({
      doc: 'What the model answers with: [audio] (speech plus transcript) or [text].',
      default: ['audio'],
      allowed: '[audio] or [text]',
      check: checkModalities,
    }),
    turnDetection: {
      type: oneOf(['manual', 'server_vad', 'semantic_vad'] as const, {
        doc: 'manual: the button decides when a turn ends (push to talk). server_vad / semantic_vad: the server detects the end of speech (hands-free).',
        default: 'manual',
      }),
      threshold: num({ doc: 'server_vad only: activation threshold, higher needs louder speech.', default: 0.5, min: 0, max: 1 }),
      prefixPaddingMs: int({ doc: 'server_vad only: audio kept before detected speech.', default: 300, min: 0, max: 5_000, unit: 'ms' }),
      silenceDurationMs: int({ doc: 'server_vad only: silence that ends a turn.', default: 500, min: 0, max: 10_000, unit: 'ms' }),
      idleTimeoutMs: int({
        doc: 'server_vad only: prompt the user after this much silence following an answer; null is off.',
        default: null,
        nullable: true,
        min: 5_000,
        max: 30_000,
        unit: 'ms',
        example: 10_000,
      }),
      eagerness: oneOf(['low', 'medium', 'high', 'auto'] as const, {
        doc: 'semantic_vad only: how quickly the model answers.',
        default: 'auto',
      }),
      createResponse: bool({ doc: 'VAD modes: answer automatically when speech stops.', default: true }),
      interruptResponse: bool({ doc: 'VAD modes: speech cancels an answer in progress.', default: true }),
    },
    transcription: {
      enabled: bool({
        doc: 'Transcribe what the user says (for the transcript file). `transcription: off` is short for enabled: false. GA cannot switch it off inside a session, so turning it off reconnects.',
        default: true,
        applyWhenCleared: 'reconnect',
      }),
      model: str({
        doc: 'Transcription model, e.g. gpt-4o-mini-transcribe, gpt-4o-transcribe, whisper-1.',
        default: 'gpt-4o-mini-transcribe',
        nonEmpty: true,
      }),
      language: custom<string | null>({
        doc: 'ISO-639-1 language of the speech (e.g. en); null lets the model detect it.',
        default: null,
        allowed: 'a two-letter ISO-639-1 code such as en, de, fr, or null',
        check: (v) =>
          v === null || (typeof v === 'string' && /^[a-z]{2}$/.test(v)) ? undefined : 'is not a two-letter ISO-639-1 language code',
        kind: 'string',
        example: 'en',
      }),
      prompt: str({
        doc: 'Optional text guiding transcription (keywords for whisper-1, free text for gpt-4o models); null is none.',
        default: null,
        nullable: true,
        example: 'expect words about the garden',
      }),
    },
    noiseReduction: oneOf(['near_field', 'far_field', 'off'] as const, {
      doc: 'Input noise reduction: near_field (close mic, headset), far_field (room mic), or off. GA cannot switch it off inside a session, so turning it off reconnects.',
      default: 'far_field',
      applyWhenCleared: 'reconnect',
    }),
    maxOutputTokens: custom<number | 'inf'>({
      doc: 'Longest answer in tokens (1-4096), or inf for the model maximum.',
      default: 'inf',
      allowed: 'an integer from 1 to 4096, or inf',
      check: checkMaxTokens,
    }),
    tools: custom<SessionTool[]>({
      doc: 'Tools offered to the model: {type: function, name, description, parameters (JSON Schema)}, or a hosted MCP server {type: mcp, server_label, server_url (public https) or connector_id, authorization (a secret), headers, allowed_tools, require_approval: always|never (always: a press at the device approves each call)}.',
      default: [],
      allowed: 'a list of {type: function, name, description, parameters}',
      check: checkTools,
      example: [{ type: 'function', name: 'get_time', description: 'Current local time', parameters: { type: 'object', properties: {} } }],
    }),
    followUp: {
      windowMs: int({
        doc: 'After an answer, keep listening this long without a press (the server detects speech) so a question from the assistant can be answered hands-free; null is off.',
        default: null,
        nullable: true,
        min: 1_000,
        max: 30_000,
        unit: 'ms',
        example: 6_000,
        apply: 'live',
      }),
      turnDetection: oneOf(['server_vad', 'semantic_vad'] as const, {
        doc: 'How the server detects speech during the follow-up window.',
        default: 'server_vad',
        apply: 'live',
      }),
    },
  }),
  profiles: {
    // Not `default`: convict reads a key named default as a leaf's default value.
    active: str({
      doc: 'The profile active at the first start (main is the session section). Later the active profile is kept in the state directory across restarts.',
      default: 'main',
      nonEmpty: true,
      apply: 'session',
    }),
    switchGesture: oneOf(['none', 'doublePress'] as const, {
      doc: 'A button gesture that switches to the next profile (in file order, main first): doublePress is two taps (each shorter than conversation.minHoldMs), so a quick barge-in after a question never switches.',
      default: 'none',
      apply: 'live',
    }),
    named: custom<Record<string, Record<string, unknown>>>({
      doc: 'Named profiles: each overrides a few session keys (voice, instructions, turnDetection, followUp, tools, ...) of the profile it inherits (inherits: NAME, main by default).',
      default: {},
      allowed: 'a mapping of profile names to mappings of session keys',
      check: (v) => (isPlainObject(v) ? undefined : 'must be a mapping of profile names to session overrides'),
      example: { kids: { voice: 'shimmer', instructions: 'You talk with children. Use short, simple words.' } },
      apply: 'session',
    }),
  },
  audio: {
    input: applyAll('restart-audio', {
      device: str({
        doc: 'ALSA capture device (arecord -L lists them). Prefer plughw:/plug devices: they convert rate and channels. file:/path/speech.wav instead plays a 24 kHz mono WAV as the microphone, then silence (demo and tests, no sound card).',
        default: 'default',
        nonEmpty: true,
        env: 'REALTIME_PTT_AUDIO_INPUT_DEVICE',
      }),
      backend: oneOf(['arecord', 'addon'] as const, {
        doc: 'arecord: an arecord child whose audio is read in batches while nobody talks (lowest idle CPU). addon: alsa-capture inside the daemon, woken every period (the fallback).',
        default: 'arecord',
        env: 'REALTIME_PTT_AUDIO_INPUT_BACKEND',
      }),
      periodMs: int({
        doc: 'Capture period: the device delivers audio in chunks of this length.',
        default: 20,
        min: 5,
        max: 200,
        unit: 'ms',
      }),
      batchMs: int({
        doc: 'arecord backend: while the microphone is open, audio is read and sent this often, one append per batch (the press and the release are sent at once either way). Lower lets the server hear speech sooner; higher wakes the Pi less often.',
        default: 100,
        min: 10,
        max: 500,
        unit: 'ms',
      }),
      preRollMs: int({
        doc: 'Audio kept from before the press so the first syllable is not lost.',
        default: 300,
        min: 0,
        max: 2_000,
        unit: 'ms',
      }),
    }),
    output: applyAll('restart-audio', {
      device: str({
        doc: 'ALSA playback device for aplay (aplay -L lists them). wav:/path/answers.wav instead writes what would be played to a WAV file, paced like a sound card (demo and tests).',
        default: 'default',
        nonEmpty: true,
        env: 'REALTIME_PTT_AUDIO_OUTPUT_DEVICE',
      }),
      bufferMs: int({
        doc: 'Audio fed to aplay ahead of real time: higher survives longer hiccups, lower starts an answer sooner. The player wakes every half of it.',
        default: 120,
        min: 20,
        max: 2_000,
        unit: 'ms',
      }),
      periodMs: int({ doc: 'Playback chunk length.', default: 20, min: 5, max: 200, unit: 'ms' }),
      volume: num({
        doc: 'Linear gain applied to answers and earcons: 0 is silent, 1 leaves samples unchanged (no boost above 1, it would clip).',
        default: 1,
        min: 0,
        max: 1,
        apply: 'live',
      }),
    }),
  },
  gpio: applyAll('restart-gpio', {
    backend: oneOf(['auto', 'rpio', 'gpiomon', 'virtual'] as const, {
      doc: 'auto picks gpiomon (kernel edge events, no CPU while idle) on any Raspberry Pi with /dev/gpiochip* and the gpiod tools, else rpio sampling on Pi 1-4; virtual is a button on the control socket only (tests, demo, no hardware).',
      default: 'auto',
      env: 'REALTIME_PTT_GPIO_BACKEND',
    }),
    pin: int({ doc: 'BCM number of the button pin.', default: 17, min: 0, max: 27, env: 'REALTIME_PTT_GPIO_PIN' }),
    activeLow: bool({ doc: 'The button pulls the pin to ground when pressed (the usual wiring with a pull-up).', default: true }),
    pull: oneOf(['up', 'down', 'off'] as const, { doc: 'Internal pull resistor.', default: 'up' }),
    debounceMs: int({ doc: 'A level must stay this long to count as a press or release.', default: 20, min: 0, max: 500, unit: 'ms' }),
    sampleMs: int({ doc: 'rpio backend: how often the pin level is read.', default: 5, min: 1, max: 100, unit: 'ms' }),
    mode: oneOf(['hold', 'toggle'] as const, {
      doc: 'hold: talk while held. toggle: one press starts, the next press ends the turn.',
      default: 'hold',
    }),
    longPressMs: int({
      doc: 'A hold this long is a long press: the microphone closes and, after interrupting an answer, nothing is asked.',
      default: 1_500,
      min: 200,
      max: 10_000,
      unit: 'ms',
    }),
    doublePressMs: int({ doc: 'Two presses within this window are a double press.', default: 400, min: 100, max: 2_000, unit: 'ms' }),
    ledPin: int({ doc: 'BCM number of a status LED; null is no LED.', default: null, nullable: true, min: 0, max: 27, example: 27 }),
    chip: str({
      doc: 'gpiomon backend: GPIO chip (e.g. gpiochip0, gpiochip4 on early Pi 5 kernels); null finds the chip that has the pin.',
      default: null,
      nullable: true,
      nonEmpty: true,
      example: 'gpiochip0',
    }),
  }),
  control: applyAll('restart', {
    socket: str({
      doc: 'Unix socket for press/release/tap/status (realtime-ptt press ...).',
      default: '/run/realtime-ptt/control.sock',
      absolutePath: true,
      env: 'REALTIME_PTT_CONTROL_SOCKET',
    }),
  }),
  state: {
    dir: str({
      doc: "Directory the daemon owns for what must survive a restart (the active profile, timers, the volume set by voice); null uses systemd's StateDirectory ($STATE_DIRECTORY), else /var/lib/realtime-ptt.",
      default: null,
      nullable: true,
      absolutePath: true,
      example: '/var/lib/realtime-ptt',
      env: 'REALTIME_PTT_STATE_DIR',
      apply: 'restart',
    }),
  },
  log: {
    level: oneOf(['debug', 'info', 'warn', 'error'] as const, {
      doc: 'Least important messages logged.',
      default: 'info',
      env: 'REALTIME_PTT_LOG_LEVEL',
      apply: 'live',
    }),
    format: oneOf(['json', 'pretty', 'auto'] as const, {
      doc: 'json (one object a line, for journald), pretty (for people), auto (pretty on a terminal, else json).',
      default: 'auto',
      env: 'REALTIME_PTT_LOG_FORMAT',
      apply: 'restart',
    }),
    transcriptFile: str({
      doc: 'JSON Lines file of every turn (user and assistant text); null is off.',
      default: '/var/lib/realtime-ptt/transcripts.jsonl',
      nullable: true,
      absolutePath: true,
      apply: 'restart',
    }),
  },
  conversation: applyAll('live', {
    bargeInByVoice: bool({
      doc: 'Hands-free barge-in: speech during an answer interrupts it (needs a VAD turnDetection and a mic that does not hear the speaker).',
      default: false,
    }),
    earcons: bool({ doc: 'Short tones on press, release, ready and error.', default: true }),
    minHoldMs: int({
      doc: 'A press held shorter than this is a tap: the input is cleared and nothing is asked.',
      default: 200,
      min: 0,
      max: 2_000,
      unit: 'ms',
    }),
    answerTimeoutMs: int({
      doc: 'A question with no answer started this long after release is dropped, with the error tone.',
      default: 15_000,
      min: 1_000,
      max: 120_000,
      unit: 'ms',
    }),
    memoryTurns: int({
      doc: 'Turns (question and answer, as text) restored into every new session so the model continues where it was; 0 is off.',
      default: 10,
      min: 0,
      max: 100,
    }),
    memoryChars: int({
      doc: 'Most characters of text restored into a new session (the oldest turns go first).',
      default: 4_000,
      min: 0,
      max: 100_000,
    }),
    forgetAfterMs: int({
      doc: 'After this long without a turn, start the next conversation fresh; null keeps the memory until forget.',
      default: 1_800_000,
      nullable: true,
      min: 1_000,
      max: 604_800_000,
      unit: 'ms',
    }),
    cancelBelowDbfs: int({
      doc: 'A press that interrupts an answer only stops it: the hold asks something only if its audio peaks over this level (speech); a silent hold, however long, asks nothing.',
      default: -35,
      min: -90,
      max: 0,
      unit: 'dBFS',
    }),
  }),
  tools: applyAll('tools', {
    builtins: {
      time: bool({ doc: 'Built-in tool get_local_time: the date, time and time zone of the device.', default: true }),
      timers: bool({
        doc: 'Built-in tools set_timer, set_alarm, list_timers, cancel_timer: named timers kept on the device (they ring without a network).',
        default: true,
      }),
      volume: bool({
        doc: 'Built-in tools get_volume, set_volume: the speaker volume; a change by voice survives a restart.',
        default: true,
      }),
      deviceStatus: bool({
        doc: 'Built-in tool get_device_status: CPU temperature, uptime, load, memory, Wi-Fi signal, IP addresses, under-voltage.',
        default: true,
      }),
      profiles: bool({
        doc: 'Built-in tool switch_profile: the model switches the profile when asked ("let me talk to the kids assistant"); offered when profiles.named has a profile.',
        default: true,
      }),
    },
    mcpServers: custom<McpServerConfig[]>({
      doc: 'MCP servers whose tools the model may call. stdio: {name, transport: stdio, command, args, env} (the child gets only env plus a minimal PATH). http: {name, transport: http, url, tokenFile or credential} (Streamable HTTP, bearer token). Both: allow/deny (MCP tool names), timeoutMs. Their tools are named <name>_<tool>. Changes apply on reload.',
      default: [],
      allowed: 'a list of {name, transport: stdio|http, ...} (see docs/tools.md)',
      check: checkMcpServers,
      example: [
        {
          name: 'ha',
          transport: 'http',
          url: 'http://homeassistant.local:8123/api/mcp',
          credential: 'ha-token',
          allow: ['HassTurnOn', 'HassTurnOff', 'GetLiveContext'],
        },
      ],
    }),
    confirm: custom<string[]>({
      doc: 'Function names that run only after a button press at the device (e.g. ha_HassTurnOff); their description tells the model the device will ask.',
      default: [],
      allowed: 'a list of function names such as [set_volume, ha_HassTurnOff]',
      check: checkToolNameList,
    }),
    confirmWindowMs: int({
      doc: 'How long the device waits for the approving press.',
      default: 8_000,
      min: 1_000,
      max: 60_000,
      unit: 'ms',
    }),
    alarmMaxMs: int({
      doc: 'A timer or alarm that goes off rings (earcon and LED) until a press stops it, or this long at most.',
      default: 60_000,
      min: 5_000,
      max: 600_000,
      unit: 'ms',
    }),
    callTimeoutMs: int({
      doc: 'A tool call still running after this long is stopped and reported to the model as timed out.',
      default: 10_000,
      min: 100,
      max: 600_000,
      unit: 'ms',
    }),
    maxOutputBytes: int({
      doc: 'Longest tool output sent to the model; longer output is cut and marked as truncated.',
      default: 16_384,
      min: 256,
      max: 1_048_576,
      unit: 'bytes',
    }),
    maxRoundsPerTurn: int({
      doc: 'Rounds of tool calls the model may make in one turn before the turn ends with an error.',
      default: 5,
      min: 1,
      max: 20,
    }),
  }),
  mqtt: mqttSection,
  hooks: hooksSection,
};

export type ConfigSchema = typeof schema;

/** The validated configuration. Derived from `schema`; never written by hand. */
export type Config = ConfigOf<ConfigSchema>;
export type SessionProfile = Config['session'];

/** One line about each section, for the example file and help texts. */
export const SECTION_DOCS: Readonly<Record<string, string>> = {
  realtime: 'Connection to the Realtime API (GA protocol over WebSocket).',
  'realtime.timeouts': 'Timeouts of the session.',
  'realtime.reconnect': 'Reconnect backoff after a dropped or failed session.',
  session:
    'The device profile: applied with session.update at every session start and verified field by field before the microphone opens.',
  'session.turnDetection': 'Who decides that the user has finished speaking.',
  'session.transcription': 'Transcription of what the user says.',
  'session.followUp': 'Listening on after an answer, without a press.',
  profiles: 'Named profiles (personas) that override the session section; switch with realtime-ptt profile NAME.',
  audio: 'Audio devices. Everything is PCM16 mono 24 kHz; plug devices convert.',
  'audio.input': 'The microphone.',
  'audio.output': 'The speaker (played through aplay).',
  gpio: 'The push-to-talk button and the optional status LED.',
  control: 'The local control socket.',
  state: 'What the daemon keeps across restarts.',
  log: 'Logging and the transcript file.',
  conversation: 'Behaviour of the conversation.',
  tools: 'Tools the model can call: built-ins on the device and MCP servers (docs/tools.md).',
  'tools.builtins': 'The tools of the device itself.',
  mqtt: 'MQTT bridge: state, transcripts and commands on a broker, and Home Assistant discovery. Off unless url is set.',
  hooks: 'Commands run when the device changes state (e.g. pause the music while listening).',
};
