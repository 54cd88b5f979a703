/**
 * What the outbox file is trusted with: every chunk's bytes (checksums), and an honest count of what a
 * damaged file took with it.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeReadingSet, encodeReadingSet, type Reading } from '@pulsebridge/protocol';
import Database from 'better-sqlite3';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { Outbox } from '../../src/outbox/outbox.ts';
import { ManualTime, T0, flatten, openOutbox, overwrite, reading, readings, startOutbox, tempDir } from './fixtures.ts';

const asSeries = (list: readonly Reading[]) => list.map((r) => ({ sensor: r.sensor, metric: r.metric, ts: [r.ts], values: [r.value] }));

/** Three chunks of five readings of one sensor, one flush each; returns the readings of each chunk. */
function writeThreeChunks(outbox: Outbox): Reading[][] {
  const chunks = [readings('ble:aa:bb', T0, 5), readings('ble:aa:bb', T0 + 5_000, 5), readings('ble:aa:bb', T0 + 10_000, 5)];
  for (const chunk of chunks) {
    for (const r of chunk) outbox.append(r);
    outbox.flush();
  }
  return chunks;
}

/** Everything the outbox would send now, in the order the uplink would load it. */
function loadAll(outbox: Outbox): { readings: Reading[]; chunks: [number, number][] } {
  const loaded = outbox.load(outbox.pending(100, 'oldest').map((c) => c.id));
  return { readings: flatten(loaded.series), chunks: loaded.chunks.map((c) => [c.first, c.last]) };
}

test('a chunk whose bytes changed into other valid readings is dropped and counted, never sent; the other chunks are sent unchanged', async (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime();
  const writer = startOutbox(path, time.clock());
  const [first, second, third] = writeThreeChunks(writer);
  writer.stop();

  // Bit rot SQLite cannot see: the middle chunk's payload now decodes to the same readings with other values.
  const db = new Database(path);
  const stored = db.prepare<[], { data: Buffer }>('SELECT data FROM chunks WHERE id = 5').get()!;
  const series = decodeReadingSet(stored.data);
  series[0]!.values = series[0]!.values.map((v) => v + 40);
  db.prepare('UPDATE chunks SET data = ? WHERE id = 5').run(encodeReadingSet(series));
  db.close();

  const registry = new Registry();
  const outbox = openOutbox(t, { path, clock: time.clock(), metrics: registry });
  const sent = loadAll(outbox);
  assert.deepEqual(sent.chunks, [
    [0, 4],
    [10, 14],
  ]);
  assert.deepEqual(sent.readings, flatten(asSeries([...first!, ...third!])));
  assert.ok(!sent.readings.some((r) => second!.some((s) => s.ts === r.ts)), 'nothing of the damaged chunk is sent');
  const stats = outbox.stats();
  assert.equal(stats.damagedChunks, 1);
  assert.equal(stats.dropped.corrupt, 5);
  assert.equal(stats.readings, 10, 'the damaged chunk is gone from the outbox');
  assert.deepEqual(
    outbox.pending(100, 'oldest').map((c) => c.first),
    [0, 10],
  );
  const text = await registry.metrics();
  assert.match(text, /^pb_agent_outbox_damaged_chunks_total 1$/m);
  assert.match(text, /^pb_agent_outbox_dropped_total\{reason="corrupt"\} 5$/m);
});

test('flipped bytes inside the file are caught by the checksum of the chunk they land in', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime();
  const writer = startOutbox(path, time.clock());
  const [first, , third] = writeThreeChunks(writer);
  writer.stop();

  const db = new Database(path, { readonly: true });
  const payload = db.prepare<[], { data: Buffer }>('SELECT data FROM chunks WHERE id = 5').get()!.data;
  db.close();
  const file = readFileSync(path);
  const at = file.indexOf(payload);
  assert.ok(at > 0 && file.indexOf(payload, at + 1) === -1, 'the payload is stored once, in the main file');
  // The last byte of the payload is the last value delta: flipping its low bit keeps the chunk decodable.
  file[at + payload.length - 1]! ^= 0x01;
  writeFileSync(path, file);

  const outbox = openOutbox(t, { path, clock: time.clock() });
  assert.equal(outbox.stats().corruptRecoveries, 0, 'SQLite sees nothing wrong with the file');
  const sent = loadAll(outbox);
  assert.deepEqual(sent.readings, flatten(asSeries([...first!, ...third!])));
  assert.equal(outbox.stats().damagedChunks, 1);
  assert.equal(outbox.stats().dropped.corrupt, 5);
});

test('an outbox file written before chunk checksums opens, gains the column and sends its old chunks; new chunks carry a checksum', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime();
  const writer = startOutbox(path, time.clock());
  const [first, second] = writeThreeChunks(writer);
  writer.acknowledge(10, 14);
  writer.stop();

  // The version 1 layout: no crc column.
  const db = new Database(path);
  db.exec('ALTER TABLE chunks DROP COLUMN crc');
  db.pragma('user_version = 1');
  db.close();

  const outbox = openOutbox(t, { path, clock: time.clock() });
  for (const r of readings('ble:aa:bb', T0 + 20_000, 3)) outbox.append(r);
  outbox.flush();
  const sent = loadAll(outbox);
  assert.deepEqual(sent.chunks, [
    [0, 4],
    [5, 9],
    [15, 17],
  ]);
  assert.deepEqual(sent.readings, flatten(asSeries([...first!, ...second!, ...readings('ble:aa:bb', T0 + 20_000, 3)])));
  assert.equal(outbox.stats().damagedChunks, 0);
  outbox.stop();

  const check = new Database(path, { readonly: true });
  t.after(() => check.close());
  assert.equal(check.pragma('user_version', { simple: true }), 2);
  const rows = check.prepare<[], { id: number; crc: number | null }>('SELECT id, crc FROM chunks ORDER BY id').all();
  assert.deepEqual(
    rows.map((r) => [r.id, r.crc === null]),
    [
      [0, true],
      [5, true],
      [15, false],
    ],
  );
});

/** A logger whose lines the test reads. */
function capturedLog(): { log: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  return { lines, log: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) }) };
}

const PINO_WARN = 40;
const PINO_ERROR = 50;

test('a file found damaged at start whose chunks are still readable: every reading it held is counted as lost, in the log, the stats and the metrics', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'outbox.db');
  const time = new ManualTime();
  const writer = startOutbox(path, time.clock());
  writeThreeChunks(writer);
  writer.stop();
  // A meta table without a valid stream id: the file is not usable, its chunk table is intact.
  const db = new Database(path);
  db.prepare("UPDATE meta SET value = '' WHERE key = 'stream'").run();
  db.close();

  const { log, lines } = capturedLog();
  const registry = new Registry();
  const outbox = openOutbox(t, { path, clock: time.clock(), log, metrics: registry });
  const stats = outbox.stats();
  assert.equal(stats.corruptRecoveries, 1);
  assert.equal(stats.dropped.corrupt, 15);
  assert.equal(stats.uncountedLosses, 0);
  assert.equal(stats.lastRecovery?.lostReadings, 15);
  assert.equal(stats.lastRecovery?.lossCounted, 'exact');
  assert.equal(stats.lastRecovery?.summary, '15 readings lost');
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('outbox.db.corrupt-')).length, 1);
  const logged = lines.find((l) => l.level === PINO_ERROR && l.msg.startsWith('outbox database damaged'));
  assert.ok(logged, JSON.stringify(lines));
  assert.match(logged.msg, /; 15 readings lost$/);
  const text = await registry.metrics();
  assert.match(text, /^pb_agent_outbox_dropped_total\{reason="corrupt"\} 15$/m);
  assert.match(text, /^pb_agent_outbox_uncounted_losses_total 0$/m);
});

test('a file damaged in the middle of its chunk table: what both ends can read is counted, with the most the gap can hold', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime();
  const writer = startOutbox(path, time.clock());
  for (let chunk = 0; chunk < 60; chunk++) {
    for (let s = 0; s < 20; s++) writer.append(reading(`ble:c0:ff:ee:00:${s}`, T0 + chunk * 250 + s, (chunk * 7919 + s * 104_729) % 30_000, 'power'));
    writer.flush();
  }
  const total = writer.stats().readings;
  writer.stop();
  const db = new Database(path, { readonly: true });
  const leaves = db.prepare<[], { pageno: number }>("SELECT pageno FROM dbstat WHERE name = 'chunks' AND pagetype = 'leaf' ORDER BY pageno").all();
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();
  assert.ok(leaves.length >= 5, `${leaves.length} leaf pages`);
  const middle = leaves[Math.floor(leaves.length / 2)]!.pageno;
  overwrite(path, (middle - 1) * pageSize, pageSize, 0x5a);

  const { log, lines } = capturedLog();
  const outbox = openOutbox(t, { path, clock: time.clock(), log });
  const stats = outbox.stats();
  assert.equal(stats.corruptRecoveries, 1);
  assert.equal(stats.uncountedLosses, 1);
  const recovery = stats.lastRecovery!;
  assert.equal(recovery.lossCounted, 'at_least');
  assert.ok(recovery.lostReadings > 0 && recovery.lostReadings < total, `${recovery.lostReadings} of ${total}`);
  assert.equal(stats.dropped.corrupt, recovery.lostReadings);
  const most = /^at least (\d+) readings lost \(part of the damaged file cannot be read, at most (\d+) by its sequence numbers\)$/.exec(recovery.summary);
  assert.ok(most, recovery.summary);
  assert.equal(Number(most[1]), recovery.lostReadings);
  assert.ok(Number(most[2]) >= total, `at most ${most[2]}, held ${total}`);
  assert.ok(lines.some((l) => l.level === PINO_ERROR && l.msg.endsWith(recovery.summary)));
});

test('a file of which nothing can be read: the loss is reported as unknown, plainly, and counted as an uncounted loss', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const time = new ManualTime();
  const writer = startOutbox(path, time.clock());
  writeThreeChunks(writer);
  writer.stop();
  overwrite(path, 0, readFileSync(path).length);

  const { log, lines } = capturedLog();
  const outbox = openOutbox(t, { path, clock: time.clock(), log });
  const stats = outbox.stats();
  assert.equal(stats.corruptRecoveries, 1);
  assert.equal(stats.uncountedLosses, 1);
  assert.equal(stats.dropped.corrupt, 0);
  assert.equal(stats.lastRecovery?.lossCounted, 'unknown');
  assert.equal(stats.lastRecovery?.summary, 'an unknown number of readings lost: nothing in the damaged file can be read');
  assert.ok(lines.some((l) => l.level === PINO_ERROR && /an unknown number of readings lost/.test(l.msg)));
});

test('an empty (0-byte) outbox file is said to be empty and opened as a fresh outbox: no damage, no loss counted', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'outbox.db');
  closeSync(openSync(path, 'w'));

  const { log, lines } = capturedLog();
  const outbox = openOutbox(t, { path, clock: new ManualTime().clock(), log });
  const stats = outbox.stats();
  assert.equal(stats.corruptRecoveries, 0);
  assert.equal(stats.uncountedLosses, 0);
  assert.equal(stats.dropped.corrupt, 0);
  assert.equal(stats.lastRecovery, null);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes('corrupt')),
    [],
  );
  assert.ok(
    lines.some((l) => l.level === PINO_WARN && /^the outbox file is empty \(0 bytes\): it holds no readings/.test(l.msg)),
    JSON.stringify(lines),
  );
  assert.ok(!lines.some((l) => l.level >= PINO_ERROR));
  for (const r of readings('ble:aa:bb', T0, 3)) outbox.append(r);
  outbox.flush();
  assert.equal(outbox.stats().readings, 3);
});

test('an empty outbox file next to a write-ahead log that is not: the file lost its content, it is moved aside as damaged', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'outbox.db');
  closeSync(openSync(path, 'w'));
  writeFileSync(`${path}-wal`, Buffer.alloc(4_096, 0x11));

  const outbox = openOutbox(t, { path, clock: new ManualTime().clock() });
  const stats = outbox.stats();
  assert.equal(stats.corruptRecoveries, 1);
  assert.equal(stats.lastRecovery?.lossCounted, 'unknown');
  const aside = readdirSync(dir).filter((f) => f.startsWith('outbox.db.corrupt-'));
  assert.deepEqual(aside.map((f) => f.replace(/-\d{8}T\d{6}Z/, '')).sort(), ['outbox.db.corrupt', 'outbox.db.corrupt-wal']);
});
