/**
 * Configuration of the ANT source: which stick, the ANT+ network key, and which sensors it admits.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SecretRef, errorMessage, resolveSecret } from '@pulsebridge/runtime';
import { admissionConfigFields } from '../admission.ts';
import { parseSection } from '../config-section.ts';

/** Dynastream/Garmin vendor id and the sticks sold for ANT+: USB2 (0x1008) and USB-m (0x1009). */
export const ANT_USB_VENDOR_ID = 0x0fcf;
export const ANT_USB_PRODUCT_IDS = [0x1008, 0x1009] as const;

/** nRF24AP2 / AP2-based UART modules strap their baud rate with pins; 57600 is the usual fixed choice. */
export const DEFAULT_UART_BAUD_RATE = 57600;

export const ANT_SENSOR_ID_PATTERN = '^ant:[0-9]{1,3}:[0-9]{1,7}:[0-9]{1,3}$';

export const AntSourceConfig = Type.Object(
  {
    transport: Type.Union([Type.Literal('usb'), Type.Literal('uart')], { default: 'usb', description: 'USB stick (libusb), or a UART module / serial device' }),
    path: Type.Optional(Type.String({ minLength: 1, description: 'serial device of a UART module, e.g. /dev/ttyAMA0 or /dev/ttyUSB0 (uart only)' })),
    baudRate: Type.Integer({ minimum: 4800, maximum: 921_600, default: DEFAULT_UART_BAUD_RATE, description: 'UART baud rate (uart only)' }),
    usbProductIds: Type.Array(Type.Integer({ minimum: 0, maximum: 0xffff }), {
      default: [...ANT_USB_PRODUCT_IDS],
      minItems: 1,
      maxItems: 16,
      description: `USB product ids to look for under vendor 0x${ANT_USB_VENDOR_ID.toString(16)} (usb only)`,
    }),
    // The ANT+ network key is licensed: ANT+ adopters obtain it from thisisant.com (ANT+ adopter agreement).
    // Pulsebridge does not ship it; give it as 16 hex digits (separators allowed), or { env } / { file }.
    networkKey: Type.Optional(SecretRef),
    mode: Type.Union([Type.Literal('auto'), Type.Literal('scan'), Type.Literal('channels')], {
      default: 'auto',
      description: 'scan: one continuous-scan channel hears every sensor; channels: one channel per sensor; auto: scan when the stick can',
    }),
    ...admissionConfigFields(ANT_SENSOR_ID_PATTERN, 'ant:<device type>:<device number>:<transmission type>'),
    pairingDeviceTypes: Type.Array(Type.Integer({ minimum: 1, maximum: 127 }), {
      default: [120, 11, 17, 121],
      maxItems: 16,
      description: 'channels mode: device types searched for by wildcard channels while joining is permitted',
    }),
    channelSearchTimeoutSeconds: Type.Number({
      minimum: 0,
      maximum: 637.5,
      default: 30,
      description: 'channels mode: a channel that finds nothing this long is closed and reopened',
    }),
    channelReopenDelayMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 1_000, description: 'wait after a channel closed on its own before reopening it' }),
    responseTimeoutMs: Type.Integer({ minimum: 50, maximum: 30_000, default: 1_000, description: 'how long to wait for the stick to answer a command' }),
    reopenInitialMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 500, description: 'first wait before reopening a lost stick' }),
    reopenMaxMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 15_000, description: 'longest wait between reopen attempts' }),
    staleStateMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'a sensor silent this long restarts its counters from scratch' }),
    wheelCircumferenceM: Type.Number({ exclusiveMinimum: 0, maximum: 5, default: 2.105, description: 'wheel circumference for speed sensors' }),
  },
  { additionalProperties: false },
);
export type AntSourceConfig = Static<typeof AntSourceConfig>;

/**
 * What the schema cannot say about an ANT section: the UART needs its device, the backoff must grow, a
 * network key written in the file must be a key, and allowed ids must name real channel ids.
 */
export function antConfigProblems(config: AntSourceConfig, path: string): string[] {
  const problems: string[] = [];
  if (config.transport === 'uart' && config.path === undefined) problems.push(`${path}/path: required when transport is uart`);
  if (config.transport === 'usb' && config.path !== undefined) problems.push(`${path}/path: only for transport uart; a USB stick is found by usbProductIds`);
  if (config.reopenMaxMs < config.reopenInitialMs) problems.push(`${path}/reopenMaxMs: ${config.reopenMaxMs} is below ${path}/reopenInitialMs (${config.reopenInitialMs})`);
  // A key given by reference is resolved when the source starts (the file may be put in place later).
  if (typeof config.networkKey === 'string') {
    const key = parseNetworkKey(config.networkKey);
    if (!key.ok) problems.push(`${path}/networkKey: ${key.reason}`);
  }
  config.allow.forEach((id, index) => {
    if (parseAntSensorId(id) === undefined)
      problems.push(`${path}/allow/${index}: ${id} is not an ANT sensor id (device type 1-127, transmission type 0-255, a 20-bit device number agreeing with it)`);
  });
  return problems;
}

/** Fills defaults and checks; throws a ConfigError listing every problem. */
export function antSourceConfig(input: unknown = {}): AntSourceConfig {
  return parseSection(AntSourceConfig, input, antConfigProblems);
}

export type NetworkKeyResult = { ok: true; key: Uint8Array } | { ok: false; reason: string };

/**
 * The configured key as bytes, or why there is none: not configured, its reference does not resolve, or
 * it is not 8 bytes. Resolved when the source starts, so a key file can be put in place after the config.
 */
export function resolveNetworkKey(ref: SecretRef | undefined, env: NodeJS.ProcessEnv = process.env): NetworkKeyResult {
  if (ref === undefined) return { ok: false, reason: 'no ANT+ network key configured (networkKey); ANT+ adopters obtain it from thisisant.com' };
  let text: string;
  try {
    text = resolveSecret(ref, env);
  } catch (error) {
    return { ok: false, reason: `ANT+ network key: ${errorMessage(error).replace(/^invalid configuration:\s*-?\s*/, '')}` };
  }
  return parseNetworkKey(text);
}

/**
 * The key as bytes, or why there is none. Never puts the key itself in a reason: reasons end up in logs
 * and health output.
 */
export function parseNetworkKey(text: string): NetworkKeyResult {
  const digits = text
    .trim()
    .replace(/^0x/i, '')
    .replace(/[\s:,-]/g, '');
  if (!/^[0-9a-fA-F]{16}$/.test(digits)) return { ok: false, reason: `ANT+ network key must be 8 bytes as 16 hex digits, got ${digits.length} characters` };
  const key = new Uint8Array(8);
  for (let i = 0; i < 8; i++) key[i] = Number.parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return { ok: true, key };
}

/** `ant:<type>:<number>:<transmission type>` back to its channel id, or undefined if it is not one. */
export function parseAntSensorId(id: string): { deviceType: number; deviceNumber: number; transmissionType: number } | undefined {
  const match = /^ant:(\d{1,3}):(\d{1,7}):(\d{1,3})$/.exec(id);
  if (!match) return undefined;
  const deviceType = Number(match[1]);
  const deviceNumber = Number(match[2]);
  const transmissionType = Number(match[3]);
  if (deviceType > 0x7f || transmissionType > 0xff || deviceNumber > 0xfffff) return undefined;
  // The upper nibble of the transmission type carries device number bits 16-19: both must agree.
  if (deviceNumber >> 16 !== transmissionType >> 4 && deviceNumber > 0xffff) return undefined;
  return { deviceType, deviceNumber, transmissionType };
}
