import { MAX_DATE_MS, METRICS, isMetricId, type Reading } from '@pulsebridge/protocol';

const SENSOR_ID_MAX_LENGTH = 64;

/** A reading the outbox can store and the hub will accept: known metric, value in range, sane time and sensor id. */
export function isStorableReading(reading: Reading): boolean {
  if (typeof reading !== 'object' || reading === null) return false;
  const { sensor, metric, ts, value } = reading;
  if (typeof sensor !== 'string' || sensor.length === 0 || sensor.length > SENSOR_ID_MAX_LENGTH) return false;
  if (typeof metric !== 'string' || !isMetricId(metric)) return false;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0 || ts > MAX_DATE_MS) return false;
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  const spec = METRICS[metric];
  return value >= spec.min && value <= spec.max;
}

/** The fields of something passed as a reading, for a log line (without whatever else it carries). */
export function describeReading(reading: unknown): unknown {
  if (typeof reading !== 'object' || reading === null) return reading;
  const { sensor, metric, ts, value } = reading as Record<string, unknown>;
  return { sensor, metric, ts, value };
}
