import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr, Unpackr } from 'msgpackr';
import {
  ProtocolError,
  UNKNOWN_BOOT,
  countReadings,
  decodeBatch,
  decodeReadingSet,
  encodeBatch,
  encodeReadingSet,
  groupReadings,
  mergeSeries,
  type ReadingBatch,
  type SeriesReadings,
} from '../src/index.ts';

const T0 = 1_764_072_000_000;

function batch(series: SeriesReadings[], first = 100): ReadingBatch {
  return { agent: 'gym-1_box', stream: 'k3j9s0', first, last: first + countReadings(series) - 1, floor: 50, clockUnsynced: false, series };
}

function rejects(payload: Uint8Array, code: ProtocolError['code']): void {
  assert.throws(
    () => decodeBatch(payload),
    (err: unknown) => err instanceof ProtocolError && err.code === code,
  );
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

test('a batch survives the round trip with exact times and values at catalogue resolution', () => {
  const b = batch([
    { sensor: 'ble:c4:7f:51:00:11:22', metric: 'heart_rate', ts: [T0, T0 + 1000, T0 + 2003, T0 + 2999], values: [61, 64, 180, 179] },
    { sensor: 'ble:c4:7f:51:00:11:22', metric: 'rr_interval', ts: [T0 + 120, T0 + 901], values: [781, 1023] },
    { sensor: 'ant:11:54321', metric: 'power', ts: [T0 + 5, T0 + 255], values: [-12, 1450] },
    { sensor: 'gps:nmea:1', metric: 'latitude', ts: [T0], values: [-33.8567844] },
    { sensor: 'gps:nmea:1', metric: 'speed', ts: [T0, T0 + 250], values: [3.333, 0] },
    { sensor: 'serial:csafe:430012345', metric: 'incline', ts: [T0 + 10], values: [-3.5] },
  ]);
  const decoded = decodeBatch(encodeBatch(b));
  assert.deepEqual(decoded, b);
});

test('values are quantised to the metric resolution, not truncated', () => {
  const b = batch([{ sensor: 's1', metric: 'cadence', ts: [T0, T0 + 1], values: [90.26, 90.24] }]);
  assert.deepEqual(decodeBatch(encodeBatch(b)).series[0]?.values, [90.3, 90.2]);
});

test('clock flag and empty batches round-trip', () => {
  const b: ReadingBatch = { agent: 'a', stream: 's', first: 7, last: 6, floor: 7, clockUnsynced: true, boot: 'b', series: [] };
  assert.throws(
    () => decodeBatch(encodeBatch(b)),
    (e: unknown) => e instanceof ProtocolError && e.code === 'invalid',
  );
  const one = batch([{ sensor: 's', metric: 'battery', ts: [T0], values: [80] }]);
  one.clockUnsynced = true;
  one.boot = 'b';
  assert.equal(decodeBatch(encodeBatch(one)).clockUnsynced, true);
});

test('a steady 1 Hz stream costs a few bytes per reading', () => {
  const n = 600;
  const ts = Array.from({ length: n }, (_, i) => T0 + i * 1000 + (i % 3));
  const values = Array.from({ length: n }, (_, i) => 120 + Math.round(10 * Math.sin(i / 30)));
  const bytes = encodeBatch(batch([{ sensor: 'ble:c4:7f:51:00:11:22', metric: 'heart_rate', ts, values }])).length;
  assert.ok(bytes / n < 3, `${bytes / n} bytes per reading`);
});

test('encoding refuses what the hub would refuse', () => {
  assert.throws(() => encodeBatch({ ...batch([{ sensor: 's', metric: 'heart_rate', ts: [T0], values: [60] }]), last: 101 }), /does not match/);
  assert.throws(() => encodeBatch(batch([{ sensor: 's', metric: 'heart_rate', ts: [T0], values: [Number.NaN] }])), /outside/);
  assert.throws(() => encodeBatch(batch([{ sensor: 's', metric: 'heart_rate', ts: [T0], values: [301] }])), /outside/);
  assert.throws(() => encodeBatch(batch([{ sensor: 's', metric: 'heart_rate', ts: [T0 + 0.5], values: [60] }])), /whole milliseconds/);
});

test('garbage is rejected as malformed', () => {
  rejects(Buffer.from([0xc1]), 'malformed');
  rejects(Buffer.from([0x93, 0x01]), 'malformed');
  rejects(Buffer.from('{"json":true}'), 'malformed');
  rejects(Buffer.alloc(0), 'malformed');
});

test('an unknown batch version is rejected with a reason that names it', () => {
  const payload = packr.pack([2, 'a', 's', 0, 0, 0, 0, T0, []]);
  assert.throws(
    () => decodeBatch(payload),
    (e: unknown) => e instanceof ProtocolError && e.code === 'unsupported_version' && /version 2/.test(e.message),
  );
});

test('structural errors name the path', () => {
  const good = encodeBatch(batch([{ sensor: 's', metric: 'heart_rate', ts: [T0], values: [60] }]));
  const wire = new Unpackr({ useRecords: false }).unpack(good) as unknown[];
  const badAgent = [...wire];
  badAgent[1] = 'a/b';
  assert.throws(
    () => decodeBatch(packr.pack(badAgent)),
    (e: unknown) => e instanceof ProtocolError && e.code === 'invalid' && e.message.startsWith('/1'),
  );
  const badSeq = [...wire];
  badSeq[3] = -1;
  rejects(packr.pack(badSeq), 'invalid');
  const reversed = [...wire];
  reversed[3] = 10;
  reversed[4] = 9;
  rejects(packr.pack(reversed), 'invalid');
});

test('count mismatch, unknown metric and out-of-range values are rejected', () => {
  rejects(packr.pack([1, 'a', 's', 0, 5, 0, 0, T0, [['s', [[1, [0], [60]]]]]]), 'count_mismatch');
  rejects(packr.pack([1, 'a', 's', 0, 0, 0, 0, T0, [['s', [[999, [0], [60]]]]]]), 'unknown_metric');
  rejects(packr.pack([1, 'a', 's', 0, 0, 0, 0, T0, [['s', [[1, [0], [400]]]]]]), 'out_of_range');
  rejects(packr.pack([1, 'a', 's', 0, 1, 0, 0, T0, [['s', [[1, [0, 0], [60]]]]]]), 'invalid');
  rejects(packr.pack([1, 'a', 's', 0, 0, 0, 0, T0, [['s', [[1, [-T0 - 5], [60]]]]]]), 'out_of_range');
});

test('oversized payloads are refused; far larger ones without decoding', () => {
  assert.throws(
    () => decodeBatch(Buffer.alloc(8192), 1024),
    (e: unknown) => e instanceof ProtocolError && e.code === 'too_large' && e.batch === undefined,
  );
  const ts = Array.from({ length: 400 }, (_, i) => T0 + i * 1000);
  const big = encodeBatch(batch([{ sensor: 's', metric: 'power', ts, values: ts.map((_, i) => (i % 2) * 1000) }]));
  assert.ok(big.length > 1024 && big.length < 4096);
  assert.throws(
    () => decodeBatch(big, 1024),
    (e: unknown) => e instanceof ProtocolError && e.code === 'too_large' && e.batch?.stream === 'k3j9s0' && e.batch.first === 100 && e.batch.last === 499,
  );
});

test('a refused batch names its range when its head is readable, so the agent can drop it', () => {
  const wrongCount = packr.pack([1, 'a', 'st', 5, 9, 0, 0, T0, [['s', [[1, [0], [60]]]]]]);
  assert.throws(
    () => decodeBatch(wrongCount),
    (e: unknown) => e instanceof ProtocolError && e.code === 'count_mismatch' && JSON.stringify(e.batch) === '{"stream":"st","first":5,"last":9}',
  );
  const headless = packr.pack([1, 'a', '', 5, 9]);
  assert.throws(
    () => decodeBatch(headless),
    (e: unknown) => e instanceof ProtocolError && e.batch === undefined,
  );
  assert.throws(
    () => decodeBatch(Buffer.from([0xc1])),
    (e: unknown) => e instanceof ProtocolError && e.batch === undefined,
  );
});

test('reading sets (the outbox form) round-trip; grouping and merging keep order', () => {
  const readings = [
    { sensor: 'a', metric: 'heart_rate' as const, ts: T0, value: 60 },
    { sensor: 'b', metric: 'power' as const, ts: T0 + 3, value: 200 },
    { sensor: 'a', metric: 'heart_rate' as const, ts: T0 + 1000, value: 61 },
  ];
  const grouped = groupReadings(readings);
  assert.deepEqual(decodeReadingSet(encodeReadingSet(grouped)), grouped);
  const merged = mergeSeries([grouped, groupReadings([{ sensor: 'a', metric: 'heart_rate', ts: T0 + 2000, value: 62 }])]);
  assert.deepEqual(merged[0], { sensor: 'a', metric: 'heart_rate', ts: [T0, T0 + 1000, T0 + 2000], values: [60, 61, 62] });
  assert.equal(countReadings(merged), 4);
});

test('a batch with an unconfirmed clock names its boot, and only such a batch does', () => {
  const one = batch([{ sensor: 's', metric: 'battery', ts: [T0, T0 + 1000], values: [80, 79] }]);
  assert.throws(() => encodeBatch({ ...one, clockUnsynced: true }), /must name its boot/);
  assert.throws(() => encodeBatch({ ...one, boot: 'b-1' }), /only a batch with an unconfirmed clock/);
  const unsynced = decodeBatch(encodeBatch({ ...one, clockUnsynced: true, boot: '0f6c1a2e-1c53-4d0b-9a3c-5f4b7c2d9e10' }));
  assert.equal(unsynced.clockUnsynced, true);
  assert.equal(unsynced.boot, '0f6c1a2e-1c53-4d0b-9a3c-5f4b7c2d9e10');
  assert.equal(decodeBatch(encodeBatch(one)).boot, undefined);
});

test('a boot named on a batch whose clock is confirmed, or a boot id of the wrong shape, is refused with its range', () => {
  const one = batch([{ sensor: 's', metric: 'battery', ts: [T0, T0 + 1000], values: [80, 79] }]);
  const head = [1, one.agent, one.stream, one.first, one.last, one.floor];
  const wire = unpackr.unpack(encodeBatch(one)) as unknown[];
  const withBoot = (flags: number, boot: unknown): Buffer => packr.pack([...head, flags, wire[7], wire[8], boot]);
  assert.throws(
    () => decodeBatch(withBoot(0, 'b-1')),
    (err: unknown) => err instanceof ProtocolError && err.code === 'invalid' && err.batch?.first === one.first,
  );
  assert.throws(
    () => decodeBatch(withBoot(1, 'no spaces allowed')),
    (err: unknown) => err instanceof ProtocolError && err.code === 'invalid',
  );
  assert.throws(
    () => decodeBatch(withBoot(1, 'x'.repeat(65))),
    (err: unknown) => err instanceof ProtocolError && err.code === 'invalid',
  );
});

test('a flagged batch from an agent that does not name boots is read as of an unknown boot', () => {
  const one = batch([{ sensor: 's', metric: 'battery', ts: [T0, T0 + 1000], values: [80, 79] }]);
  const wire = unpackr.unpack(encodeBatch(one)) as unknown[];
  wire[6] = 1;
  const decoded = decodeBatch(packr.pack(wire));
  assert.equal(decoded.clockUnsynced, true);
  assert.equal(decoded.boot, UNKNOWN_BOOT);
});

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('a batch carries the trace context of its send as an eleventh element, with or without a boot', () => {
  const one = batch([{ sensor: 's', metric: 'battery', ts: [T0, T0 + 1000], values: [80, 79] }]);
  const synced = encodeBatch({ ...one, traceparent: TRACEPARENT });
  assert.deepEqual((unpackr.unpack(synced) as unknown[]).slice(9), [null, TRACEPARENT]);
  assert.equal(decodeBatch(synced).traceparent, TRACEPARENT);
  assert.equal(decodeBatch(synced).boot, undefined);
  const unsynced = decodeBatch(encodeBatch({ ...one, clockUnsynced: true, boot: 'b-1', traceparent: TRACEPARENT }));
  assert.deepEqual([unsynced.boot, unsynced.traceparent, unsynced.clockUnsynced], ['b-1', TRACEPARENT, true]);
});

test('a batch without trace context is encoded exactly as before, so hubs that predate it read it', () => {
  const one = batch([{ sensor: 's', metric: 'battery', ts: [T0, T0 + 1000], values: [80, 79] }]);
  assert.equal((unpackr.unpack(encodeBatch(one)) as unknown[]).length, 9);
  assert.equal((unpackr.unpack(encodeBatch({ ...one, clockUnsynced: true, boot: 'b-1' })) as unknown[]).length, 10);
  assert.equal(decodeBatch(encodeBatch(one)).traceparent, undefined);
});

test('a malformed trace context is ignored and the readings are still read', () => {
  const one = batch([{ sensor: 's', metric: 'battery', ts: [T0, T0 + 1000], values: [80, 79] }]);
  const wire = unpackr.unpack(encodeBatch(one)) as unknown[];
  const malformed: unknown[] = [
    'not a traceparent',
    TRACEPARENT.toUpperCase(),
    `${TRACEPARENT}-extra`,
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'x'.repeat(10_000),
    42,
    { traceparent: TRACEPARENT },
    [TRACEPARENT],
    null,
  ];
  for (const value of malformed) {
    const decoded = decodeBatch(packr.pack([...wire, null, value]));
    assert.equal(decoded.traceparent, undefined, `ignored: ${String(value).slice(0, 40)}`);
    assert.equal(countReadings(decoded.series), 2);
  }
  assert.throws(() => encodeBatch({ ...one, traceparent: 'not a traceparent' }), /traceparent/);
});

test('the slot before a trace context holds the boot or nil: a boot on a confirmed clock, or anything else there, is refused', () => {
  const one = batch([{ sensor: 's', metric: 'battery', ts: [T0, T0 + 1000], values: [80, 79] }]);
  const wire = unpackr.unpack(encodeBatch(one)) as unknown[];
  for (const slot of ['b-1', 7, 'no spaces allowed']) {
    assert.throws(
      () => decodeBatch(packr.pack([...wire, slot, TRACEPARENT])),
      (err: unknown) => err instanceof ProtocolError && err.code === 'invalid' && err.batch?.first === one.first,
    );
  }
  assert.throws(
    () => decodeBatch(packr.pack([...wire, null, TRACEPARENT, 'a twelfth element'])),
    (err: unknown) => err instanceof ProtocolError && err.code === 'invalid',
  );
});
