import { Type, type Static } from '@sinclair/typebox';
import { parseSection } from '../config-section.ts';

const Protocol = Type.Union([Type.Literal('csafe'), Type.Literal('waterrower'), Type.Literal('nmea')], {
  description: 'what the device speaks: CSAFE (Concept2 PM and other fitness machines), WaterRower S4/S5, NMEA 0183 GPS',
});

const UsbId = Type.String({ pattern: '^[0-9A-Fa-f]{4}$', description: 'four hex digits, as lsusb prints them' });

const portCommon = {
  protocol: Protocol,
  baudRate: Type.Optional(Type.Integer({ minimum: 300, maximum: 4_000_000, description: "line speed; the protocol's default when absent" })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'shown with the sensor in the inventory' })),
  kind: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: 'sensor kind for the inventory (rower, bike, treadmill, ...); defaults per protocol' })),
};

/** A port is found by its path or by its USB ids, exactly one of them (serialConfigProblems says which is wrong). */
export const SerialPortConfig = Type.Object(
  {
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'device path, e.g. /dev/ttyACM0 or /dev/serial/by-id/...' })),
    usb: Type.Optional(Type.Object({ vendorId: UsbId, productId: UsbId }, { additionalProperties: false, description: 'found through SerialPort.list() at every (re)connect' })),
    ...portCommon,
  },
  { additionalProperties: false },
);
export type SerialPortConfig = Static<typeof SerialPortConfig>;

export const SerialSourceConfig = Type.Object(
  {
    ports: Type.Array(SerialPortConfig, { default: [], maxItems: 64 }),
    reconnect: Type.Object(
      {
        initialDelayMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 500, description: 'first retry after a port is lost or fails to open' }),
        maxDelayMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 10_000, description: 'the delay doubles up to this' }),
      },
      { default: {}, additionalProperties: false },
    ),
    csafe: Type.Object(
      {
        pollIntervalMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 500, description: 'one WORKOUT_POLL request per interval' }),
        responseTimeoutMs: Type.Integer({ minimum: 20, maximum: 10_000, default: 1_000, description: 'how long one request may stay unanswered' }),
        concept2: Type.Boolean({ default: true, description: 'add Concept2 PM proprietary requests (0x1A) to the poll' }),
      },
      { default: {}, additionalProperties: false },
    ),
    waterrower: Type.Object(
      {
        pollIntervalMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 500, description: 'one round of memory reads per interval' }),
        handshakeTimeoutMs: Type.Integer({ minimum: 50, maximum: 10_000, default: 2_000, description: 'wait for _WR_ after USB before sending it again' }),
        silenceTimeoutMs: Type.Integer({ minimum: 200, maximum: 60_000, default: 5_000, description: 'no packet this long: handshake again' }),
      },
      { default: {}, additionalProperties: false },
    ),
    gps: Type.Object(
      {
        maxSpeedMps: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 15, description: 'faster jumps between fixes are outliers' }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type SerialSourceConfig = Static<typeof SerialSourceConfig>;

/** The port's identity: its path, or `usb:vvvv:pppp` with the ids in lower case. */
export function portIdentity(port: SerialPortConfig): string {
  return port.usb ? `usb:${port.usb.vendorId}:${port.usb.productId}`.toLowerCase() : (port.path ?? '');
}

/**
 * What the schema cannot say about a serial section: each port by path or by USB ids (not both, not
 * neither), no device configured twice (two channels would fight over it), a backoff that grows.
 */
export function serialConfigProblems(config: SerialSourceConfig, path: string): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  config.ports.forEach((port, index) => {
    const at = `${path}/ports/${index}`;
    if (port.path !== undefined && port.usb !== undefined) problems.push(`${at}: give path or usb, not both`);
    else if (port.path === undefined && port.usb === undefined) problems.push(`${at}: needs a path or usb ids (vendorId, productId)`);
    else {
      const identity = portIdentity(port);
      const first = seen.get(identity);
      if (first !== undefined) problems.push(`${at}: ${port.path ?? `usb ${port.usb?.vendorId}:${port.usb?.productId}`} is already ${path}/ports/${first}`);
      else seen.set(identity, index);
    }
  });
  const { initialDelayMs, maxDelayMs } = config.reconnect;
  if (maxDelayMs < initialDelayMs) problems.push(`${path}/reconnect/maxDelayMs: ${maxDelayMs} is below ${path}/reconnect/initialDelayMs (${initialDelayMs})`);
  return problems;
}

/** Fills defaults and checks; throws a ConfigError listing every problem. */
export function serialSourceConfig(input: unknown = {}): SerialSourceConfig {
  return parseSection(SerialSourceConfig, input, serialConfigProblems);
}
