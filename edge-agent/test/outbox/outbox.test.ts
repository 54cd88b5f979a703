// Over 500 lines: the outbox's one behaviour suite (append, flush, ack, bounds, recovery); integrity, ownership and full-disk cases have their own files.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { closeSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_DATE_MS, type Reading } from '@pulsebridge/protocol';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import { Outbox, OutboxConfig, type PendingChunk } from '../../src/outbox/outbox.ts';
import { OutboxError } from '../../src/outbox/errors.ts';
import { DROP_REPORT_INTERVAL_MS, type OutboxDropReport } from '../../src/outbox/drop-report.ts';
import { ManualTime, T0, flatten, garbleDatabase, openOutbox, overwrite, startOutbox, reading, readings, silentLog, tempDir } from './fixtures.ts';

function appendAll(outbox: Outbox, list: readonly Reading[]): void {
  for (const r of list) outbox.append(r);
}

/** Appends `sizes.length` chunks of the given sizes, one flush each. */
function appendChunks(outbox: Outbox, sizes: readonly number[], start = T0): void {
  let ts = start;
  for (const size of sizes) {
    appendAll(outbox, readings('ble:aa:bb', ts, size));
    ts += size * 250;
    outbox.flush();
  }
}

const ranges = (chunks: readonly PendingChunk[]): [number, number][] => chunks.map((c) => [c.first, c.last]);

test('OutboxConfig fills the documented defaults, and the Outbox refuses options outside the schema', async () => {
  const { Value } = await import('@sinclair/typebox/value');
  assert.deepEqual(Value.Default(OutboxConfig, {}), {
    path: 'data/agent/outbox.db',
    flushIntervalMs: 250,
    maxChunkReadings: 5000,
    maxBytes: 268_435_456,
    maxAgeMs: 604_800_000,
  });
  assert.throws(
    () => new Outbox({ clock: new ManualTime().clock(), log: silentLog, flushIntervalMs: -1 }),
    (err) => err instanceof OutboxError && err.code === 'invalid_config',
  );
  assert.throws(() => new Outbox({ clock: new ManualTime().clock(), log: silentLog, ...({ colour: 'red' } as object) }), OutboxError);
});

test('round trip: appended readings come back from load, grouped per series', (t) => {
  const time = new ManualTime();
  const outbox = openOutbox(t, { clock: time.clock() });
  const flushed: PendingChunk[] = [];
  outbox.on('flushed', (chunk) => flushed.push(chunk));
  const input: Reading[] = [
    reading('ble:c0:ff:ee:00:11:22', T0, 140),
    reading('ble:c0:ff:ee:00:11:22', T0 + 1000, 141),
    reading('ble:c0:ff:ee:00:11:22', T0 + 500, 250.5, 'power'),
    reading('ant:120:12345:1', T0 + 20, 90),
    reading('ble:c0:ff:ee:00:11:22', T0 + 2000, 142),
    reading('nmea:gps', T0 + 40, 47.3769123, 'latitude'),
    reading('nmea:gps', T0 + 41, -122.4194155, 'longitude'),
  ];
  appendAll(outbox, input);
  assert.equal(outbox.stats().buffered, input.length);
  assert.deepEqual(outbox.pending(10, 'oldest'), [], 'nothing is visible before the flush');
  outbox.flush();
  assert.equal(flushed.length, 1);
  assert.deepEqual(outbox.pending(10, 'oldest'), flushed);
  const [chunk] = flushed;
  assert.equal(chunk!.first, 0);
  assert.equal(chunk!.last, input.length - 1);
  assert.equal(chunk!.createdAt, T0, 'createdAt is the oldest reading');
  assert.ok(chunk!.bytes > 0 && chunk!.bytes < 120, `payload of ${chunk!.bytes} bytes`);
  const loaded = outbox.load([chunk!.id]);
  // power is whole watts on the wire: 250.5 rounds to 251 (documented resolution of the catalogue)
  const expected = input.map((r) => (r.metric === 'power' ? { ...r, value: 251 } : r));
  assert.deepEqual(flatten(loaded.series), flatten(expected.map((r) => ({ sensor: r.sensor, metric: r.metric, ts: [r.ts], values: [r.value] }))));
  assert.equal(loaded.readings, input.length);
  assert.deepEqual(loaded.chunks, flushed);
  assert.equal(loaded.clockUnsynced, true, 'the clock never learned true time');
  const stats = outbox.stats();
  assert.equal(stats.readings, input.length);
  assert.equal(stats.chunks, 1);
  assert.equal(stats.bytes, chunk!.bytes);
  assert.equal(stats.appended, input.length);
  assert.equal(stats.buffered, 0);
});

test('readings of one series that share a millisecond are spread apart; a clock step is left alone', (t) => {
  const outbox = openOutbox(t, { clock: new ManualTime().clock() });
  // Three frames that queued behind a busy event loop get the same receive time; another series is untouched.
  appendAll(outbox, [
    reading('ant:120:1000:1', T0, 120),
    reading('ant:120:1000:1', T0, 121),
    reading('ant:120:1000:1', T0, 122),
    reading('ant:120:1000:1', T0, 600, 'rr_interval'),
    reading('ant:120:1000:1', T0 - 5_000, 123),
  ]);
  outbox.flush();
  const [chunk] = outbox.pending(1, 'oldest');
  const series = outbox.load([chunk!.id]).series;
  assert.deepEqual(series.find((s) => s.metric === 'heart_rate')?.ts, [T0, T0 + 1, T0 + 2, T0 - 5_000]);
  assert.deepEqual(series.find((s) => s.metric === 'rr_interval')?.ts, [T0]);
  assert.equal(outbox.stats().appended, 5);
});

test('the flush timer commits buffered readings without an explicit flush', async (t) => {
  const outbox = openOutbox(t, { clock: new ManualTime().clock(), flushIntervalMs: 20 });
  const flushed = once(outbox, 'flushed', { signal: AbortSignal.timeout(2_000) });
  outbox.append(reading('s1', T0));
  const [chunk] = (await flushed) as [PendingChunk];
  assert.deepEqual([chunk.first, chunk.last], [0, 0]);
  assert.equal(outbox.stats().buffered, 0);
});

test('maxChunkReadings flushes early and bounds the chunk size', (t) => {
  const outbox = openOutbox(t, { clock: new ManualTime().clock(), maxChunkReadings: 10 });
  appendAll(outbox, readings('s1', T0, 25));
  assert.deepEqual(ranges(outbox.pending(10, 'oldest')), [
    [0, 9],
    [10, 19],
  ]);
  assert.equal(outbox.stats().buffered, 5);
  outbox.flush();
  assert.deepEqual(ranges(outbox.pending(10, 'oldest')).at(-1), [20, 24]);
});

test('sequence ranges are contiguous and survive reopening, even when everything was acknowledged', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime();
  const first = startOutbox(path, time.clock());
  appendChunks(first, [3, 1, 5]);
  const stream = first.stream;
  assert.match(stream, /^[a-z0-9]{10}$/);
  assert.deepEqual(ranges(first.pending(10, 'oldest')), [
    [0, 2],
    [3, 3],
    [4, 8],
  ]);
  first.append(reading('s1', T0 + 99_000));
  first.stop();

  const second = startOutbox(path, time.clock());
  assert.equal(second.stream, stream);
  assert.deepEqual(
    ranges(second.pending(10, 'oldest')),
    [
      [0, 2],
      [3, 3],
      [4, 8],
      [9, 9],
    ],
    'stop() flushed the buffered reading',
  );
  assert.equal(second.stats().readings, 10);
  assert.equal(second.floor(), 0);
  assert.equal(second.acknowledge(0, 9), 10);
  assert.equal(second.floor(), 10, 'empty: the floor is the next sequence number');
  second.stop();

  const third = openOutbox(t, { path, clock: time.clock() });
  assert.equal(third.stream, stream);
  assert.equal(third.floor(), 10, 'the counter survived although no chunk is left');
  appendChunks(third, [2]);
  assert.deepEqual(ranges(third.pending(10, 'oldest')), [[10, 11]]);
});

test('the lifetime total of accepted readings survives restarts and counts on; acknowledging does not lower it', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime();
  const first = startOutbox(path, time.clock());
  appendChunks(first, [3, 1, 5]);
  first.append(reading('s1', T0 + 99_000));
  assert.equal(first.stats().acceptedTotal, 10, 'a buffered reading is accepted before it is flushed');
  first.append(reading('s1', T0, 999));
  assert.equal(first.stats().acceptedTotal, 10, 'an invalid reading is not accepted');
  first.acknowledge(0, 8);
  first.stop();

  const second = startOutbox(path, time.clock());
  assert.deepEqual([second.stats().appended, second.stats().acceptedTotal], [0, 10], 'appended counts this run, the total every run');
  appendChunks(second, [4]);
  assert.equal(second.stats().acceptedTotal, 14);
  second.stop();

  const third = openOutbox(t, { path, clock: time.clock() });
  assert.equal(third.stats().acceptedTotal, 14);
});

test('a database written before the lifetime total existed counts its readings from its sequence numbers', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime();
  const first = startOutbox(path, time.clock());
  appendChunks(first, [3]);
  first.acknowledge(0, 2);
  first.stop();
  const older = new Database(path);
  older.prepare("DELETE FROM meta WHERE key = 'committed_before'").run();
  older.close();

  const reopened = openOutbox(t, { path, clock: time.clock() });
  assert.equal(reopened.stats().acceptedTotal, 3, 'acknowledged and deleted readings still count');
  appendChunks(reopened, [2]);
  assert.equal(reopened.stats().acceptedTotal, 5);
  assert.deepEqual(ranges(reopened.pending(10, 'oldest')), [[3, 4]]);
});

test('acknowledge deletes exactly the chunks inside the range', (t) => {
  const outbox = openOutbox(t, { clock: new ManualTime().clock() });
  appendChunks(outbox, [10, 10, 10, 10]);
  assert.equal(outbox.acknowledge(5, 25), 10, 'only [10, 19] lies inside');
  assert.deepEqual(ranges(outbox.pending(10, 'oldest')), [
    [0, 9],
    [20, 29],
    [30, 39],
  ]);
  assert.equal(outbox.acknowledge(10, 19), 0, 'already gone');
  assert.equal(outbox.acknowledge(0, 9), 10);
  assert.equal(outbox.floor(), 20);
  assert.equal(outbox.acknowledge(30, 39), 10, 'the newest chunk');
  assert.equal(outbox.acknowledge(-5, 3), 0, 'invalid range');
  assert.equal(outbox.acknowledge(9, 2), 0, 'reversed range');
  assert.equal(outbox.acknowledge(Number.NaN, 3), 0);
  const stats = outbox.stats();
  assert.equal(stats.acknowledged, 30);
  assert.equal(stats.readings, 10);
  assert.equal(stats.chunks, 1);
  assert.deepEqual(stats.dropped, { overflow: 0, expired: 0, rejected: 0, invalid: 0, invalidSensor: 0, corrupt: 0 });
  appendChunks(outbox, [1]);
  assert.deepEqual(
    ranges(outbox.pending(10, 'oldest')),
    [
      [20, 29],
      [40, 40],
    ],
    'acknowledging the newest chunk does not reuse its numbers',
  );
});

test('reject deletes like acknowledge but counts the readings as rejected', (t) => {
  const outbox = openOutbox(t, { clock: new ManualTime().clock() });
  appendChunks(outbox, [4, 6]);
  assert.equal(outbox.reject(0, 3, 'unknown sensor'), 4);
  assert.equal(outbox.reject(0, 3, 'again'), 0);
  const stats = outbox.stats();
  assert.equal(stats.dropped.rejected, 4);
  assert.equal(stats.acknowledged, 0);
  assert.equal(stats.readings, 6);
  assert.deepEqual(ranges(outbox.pending(10, 'oldest')), [[4, 9]]);
});

test('pending: order, limit and exclusions; load: skips unknown ids and merges in sequence order', (t) => {
  const outbox = openOutbox(t, { clock: new ManualTime().clock() });
  appendChunks(outbox, [2, 2, 2, 2]);
  assert.deepEqual(ranges(outbox.pending(2, 'newest')), [
    [6, 7],
    [4, 5],
  ]);
  assert.deepEqual(ranges(outbox.pending(2, 'oldest', new Set([0, 4]))), [
    [2, 3],
    [6, 7],
  ]);
  assert.deepEqual(outbox.pending(0, 'oldest'), []);
  assert.deepEqual(outbox.pending(Number.NaN, 'oldest'), []);
  const loaded = outbox.load([6, 2, 999, 2, -1, 1.5]);
  assert.deepEqual(ranges(loaded.chunks), [
    [2, 3],
    [6, 7],
  ]);
  assert.equal(loaded.readings, 4);
  assert.equal(loaded.series.length, 1, 'one series for one sensor and metric');
  const ts = loaded.series[0]!.ts;
  assert.deepEqual(
    ts,
    [...ts].sort((a, b) => a - b),
    'older chunk first',
  );
  assert.deepEqual(outbox.load([]), { series: [], clockUnsynced: false, chunks: [], readings: 0 });
});

test('invalid readings are counted and skipped, valid ones kept', (t) => {
  const outbox = openOutbox(t, { clock: new ManualTime().clock() });
  const bad: unknown[] = [
    null,
    'heart_rate',
    { sensor: 's1', metric: 'blood_pressure', ts: T0, value: 120 },
    { sensor: 's1', metric: 'heart_rate', ts: T0, value: Number.NaN },
    { sensor: 's1', metric: 'heart_rate', ts: T0, value: Number.POSITIVE_INFINITY },
    { sensor: 's1', metric: 'heart_rate', ts: T0, value: 301 },
    { sensor: 's1', metric: 'heart_rate', ts: T0, value: -1 },
    { sensor: 's1', metric: 'heart_rate', ts: T0, value: '120' },
    { sensor: 's1', metric: 'heart_rate', ts: T0 + 0.5, value: 120 },
    { sensor: 's1', metric: 'heart_rate', ts: -1, value: 120 },
    { sensor: 's1', metric: 'heart_rate', ts: 2 ** 53, value: 120 },
    { sensor: 's1', metric: 'heart_rate', ts: MAX_DATE_MS + 1, value: 120 },
    { sensor: 's1', metric: 'toString', ts: T0, value: 120 },
  ];
  const badSensors: unknown[] = [
    { sensor: '', metric: 'heart_rate', ts: T0, value: 120 },
    { sensor: 'x'.repeat(65), metric: 'heart_rate', ts: T0, value: 120 },
    { sensor: 7, metric: 'heart_rate', ts: T0, value: 120 },
  ];
  for (const r of [...bad, ...badSensors]) assert.doesNotThrow(() => outbox.append(r as Reading));
  outbox.append(reading('s1', T0, 300));
  outbox.append(reading('x'.repeat(64), T0, 0));
  outbox.flush();
  const stats = outbox.stats();
  assert.equal(stats.dropped.invalid, bad.length);
  assert.equal(stats.dropped.invalidSensor, badSensors.length);
  assert.equal(stats.appended, 2);
  assert.equal(stats.readings, 2);
  const loaded = outbox.load(outbox.pending(10, 'oldest').map((c) => c.id));
  assert.deepEqual(flatten(loaded.series), [reading('s1', T0, 300), reading('x'.repeat(64), T0, 0)]);
});

test('a sensor id the hub would refuse is refused alone at append, counted under its own reason; the good readings around it are stored', (t) => {
  const outbox = openOutbox(t, { clock: new ManualTime().clock() });
  const good = [...readings('ble:c0-ff-ee-00-00-01', T0, 5), ...readings('ant:120:12345:1', T0, 5)];
  const refused = ['ant:hr:12345/1', 'ble:c0 ff ee', '-leading-dash', 'ünïcode', 'x'.repeat(65), 'a/b', 'line\nbreak'];
  for (const [i, r] of good.entries()) {
    outbox.append(r);
    const sensor = refused[i];
    if (sensor !== undefined) outbox.append(reading(sensor, T0 + i * 250));
  }
  outbox.flush();
  const stats = outbox.stats();
  assert.equal(stats.dropped.invalidSensor, refused.length);
  assert.equal(stats.dropped.invalid, 0);
  assert.equal(stats.readings, good.length);
  const loaded = outbox.load(outbox.pending(10, 'oldest').map((c) => c.id));
  assert.deepEqual(flatten(loaded.series), flatten(good.map((r) => ({ sensor: r.sensor, metric: r.metric, ts: [r.ts], values: [r.value] }))));
});

test('over maxBytes the oldest chunks are dropped, with exact counts', (t) => {
  const dir = tempDir(t);
  const outbox = openOutbox(t, { path: join(dir, 'outbox.db'), clock: new ManualTime().clock() });
  appendChunks(outbox, [10]);
  const chunkBytes = outbox.stats().bytes;
  outbox.stop();
  // Room for three such chunks, not four.
  const bounded = openOutbox(t, { path: join(dir, 'outbox.db'), clock: new ManualTime().clock(), maxBytes: chunkBytes * 3 + chunkBytes / 2 });
  appendChunks(bounded, [10, 10, 10, 10, 10], T0 + 10_000);
  const stats = bounded.stats();
  assert.deepEqual(ranges(bounded.pending(10, 'oldest')), [
    [30, 39],
    [40, 49],
    [50, 59],
  ]);
  assert.equal(stats.dropped.overflow, 30);
  assert.equal(stats.readings, 30);
  assert.ok(stats.bytes <= chunkBytes * 3 + chunkBytes / 2);
  assert.equal(bounded.floor(), 30);
  assert.equal(stats.dropped.expired, 0);
});

test('dropped readings are reported at most once per interval, with the count since the last report and the totals by reason', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const time = new ManualTime();
  // Every chunk is over maxBytes: each flush drops what it committed.
  const outbox = openOutbox(t, { path: join(tempDir(t), 'outbox.db'), clock: time.clock(), flushIntervalMs: 10, maxBytes: 1 });
  const reports: OutboxDropReport[] = [];
  outbox.on('dropped', (report) => reports.push(report));
  appendChunks(outbox, [10]);
  t.mock.timers.tick(10);
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.readings, 10);
  assert.equal(reports[0]!.totals.overflow, 10);
  assert.equal(reports[0]!.summary, '10 readings dropped since the last report (totals: overflow 10)');

  appendChunks(outbox, [5], T0 + 10_000);
  t.mock.timers.tick(10);
  assert.equal(reports.length, 1, 'no second report within the interval');
  time.advance(DROP_REPORT_INTERVAL_MS);
  t.mock.timers.tick(10);
  assert.equal(reports.length, 2);
  assert.equal(reports[1]!.summary, '5 readings dropped since the last report (totals: overflow 15)');
  t.mock.timers.tick(10);
  assert.equal(reports.length, 2, 'nothing new dropped, nothing reported');
});

test('chunks older than maxAgeMs expire on the timer, measured on the monotonic clock', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const time = new ManualTime();
  const outbox = openOutbox(t, { clock: time.clock(), maxAgeMs: 60_000, flushIntervalMs: 10 });
  appendAll(outbox, readings('s1', time.wall, 3));
  outbox.flush();
  time.advance(30_000);
  appendAll(outbox, readings('s1', time.wall, 4));
  outbox.flush();
  // Someone sets the wall clock a year ahead: elapsed time did not change, nothing may expire.
  time.setWall(time.wall + 365 * 86_400_000);
  t.mock.timers.tick(10);
  assert.equal(outbox.stats().dropped.expired, 0);
  assert.equal(outbox.stats().oldestAgeMs, 30_000);
  time.advance(30_001);
  t.mock.timers.tick(10);
  assert.equal(outbox.stats().dropped.expired, 3, 'the first chunk is 60 001 ms old');
  assert.deepEqual(ranges(outbox.pending(10, 'oldest')), [[3, 6]]);
  time.advance(30_000);
  t.mock.timers.tick(10);
  assert.equal(outbox.stats().dropped.expired, 7);
  assert.equal(outbox.stats().readings, 0);
  assert.equal(outbox.floor(), 7);
});

test('a file full of garbage is moved aside and replaced; appends keep working', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'outbox.db');
  const time = new ManualTime();
  const before = startOutbox(path, time.clock());
  appendChunks(before, [5, 5]);
  const oldStream = before.stream;
  before.stop();
  overwrite(path, 0, statSync(path).size);

  const outbox = new Outbox({ path, clock: time.clock(), log: silentLog, flushIntervalMs: 60_000 });
  assert.doesNotThrow(() => outbox.start());
  t.after(() => outbox.stop());
  assert.notEqual(outbox.stream, oldStream);
  const stats = outbox.stats();
  assert.equal(stats.corruptRecoveries, 1);
  assert.equal(stats.readings, 0);
  const aside = readdirSync(dir).filter((f) => /^outbox\.db\.corrupt-\d{8}T\d{6}Z$/.test(f));
  assert.equal(aside.length, 1, `moved aside: ${readdirSync(dir).join(', ')}`);
  assert.ok(statSync(join(dir, aside[0]!)).size > 0, 'the damaged file is kept for inspection');
  appendChunks(outbox, [3]);
  assert.deepEqual(ranges(outbox.pending(10, 'oldest')), [[0, 2]]);
  assert.equal(outbox.load([0]).readings, 3);
});

test('damaged pages behind an intact header are found by the check at start', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime();
  const before = startOutbox(path, time.clock());
  // Many sensors and irregular values: a file of many pages, not a few compressible ones.
  for (let chunk = 0; chunk < 40; chunk++) {
    for (let s = 0; s < 100; s++) before.append(reading(`ble:c0:ff:ee:00:${s}`, T0 + chunk * 250 + ((s * 37) % 11), (chunk * 7919 + s * 104_729) % 30_000, 'power'));
    before.flush();
  }
  before.stop();
  const size = statSync(path).size;
  assert.ok(size > 16_384, `database of ${size} bytes`);
  overwrite(path, 4_096, size - 8_192, 0x5a);

  const outbox = openOutbox(t, { path, clock: time.clock() });
  assert.equal(outbox.stats().corruptRecoveries, 1);
  assert.equal(outbox.stats().readings, 0);
  appendChunks(outbox, [1]);
  assert.equal(outbox.stats().readings, 1);
});

test('damage found while running is recovered the same way; buffered readings and the lifetime total survive', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const outbox = openOutbox(t, { path, clock: new ManualTime().clock() });
  const recovered: unknown[] = [];
  outbox.on('recovered', (r) => recovered.push(r));
  appendChunks(outbox, [20, 20]);
  const oldStream = outbox.stream;
  // Garbage over every file while the connection is open: the next read finds a database that is not one.
  garbleDatabase(path);
  outbox.append(reading('s2', T0 + 1_000_000));
  outbox.flush();
  assert.equal(recovered.length, 1);
  assert.deepEqual(recovered[0], {
    previousStream: oldStream,
    stream: outbox.stream,
    movedTo: (recovered[0] as { movedTo: string }).movedTo,
    lostReadings: 40,
    lossCounted: 'exact',
    summary: '40 readings lost',
  });
  assert.notEqual(outbox.stream, oldStream);
  const stats = outbox.stats();
  assert.equal(stats.corruptRecoveries, 1);
  assert.equal(stats.dropped.corrupt, 40);
  assert.deepEqual(ranges(outbox.pending(10, 'oldest')), [[0, 0]], 'the buffered reading went into the fresh file');
  assert.deepEqual(flatten(outbox.load([0]).series), [reading('s2', T0 + 1_000_000)]);
  assert.equal(stats.acceptedTotal, 41, 'the lifetime total carries on into the fresh file');
  outbox.stop();
  const reopened = openOutbox(t, { path, clock: new ManualTime().clock() });
  assert.equal(reopened.stats().acceptedTotal, 41, 'the fresh file keeps the damaged one’s count');
});

test('while the disk refuses writes readings stay in memory, bounded, and are committed once it accepts them again', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const outbox = openOutbox(t, { path, clock: new ManualTime().clock(), maxChunkReadings: 10 });
  appendChunks(outbox, [10]);
  // Another connection takes the write lock, as an operator's sqlite3 shell could.
  const other = new Database(path);
  t.after(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  appendAll(outbox, readings('s2', T0 + 60_000, 45));
  let stats = outbox.stats();
  assert.equal(stats.errors, 1, 'one failed flush; no retry on every append');
  assert.equal(stats.buffered, 40, 'at most 4 chunks in memory');
  assert.equal(stats.dropped.overflow, 5, 'the oldest buffered readings went');
  assert.equal(stats.readings, 10);
  assert.equal(stats.storage, 'failing');
  assert.match(stats.storageProblem ?? '', /^commit readings: database is locked$/);
  other.exec('COMMIT');
  outbox.flush();
  stats = outbox.stats();
  assert.equal(stats.storage, 'ok', 'a commit that succeeds ends the failure');
  assert.equal(stats.storageProblem, null);
  assert.equal(stats.buffered, 0);
  assert.equal(stats.readings, 50);
  assert.deepEqual(ranges(outbox.pending(10, 'oldest')), [
    [0, 9],
    [10, 19],
    [20, 29],
    [30, 39],
    [40, 49],
  ]);
  const kept = flatten(outbox.load([10, 20, 30, 40]).series);
  assert.deepEqual(
    kept,
    flatten(
      readings('s2', T0 + 60_000, 45)
        .slice(5)
        .map((r) => ({ sensor: r.sensor, metric: r.metric, ts: [r.ts], values: [r.value] })),
    ),
  );
});

test('a listener that throws does not break append or flush', (t) => {
  const outbox = openOutbox(t, { clock: new ManualTime().clock(), maxChunkReadings: 2 });
  outbox.on('flushed', () => {
    throw new Error('listener bug');
  });
  assert.doesNotThrow(() => appendAll(outbox, readings('s1', T0, 4)));
  assert.equal(outbox.stats().readings, 4);
});

test('stream before start is an error; start and stop are idempotent', (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox({ path: join(dir, 'outbox.db'), clock: new ManualTime().clock(), log: silentLog });
  assert.throws(
    () => outbox.stream,
    (err) => err instanceof OutboxError && err.code === 'not_started',
  );
  outbox.start();
  outbox.start();
  outbox.stop();
  outbox.stop();
  assert.match(outbox.stream, /^[a-z0-9]{10}$/, 'the last stream stays readable after stop');
});

test('a path that cannot be created: start() does not throw, readings wait in memory within their bound, and the file opens once it can, retried with backoff', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const dir = tempDir(t);
  const blocker = join(dir, 'file');
  overwriteCreate(blocker);
  const time = new ManualTime();
  const outbox = new Outbox({ path: join(blocker, 'outbox.db'), clock: time.clock(), log: silentLog, flushIntervalMs: 10, maxChunkReadings: 10, maxBufferedReadings: 30 });
  assert.doesNotThrow(() => outbox.start());
  t.after(() => outbox.stop());
  const opened: string[] = [];
  outbox.on('opened', (stream) => opened.push(stream));
  let stats = outbox.stats();
  assert.equal(stats.storage, 'unopened');
  assert.match(stats.storageProblem ?? '', /^open: cannot open the outbox database .*outbox\.db/);
  assert.deepEqual(stats.limits, { maxBytes: 268_435_456, maxAgeMs: 604_800_000, maxBuffered: 30 });
  assert.throws(
    () => outbox.stream,
    (err) => err instanceof OutboxError && err.code === 'not_started',
  );
  const all = readings('s1', T0, 45);
  appendAll(outbox, all);
  stats = outbox.stats();
  assert.equal(stats.buffered, 30, 'maxBufferedReadings bounds what waits in memory');
  assert.equal(stats.dropped.overflow, 15, 'the oldest went, counted');
  assert.equal(stats.errors, 1, 'one failed open so far');

  // The first retry waits 1 s; the ticks in between do not touch the disk.
  time.advance(999);
  t.mock.timers.tick(10);
  assert.equal(outbox.stats().errors, 1);
  time.advance(1);
  t.mock.timers.tick(10);
  assert.equal(outbox.stats().errors, 2, 'retried after 1 s, failed again');
  time.advance(999);
  t.mock.timers.tick(10);
  assert.equal(outbox.stats().errors, 2, 'the next wait is at least as long');

  rmSync(blocker);
  time.advance(30_000);
  t.mock.timers.tick(10);
  stats = outbox.stats();
  assert.equal(stats.storage, 'ok');
  assert.equal(stats.storageProblem, null);
  assert.deepEqual(opened, [outbox.stream], "'opened' tells the uplink that chunks can be sent");
  assert.equal(stats.buffered, 0, 'what waited in memory is committed with the open');
  assert.deepEqual(ranges(outbox.pending(10, 'oldest')), [
    [0, 9],
    [10, 19],
    [20, 29],
  ]);
  assert.deepEqual(flatten(outbox.load([0, 10, 20]).series), flatten(all.slice(15).map((r) => ({ sensor: r.sensor, metric: r.metric, ts: [r.ts], values: [r.value] }))));
});

test('the pb_agent_outbox_* metrics show the outbox counters at scrape time, and stop() unregisters them', async (t) => {
  const dir = tempDir(t);
  const registry = new Registry();
  const outbox = openOutbox(t, { path: join(dir, 'outbox.db'), clock: new ManualTime().clock(), metrics: registry });
  appendChunks(outbox, [5, 5]);
  outbox.append(reading('s1', T0, 999));
  outbox.acknowledge(0, 4);
  const text = await registry.metrics();
  assert.match(text, /^pb_agent_outbox_readings 5$/m);
  assert.match(text, /^pb_agent_outbox_appended_total 10$/m);
  assert.match(text, /^pb_agent_outbox_accepted_lifetime_total 10$/m);
  assert.match(text, /^pb_agent_outbox_dropped_total\{reason="invalid"\} 1$/m);
  assert.match(text, /^pb_agent_outbox_corrupt_recoveries_total 0$/m);
  assert.match(text, /^pb_agent_outbox_storage_ok 1$/m);
  assert.match(text, /^pb_agent_outbox_oldest_age_seconds \d/m);
  assert.match(text, /^pb_agent_outbox_bytes \d+$/m);
  outbox.stop();
  assert.equal((await registry.metrics()).trim(), '', 'stop() unregisters');
});

function overwriteCreate(path: string): void {
  closeSync(openSync(path, 'w'));
}
