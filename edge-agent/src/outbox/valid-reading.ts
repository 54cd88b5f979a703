import { MAX_DATE_MS, METRICS, SENSOR_ID_PATTERN, isMetricId, type Reading } from '@pulsebridge/protocol';

/**
 * The hub's own rule (the batch schema's pattern): a reading it would refuse costs its whole batch there,
 * so it is refused here, alone.
 */
const SENSOR_ID = new RegExp(SENSOR_ID_PATTERN);
/**
 * Sensor ids already matched: a set lookup costs a quarter of the pattern on the append path, and a gym has
 * a few hundred sensors at most. A memo of a pure function, so one set serves every outbox; emptied when full.
 */
const matchedSensorIds = new Set<string>();
const MATCHED_SENSOR_IDS_MAX = 4_096;
/** Enough of a bad sensor id to recognise it in a log line without copying whatever a source sent. */
const LOGGED_SENSOR_CHARS = 80;

/** Why append() refuses a reading; the keys of OutboxDropped it is counted under. */
export type ReadingRefusal = 'invalid' | 'invalidSensor';

/**
 * Why the outbox cannot store a reading the hub would accept, or undefined when it can: the sensor id must
 * match the protocol's SENSOR_ID_PATTERN; the metric must be known, its value in range, its time sane.
 */
export function readingRefusal(reading: Reading): ReadingRefusal | undefined {
  if (typeof reading !== 'object' || reading === null) return 'invalid';
  const { sensor, metric, ts, value } = reading;
  if (typeof metric !== 'string' || !isMetricId(metric)) return 'invalid';
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0 || ts > MAX_DATE_MS) return 'invalid';
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'invalid';
  const spec = METRICS[metric];
  if (value < spec.min || value > spec.max) return 'invalid';
  if (!isSensorId(sensor)) return 'invalidSensor';
  return undefined;
}

function isSensorId(sensor: unknown): boolean {
  if (typeof sensor !== 'string') return false;
  if (matchedSensorIds.has(sensor)) return true;
  if (!SENSOR_ID.test(sensor)) return false;
  if (matchedSensorIds.size >= MATCHED_SENSOR_IDS_MAX) matchedSensorIds.clear();
  matchedSensorIds.add(sensor);
  return true;
}

/** The fields of something passed as a reading, for a log line (without whatever else it carries). */
export function describeReading(reading: unknown): unknown {
  if (typeof reading !== 'object' || reading === null) return reading;
  const { sensor, metric, ts, value } = reading as Record<string, unknown>;
  return { sensor: typeof sensor === 'string' && sensor.length > LOGGED_SENSOR_CHARS ? `${sensor.slice(0, LOGGED_SENSOR_CHARS)}…` : sensor, metric, ts, value };
}
