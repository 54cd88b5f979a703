import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';

export type SerialSourceErrorCode = 'invalid_config';

export class SerialSourceError extends Error {
  readonly code: SerialSourceErrorCode;

  constructor(code: SerialSourceErrorCode, message: string) {
    super(message);
    this.name = 'SerialSourceError';
    this.code = code;
  }
}

const Protocol = Type.Union([Type.Literal('csafe'), Type.Literal('waterrower'), Type.Literal('nmea')], {
  description: 'what the device speaks: CSAFE (Concept2 PM and other fitness machines), WaterRower S4/S5, NMEA 0183 GPS',
});

const UsbId = Type.String({ pattern: '^[0-9A-Fa-f]{4}$', description: 'four hex digits, as lsusb prints them' });

const portCommon = {
  protocol: Protocol,
  baudRate: Type.Optional(Type.Integer({ minimum: 300, maximum: 4_000_000, description: "line speed; the protocol's default when absent" })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'shown with the sensor in the inventory' })),
  kind: Type.Optional(
    Type.String({ minLength: 1, maxLength: 32, description: 'sensor kind for the inventory (rower, bike, treadmill, ...); defaults per protocol' }),
  ),
};

export const SerialPortByPath = Type.Object(
  { path: Type.String({ minLength: 1, maxLength: 1024, description: 'device path, e.g. /dev/ttyACM0 or /dev/serial/by-id/...' }), ...portCommon },
  { additionalProperties: false },
);

export const SerialPortByUsb = Type.Object(
  {
    usb: Type.Object({ vendorId: UsbId, productId: UsbId }, { additionalProperties: false, description: 'found through SerialPort.list() at every (re)connect' }),
    ...portCommon,
  },
  { additionalProperties: false },
);

export const SerialPortConfig = Type.Union([SerialPortByPath, SerialPortByUsb]);
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

const checker = TypeCompiler.Compile(SerialSourceConfig);

export function serialSourceConfigProblems(value: unknown): string[] {
  return [...checker.Errors(value)].map((e) => `${e.path || '/'}: ${e.message}`);
}

/** Fills defaults and validates; throws SerialSourceError('invalid_config') listing every problem. */
export function serialSourceConfig(input: unknown = {}): SerialSourceConfig {
  const value: unknown = Value.Default(SerialSourceConfig, Value.Clone(input ?? {}));
  const problems = serialSourceConfigProblems(value);
  if (problems.length > 0) throw new SerialSourceError('invalid_config', `invalid serial source configuration:\n  - ${problems.join('\n  - ')}`);
  return value as SerialSourceConfig;
}
