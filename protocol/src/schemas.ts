/**
 * Message schemas: the single source for the TypeScript types, the runtime validators (validate.ts) and the
 * AsyncAPI document (asyncapi.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { MAX_DATE_MS } from './readings.ts';

export const AGENT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';
export const AgentId = Type.String({ pattern: AGENT_ID_PATTERN, description: 'Agent id: letters, digits, - and _, at most 64' });

/**
 * Sensor ids are chosen by sources, `<source>:<the radio's or device's own identity>` (README, Sensors):
 * `ble:c0-ff-ee-00-00-01` (BLE address, lower case, dashes), `ant:17:12345:5` (ANT device type, device number,
 * transmission type), `serial:csafe:430123456` or `serial:waterrower:ttyusb0` (serial number, else port),
 * `gps:nmea:ttyacm0`, and `~corrected` after a GPS id for its corrected track. The hub and the agent's outbox
 * check only this rule, which every one of those shapes keeps; every id is written in the one canonical form
 * (sensor-ids.ts canonicalSensorId), lower case.
 */
export const SENSOR_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9:._~-]{0,63}$';
export const SensorId = Type.String({
  pattern: SENSOR_ID_PATTERN,
  description:
    'Stable sensor identity, <source>:<device identity> (e.g. ble:c0-ff-ee-00-00-01, ant:17:12345:5, serial:csafe:430123456, gps:nmea:ttyacm0~corrected; the canonical form of canonicalSensorId, lower case): letters, digits and : . _ ~ -, at most 64; safe in URLs, InfluxDB tags and logs',
});

export const MAX_SENSORS_PER_BATCH = 4_096;
/**
 * Highest sequence number a batch may carry: 2^48 readings outlast any outbox (10 000 readings a second for
 * 890 years), and keeping well below 2^53 leaves the hub's range arithmetic (last + 1, counts) exact.
 */
export const MAX_SEQUENCE = 2 ** 48;
export const MAX_READINGS_PER_SERIES = 100_000;

/** A boot of the agent's machine, as the agent names it (the kernel's boot id, or one the agent keeps for the boot). */
export const BootId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'the boot whose clock stamped the readings' });

/**
 * The wire form of a readings batch, encoded with MessagePack (see batch-codec.ts):
 * `[version, agent, stream, first, last, floor, flags, t0, sensors, boot?, traceparent?]`, where every sensor is
 * `[sensorId, [[metricCode, timeDeltas, valueDeltas], ...]]`.
 * Time deltas are delta-of-delta milliseconds from t0; value deltas are successive differences of values
 * quantised to the metric's resolution. Arrays instead of maps keep the batch small.
 * A batch whose clock is not confirmed (flags bit 0) holds readings of one boot only and names it in the
 * tenth element, so that the hub can keep them apart until that boot's true time is known.
 */
export const WireSeries = Type.Tuple([
  Type.Integer({ minimum: 1, maximum: 65_535, description: 'metric code from the catalogue' }),
  Type.Array(Type.Integer(), { minItems: 1, maxItems: MAX_READINGS_PER_SERIES, description: 'time: delta of delta, ms' }),
  Type.Array(Type.Integer(), { minItems: 1, maxItems: MAX_READINGS_PER_SERIES, description: 'value: deltas of quantised values' }),
]);
export const WireSensor = Type.Tuple([SensorId, Type.Array(WireSeries, { minItems: 1, maxItems: 64 })]);
const wireHead = [
  Type.Literal(1, { description: 'batch format version' }),
  AgentId,
  Type.String({ minLength: 1, maxLength: 32, description: 'outbox stream id: new whenever the agent starts a fresh outbox' }),
  Type.Integer({ minimum: 0, maximum: MAX_SEQUENCE, description: 'first sequence number in the batch' }),
  Type.Integer({ minimum: 0, maximum: MAX_SEQUENCE, description: 'last sequence number in the batch (inclusive)' }),
  Type.Integer({ minimum: 0, maximum: MAX_SEQUENCE, description: 'floor: the agent will never send a sequence number below it again' }),
  Type.Integer({ minimum: 0, maximum: 255, description: "flags; bit 0: clock not confirmed, the readings' times are the boot's own wall clock" }),
  Type.Integer({ minimum: 0, description: 't0: base time, UTC ms' }),
  Type.Array(WireSensor, { maxItems: MAX_SENSORS_PER_BATCH }),
] as const;
/** The longest trace context a batch carries: a W3C traceparent is 55 characters. */
export const MAX_TRACE_CONTEXT_CHARS = 128;
/** A batch whose clock is confirmed. */
export const WireSyncedBatch = Type.Tuple([...wireHead], { description: 'Readings batch (MessagePack array)' });
/** A batch of one boot whose clock is not confirmed (flags bit 0 set). */
export const WireUnsyncedBatch = Type.Tuple([...wireHead, BootId], { description: 'Readings batch of one boot with an unconfirmed clock (MessagePack array)' });
/**
 * A batch that carries the W3C trace context of the agent's send (eleventh element; the tenth is the boot, or
 * nil for a confirmed clock). Agents send it only while they trace, so the other two forms stay what every hub
 * reads. The hub ignores a trace context that is not a valid traceparent instead of refusing the readings.
 */
export const WireTracedBatch = Type.Tuple(
  [
    ...wireHead,
    Type.Union([BootId, Type.Null()]),
    Type.Unknown({ description: `W3C traceparent of the send (a string of at most ${MAX_TRACE_CONTEXT_CHARS} characters); anything else is ignored` }),
  ],
  { description: 'Readings batch (MessagePack array) with the trace context of its send' },
);
export const WireReadingBatch = Type.Union([WireSyncedBatch, WireUnsyncedBatch, WireTracedBatch], {
  description: 'Readings batch (MessagePack array): nine elements, ten with the boot, eleven with the boot (or nil) and the trace context',
});
export type WireReadingBatch = Static<typeof WireReadingBatch>;

export const SourceState = Type.Union([Type.Literal('starting'), Type.Literal('running'), Type.Literal('degraded'), Type.Literal('unavailable'), Type.Literal('stopped')]);

/** Sensors whose signal one status message carries at most: a gym's worth, far below the message size limit. */
export const MAX_STATUS_SIGNALS = 512;

export const SensorSignal = Type.Object({
  id: SensorId,
  rssi: Type.Integer({ minimum: -127, maximum: 20, description: 'signal strength, dBm, as the radio last reported it (a BLE advert or link)' }),
  at: Type.Integer({ minimum: 0, maximum: MAX_DATE_MS, description: 'agent wall clock, UTC ms: when the sensor was last heard (at most the last time a Date holds)' }),
});
export type SensorSignal = Static<typeof SensorSignal>;

export const StatusMessage = Type.Object(
  {
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    version: Type.Optional(Type.String({ maxLength: 64 })),
    /** Agent's monotonic clock (ms) when it sent this; the hub echoes it back in a `time` command. */
    mono: Type.Optional(Type.Number({ minimum: 0 })),
    sentAt: Type.Optional(Type.Integer({ minimum: 0, description: 'agent wall clock, UTC ms' })),
    outbox: Type.Optional(
      Type.Object({
        readings: Type.Integer({ minimum: 0 }),
        bytes: Type.Integer({ minimum: 0 }),
        oldestAgeMs: Type.Integer({ minimum: 0 }),
        dropped: Type.Integer({ minimum: 0 }),
      }),
    ),
    sources: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Object({ state: SourceState, detail: Type.Optional(Type.String({ maxLength: 512 })) }))),
    signal: Type.Optional(
      Type.Array(SensorSignal, {
        maxItems: MAX_STATUS_SIGNALS,
        description:
          'The latest signal strength of each sensor whose radio reports one (BLE; the simulator simulates it), refreshed with every status; sensors without one (ANT+, serial) are left out. Absent from agents older than this field.',
      }),
    ),
  },
  { description: 'Agent status, retained; the broker publishes {state: offline} as the last will' },
);
export type StatusMessage = Static<typeof StatusMessage>;

export const SensorInfo = Type.Object({
  id: SensorId,
  kind: Type.String({ maxLength: 32, description: 'heart_rate, bike, treadmill, rower, gps, ...' }),
  source: Type.String({ maxLength: 32, description: 'simulator, ble, ant, serial' }),
  name: Type.Optional(Type.String({ maxLength: 128 })),
  metrics: Type.Array(Type.String({ maxLength: 32 }), { maxItems: 64 }),
  rateHz: Type.Optional(Type.Number({ minimum: 0, maximum: 1000 })),
});
export type SensorInfo = Static<typeof SensorInfo>;

export const InventoryMessage = Type.Object({ sensors: Type.Array(SensorInfo, { maxItems: 4096 }) }, { description: 'Sensors the agent currently sees, retained' });
export type InventoryMessage = Static<typeof InventoryMessage>;

export const EventMessage = Type.Object(
  {
    at: Type.Integer({ minimum: 0 }),
    type: Type.String({ maxLength: 64 }),
    detail: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { description: 'Something an operator should know: a source failed, the outbox dropped readings, the clock jumped' },
);
export type EventMessage = Static<typeof EventMessage>;

export const AckMessage = Type.Object(
  {
    stream: Type.String({ minLength: 1, maxLength: 32 }),
    first: Type.Integer({ minimum: 0 }),
    last: Type.Integer({ minimum: 0 }),
    result: Type.Union([Type.Literal('stored'), Type.Literal('duplicate'), Type.Literal('rejected')]),
    reason: Type.Optional(Type.String({ maxLength: 256 })),
  },
  {
    description:
      'Sent by the hub after the readings of a batch are durably stored (or known to be stored already). ' +
      '"rejected" means the batch can never be stored; the agent drops it and counts it.',
  },
);
export type AckMessage = Static<typeof AckMessage>;

export const TimeCommand = Type.Object({
  type: Type.Literal('time'),
  hubTime: Type.Integer({ minimum: 0, description: 'hub wall clock, UTC ms' }),
  echo: Type.Number({ minimum: 0, description: 'the mono value of the status message this answers' }),
});
export const WindowCommand = Type.Object({
  type: Type.Literal('window'),
  until: Type.Integer({ minimum: 0, description: 'hub wall clock, UTC ms, when the window closes; a time already past closes it' }),
  permitJoin: Type.Boolean({ description: 'admit any new sensor heard until then (the join window)' }),
  discover: Type.Boolean({ description: 'report unpaired sensors heard until then in `nearby` messages (tap-to-pair)' }),
});
export const CommandMessage = Type.Union([TimeCommand, WindowCommand], { description: 'Commands from the hub to one agent' });
export type CommandMessage = Static<typeof CommandMessage>;

export const MAX_ALLOWLIST_SENSORS = 4_096;

export const PairingMessage = Type.Object(
  {
    version: Type.Integer({ minimum: 0, description: 'increases with every list the hub sends a gym; an agent ignores a list older than the one it applied' }),
    allow: Type.Array(SensorId, { maxItems: MAX_ALLOWLIST_SENSORS, description: 'canonical ids of the sensors paired in the gym: the agent admits them' }),
    updatedAt: Type.Integer({ minimum: 0, description: 'hub wall clock, UTC ms, when the list was computed' }),
  },
  { description: "The allowlist of the agent's gym, retained: the agent admits these sensors besides those its configuration allows, and persists the list for offline starts" },
);
export type PairingMessage = Static<typeof PairingMessage>;

export const MAX_NEARBY_SENSORS = 64;

export const NearbySensorReport = Type.Object({
  id: SensorId,
  kind: Type.String({ maxLength: 32, description: 'heart_rate, bike, ... as the inventory names it' }),
  rssi: Type.Optional(Type.Integer({ minimum: -127, maximum: 20, description: 'strongest signal heard, dBm, where the radio reports one' })),
});
export type NearbySensorReport = Static<typeof NearbySensorReport>;

export const NearbyMessage = Type.Object(
  { sensors: Type.Array(NearbySensorReport, { maxItems: MAX_NEARBY_SENSORS, description: 'strongest first' }) },
  { description: 'Sensors the agent hears that it does not admit, sent about once a second while a discovery window is open (tap-to-pair)' },
);
export type NearbyMessage = Static<typeof NearbyMessage>;
