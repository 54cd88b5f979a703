/**
 * The compact readings encoding: MessagePack arrays, timestamps as delta-of-delta milliseconds and values as
 * deltas of integers quantised to the metric's resolution. A sensor sampled at a steady rate with a slowly
 * changing value costs about two bytes a reading; the sensor id is paid once per batch.
 */
import { Packr, Unpackr } from 'msgpackr';
import { errorMessage } from '@pulsebridge/runtime/errors';
import { ProtocolError, type BatchRange } from './errors.ts';
import { METRICS, metricByCode, type MetricId } from './metrics.ts';
import { MAX_DATE_MS, countReadings, type SeriesReadings } from './readings.ts';
import { MAX_TRACE_CONTEXT_CHARS, WireSyncedBatch, WireTracedBatch, WireUnsyncedBatch } from './schemas.ts';
import { compileValidator } from './validate.ts';

export const BATCH_VERSION = 1;
export const FLAG_CLOCK_UNSYNCED = 1;

export interface ReadingBatch {
  agent: string;
  /** Outbox stream: sequence numbers are unique within (agent, stream). */
  stream: string;
  first: number;
  last: number;
  /** The agent will never send a sequence number below this again; the hub may forget what lies under it. */
  floor: number;
  /**
   * True when the readings' times are their boot's own wall clock, not yet confirmed against true time.
   * Such a batch holds readings of one boot only, named by `boot` (required then; absent otherwise).
   */
  clockUnsynced: boolean;
  boot?: string;
  series: SeriesReadings[];
  /**
   * W3C traceparent of the agent's send, so that the hub's handling joins the agent's trace. Absent when the
   * agent does not trace; a received one that is not a valid traceparent is dropped, never refused.
   */
  traceparent?: string;
}

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const validateSynced = compileValidator(WireSyncedBatch);
const validateUnsynced = compileValidator(WireUnsyncedBatch);
const validateTraced = compileValidator(WireTracedBatch);
/** Version 00 of W3C trace context: version, trace id, parent span id, flags; an all-zero id is invalid. */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The carried trace context when it is a valid traceparent; anything else is ignored, never refused. */
function traceparentOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_TRACE_CONTEXT_CHARS && TRACEPARENT.test(value) ? value : undefined;
}
/** A batch from an agent that flagged its clock before batches named their boot. */
export const UNKNOWN_BOOT = 'unknown';

const scaleOf = (metric: MetricId): number => 10 ** METRICS[metric].decimals;

type WireSensor = [string, [number, number[], number[]][]];

function toWireSensors(series: readonly SeriesReadings[]): { t0: number; sensors: WireSensor[] } {
  let t0 = Number.POSITIVE_INFINITY;
  for (const s of series) for (const t of s.ts) if (t < t0) t0 = t;
  if (!Number.isFinite(t0)) t0 = 0;
  const sensors = new Map<string, WireSensor>();
  for (const s of series) {
    if (s.ts.length !== s.values.length) throw new ProtocolError('invalid', `series ${s.sensor}/${s.metric}: ${s.ts.length} times but ${s.values.length} values`);
    if (s.ts.length === 0) continue;
    const spec = METRICS[s.metric];
    if (!spec) throw new ProtocolError('unknown_metric', `unknown metric "${s.metric}"`);
    const scale = scaleOf(s.metric);
    const dts = new Array<number>(s.ts.length);
    const dvs = new Array<number>(s.ts.length);
    let prevT = t0;
    let prevDelta = 0;
    let prevQ = 0;
    for (let i = 0; i < s.ts.length; i++) {
      const t = s.ts[i]!;
      const v = s.values[i]!;
      if (!Number.isInteger(t)) throw new ProtocolError('invalid', `series ${s.sensor}/${s.metric}: time ${t} is not whole milliseconds`);
      // What decoding refuses is refused here too, or an outbox would keep chunks it can never read back.
      if (t < 0 || t > MAX_DATE_MS) throw new ProtocolError('out_of_range', `series ${s.sensor}/${s.metric}: time ${t} is not a valid UTC millisecond`);
      if (!Number.isFinite(v) || v < spec.min || v > spec.max) {
        throw new ProtocolError('out_of_range', `series ${s.sensor}/${s.metric}: value ${v} outside ${spec.min}..${spec.max}`);
      }
      const delta = t - prevT;
      dts[i] = delta - prevDelta;
      prevDelta = delta;
      prevT = t;
      const q = Math.round(v * scale);
      dvs[i] = q - prevQ;
      prevQ = q;
    }
    let sensor = sensors.get(s.sensor);
    if (!sensor) {
      sensor = [s.sensor, []];
      sensors.set(s.sensor, sensor);
    }
    sensor[1].push([spec.code, dts, dvs]);
  }
  return { t0, sensors: [...sensors.values()] };
}

function fromWireSensors(t0: number, sensors: readonly WireSensor[]): SeriesReadings[] {
  const out: SeriesReadings[] = [];
  for (const [sensor, seriesList] of sensors) {
    for (const [code, dts, dvs] of seriesList) {
      const metric = metricByCode(code);
      if (!metric) throw new ProtocolError('unknown_metric', `sensor ${sensor}: unknown metric code ${code}`);
      if (dts.length !== dvs.length) throw new ProtocolError('invalid', `sensor ${sensor}/${metric}: ${dts.length} times but ${dvs.length} values`);
      const spec = METRICS[metric];
      const scale = scaleOf(metric);
      const ts = new Array<number>(dts.length);
      const values = new Array<number>(dts.length);
      let t = t0;
      let delta = 0;
      let q = 0;
      for (let i = 0; i < dts.length; i++) {
        delta += dts[i]!;
        t += delta;
        q += dvs[i]!;
        const v = q / scale;
        if (!Number.isSafeInteger(t) || t < 0 || t > MAX_DATE_MS) throw new ProtocolError('out_of_range', `sensor ${sensor}/${metric}: time ${t} is not a valid UTC millisecond`);
        if (v < spec.min || v > spec.max) throw new ProtocolError('out_of_range', `sensor ${sensor}/${metric}: value ${v} outside ${spec.min}..${spec.max}`);
        ts[i] = t;
        values[i] = v;
      }
      out.push({ sensor, metric, ts, values });
    }
  }
  return out;
}

export function encodeBatch(batch: ReadingBatch): Buffer {
  const count = countReadings(batch.series);
  if (batch.last - batch.first + 1 !== count) {
    throw new ProtocolError('count_mismatch', `sequence ${batch.first}..${batch.last} does not match ${count} readings`);
  }
  const { t0, sensors } = toWireSensors(batch.series);
  if (batch.clockUnsynced !== (batch.boot !== undefined)) {
    throw new ProtocolError('invalid', batch.clockUnsynced ? 'a batch with an unconfirmed clock must name its boot' : 'only a batch with an unconfirmed clock names its boot');
  }
  const head = [BATCH_VERSION, batch.agent, batch.stream, batch.first, batch.last, batch.floor, batch.clockUnsynced ? FLAG_CLOCK_UNSYNCED : 0, t0, sensors];
  if (batch.traceparent !== undefined) {
    if (traceparentOf(batch.traceparent) === undefined) throw new ProtocolError('invalid', 'traceparent is not a W3C traceparent (version 00)');
    return packr.pack([...head, batch.boot ?? null, batch.traceparent]);
  }
  return packr.pack(batch.boot === undefined ? head : [...head, batch.boot]);
}

/** A version field as the refusal names it. Never JSON.stringify: it throws on a BigInt or on deep nesting. */
function describeVersion(version: unknown): string {
  if (typeof version === 'number' || typeof version === 'bigint' || typeof version === 'boolean') return String(version);
  if (typeof version === 'string') return JSON.stringify(version.slice(0, 16));
  return Array.isArray(version) ? 'of an array' : version === null ? 'null' : `of type ${typeof version}`;
}

/** The stream and range of a batch whose head is well formed, however broken the rest is. */
function rangeOf(raw: unknown[]): BatchRange | undefined {
  const [, , stream, first, last] = raw;
  const valid =
    typeof stream === 'string' &&
    stream.length > 0 &&
    stream.length <= 32 &&
    Number.isSafeInteger(first) &&
    Number.isSafeInteger(last) &&
    (first as number) >= 0 &&
    (last as number) >= (first as number);
  return valid ? { stream, first: first as number, last: last as number } : undefined;
}

/**
 * Decodes and validates a readings batch. Throws ProtocolError with a code the hub counts and, when the
 * batch's head was readable, the range to refuse, so that the agent can drop a batch that can never be
 * stored instead of resending it forever.
 */
export function decodeBatch(payload: Uint8Array, maxBytes = 1024 * 1024): ReadingBatch {
  // Somewhat larger payloads are still read to learn their range; far larger ones are not worth the work.
  if (payload.byteLength > 4 * maxBytes) throw new ProtocolError('too_large', `batch of ${payload.byteLength} bytes exceeds ${maxBytes}`);
  let raw: unknown;
  try {
    raw = unpackr.unpack(payload);
  } catch (err) {
    // A RangeError from nesting deeper than the stack lands here too: it is the payload's fault, not the hub's.
    throw new ProtocolError('malformed', `not a MessagePack value: ${errorMessage(err)}`);
  }
  if (!Array.isArray(raw)) throw new ProtocolError('malformed', 'batch is not an array');
  const range = rangeOf(raw);
  try {
    if (payload.byteLength > maxBytes) throw new ProtocolError('too_large', `batch of ${payload.byteLength} bytes exceeds ${maxBytes}`);
    if (raw[0] !== BATCH_VERSION) throw new ProtocolError('unsupported_version', `unsupported batch version ${describeVersion(raw[0])}; this hub reads version ${BATCH_VERSION}`);
    const [, agent, stream, first, last, floor, flags, t0, sensors, named, traceContext] =
      raw.length === 11 ? validateTraced.check(raw) : raw.length === 10 ? validateUnsynced.check(raw) : validateSynced.check(raw);
    const clockUnsynced = (flags & FLAG_CLOCK_UNSYNCED) !== 0;
    if (named != null && !clockUnsynced) throw new ProtocolError('invalid', '/9: only a batch with an unconfirmed clock names its boot');
    if (last < first) throw new ProtocolError('invalid', `sequence range ${first}..${last} is reversed`);
    const series = fromWireSensors(t0, sensors);
    const count = countReadings(series);
    if (last - first + 1 !== count) throw new ProtocolError('count_mismatch', `sequence ${first}..${last} does not match ${count} readings`);
    const batch: ReadingBatch = { agent, stream, first, last, floor, clockUnsynced, series };
    if (clockUnsynced) batch.boot = named ?? UNKNOWN_BOOT;
    const traceparent = traceparentOf(traceContext);
    if (traceparent !== undefined) batch.traceparent = traceparent;
    return batch;
  } catch (err) {
    if (err instanceof ProtocolError && range) throw new ProtocolError(err.code, err.message, range);
    throw err;
  }
}

/** The same encoding without the batch envelope: how the agent's outbox keeps readings at rest. */
export function encodeReadingSet(series: readonly SeriesReadings[]): Buffer {
  const { t0, sensors } = toWireSensors(series);
  return packr.pack([t0, sensors]);
}

export function decodeReadingSet(payload: Uint8Array): SeriesReadings[] {
  const [t0, sensors] = unpackr.unpack(payload) as [number, WireSensor[]];
  return fromWireSensors(t0, sensors);
}
