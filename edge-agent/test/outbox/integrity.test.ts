/**
 * What the outbox file is trusted with: every chunk's bytes (checksums).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeReadingSet, encodeReadingSet, type Reading } from '@pulsebridge/protocol';
import Database from 'better-sqlite3';
import { Registry } from 'prom-client';
import type { Outbox } from '../../src/outbox/outbox.ts';
import { ManualTime, T0, flatten, openOutbox, readings, startOutbox, tempDir } from './fixtures.ts';

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
