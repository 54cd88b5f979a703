import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { Dedupe, DedupeError } from '../../src/ingest/dedupe.ts';
import { storedRanges, storedStreams } from './dedupe-state.ts';

const dir = mkdtempSync(join(tmpdir(), 'pb-dedupe-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `state-${++files}.db`);

function open(path = ':memory:', options: { maxStreamsPerAgent?: number; maxRangesPerStream?: number } = {}): { db: Database.Database; dedupe: Dedupe } {
  const db = new Database(path);
  const dedupe = new Dedupe({ db, ...options });
  dedupe.load();
  return { db, dedupe };
}

const entry = (first: number, last: number, more: { agent?: string; stream?: string; floor?: number } = {}) => ({
  agent: more.agent ?? 'a1',
  stream: more.stream ?? 's1',
  first,
  last,
  floor: more.floor ?? 0,
});

describe('Dedupe', () => {
  test('in-order ranges merge into one, and only fully covered ranges are duplicates', () => {
    const { db, dedupe } = open();
    dedupe.record([entry(0, 9)]);
    dedupe.record([entry(10, 19), entry(20, 29)]);
    assert.deepEqual(storedRanges(db, 'a1', 's1'), [[0, 29]]);
    assert.equal(dedupe.isDuplicate('a1', 's1', 0, 29), true);
    assert.equal(dedupe.isDuplicate('a1', 's1', 5, 12), true, 'a resend merged differently is still covered');
    assert.equal(dedupe.isDuplicate('a1', 's1', 25, 30), false, 'partly new');
    assert.equal(dedupe.isDuplicate('a1', 's1', 30, 30), false);
    assert.equal(dedupe.isDuplicate('a1', 's2', 0, 0), false, 'another stream');
    assert.equal(dedupe.isDuplicate('a2', 's1', 0, 0), false, 'another agent');
    db.close();
  });

  test('out-of-order ranges keep their gaps until filled', () => {
    const { db, dedupe } = open();
    dedupe.record([entry(30, 39)]);
    dedupe.record([entry(0, 9)]);
    dedupe.record([entry(10, 14)]);
    assert.deepEqual(storedRanges(db, 'a1', 's1'), [
      [0, 14],
      [30, 39],
    ]);
    assert.equal(dedupe.isDuplicate('a1', 's1', 15, 29), false);
    assert.equal(dedupe.isDuplicate('a1', 's1', 10, 35), false, 'spans the gap');
    assert.equal(dedupe.isDuplicate('a1', 's1', 31, 39), true);
    dedupe.record([entry(15, 29)]);
    assert.deepEqual(storedRanges(db, 'a1', 's1'), [[0, 39]]);
    // An overlapping record (a batch merged differently) also merges.
    dedupe.record([entry(35, 50)]);
    assert.deepEqual(storedRanges(db, 'a1', 's1'), [[0, 50]]);
    db.close();
  });

  test('ranges entirely below the floor are forgotten; a range the floor cuts through is kept', () => {
    const { db, dedupe } = open();
    dedupe.record([entry(0, 9), entry(20, 29), entry(40, 49)]);
    dedupe.record([entry(60, 69, { floor: 25 })]);
    assert.deepEqual(storedRanges(db, 'a1', 's1'), [
      [20, 29],
      [40, 49],
      [60, 69],
    ]);
    assert.equal(dedupe.isDuplicate('a1', 's1', 0, 9), false);
    assert.equal(dedupe.isDuplicate('a1', 's1', 25, 29), true);
    dedupe.record([entry(70, 79, { floor: 60 })]);
    assert.deepEqual(storedRanges(db, 'a1', 's1'), [[60, 79]]);
    db.close();
  });

  test('survives a restart: a new Dedupe on the same database file knows the ranges', () => {
    const path = freshPath();
    const first = open(path);
    first.dedupe.record([entry(0, 99), entry(200, 299), entry(0, 9, { stream: 's2' }), entry(5, 5, { agent: 'a2' })]);
    first.dedupe.record([entry(0, 49, { floor: 0, stream: 's3' })]);
    first.db.close();

    const second = open(path);
    assert.deepEqual(storedRanges(second.db, 'a1', 's1'), [
      [0, 99],
      [200, 299],
    ]);
    assert.equal(second.dedupe.isDuplicate('a1', 's1', 50, 60), true);
    assert.equal(second.dedupe.isDuplicate('a1', 's1', 100, 100), false);
    assert.equal(second.dedupe.isDuplicate('a1', 's2', 0, 9), true);
    assert.equal(second.dedupe.isDuplicate('a2', 's1', 5, 5), true);
    assert.equal(storedStreams(second.db, 'a1')[0], 's3', 'recency survives too');
    assert.deepEqual(new Set(storedStreams(second.db, 'a1')), new Set(['s1', 's2', 's3']));
    // Recording after the restart updates the stored rows rather than duplicating them.
    second.dedupe.record([entry(100, 199)]);
    second.db.close();
    const third = open(path);
    assert.deepEqual(storedRanges(third.db, 'a1', 's1'), [[0, 299]]);
    const rows = third.db.prepare('SELECT count(*) AS n FROM ingest_dedupe_ranges WHERE agent = ? AND stream = ?').get('a1', 's1') as { n: number };
    assert.equal(rows.n, 1, 'merged ranges are merged in the table too');
    third.db.close();
  });

  test('keeps at most maxStreamsPerAgent streams per agent, forgetting the least recently recorded, also across a restart', () => {
    const path = freshPath();
    const { db, dedupe } = open(path, { maxStreamsPerAgent: 3 });
    for (const stream of ['s1', 's2', 's3']) dedupe.record([entry(0, 9, { stream })]);
    dedupe.record([entry(10, 19, { stream: 's1' })]); // s1 is now the most recent
    dedupe.record([entry(0, 9, { stream: 's4' })]);
    assert.deepEqual(storedStreams(db, 'a1'), ['s4', 's1', 's3']);
    assert.equal(dedupe.isDuplicate('a1', 's2', 0, 9), false, 's2 was the least recent and is forgotten');
    dedupe.record([entry(0, 0, { agent: 'a2', stream: 'x' })]);
    assert.deepEqual(storedStreams(db, 'a1'), ['s4', 's1', 's3'], 'another agent does not use up this agent’s streams');
    db.close();
    const reopened = open(path, { maxStreamsPerAgent: 3 });
    assert.deepEqual(storedStreams(reopened.db, 'a1'), ['s4', 's1', 's3']);
    assert.equal(reopened.dedupe.isDuplicate('a1', 's2', 0, 9), false);
    const rows = reopened.db.prepare("SELECT count(*) AS n FROM ingest_dedupe_ranges WHERE stream = 's2'").get() as { n: number };
    assert.equal(rows.n, 0, 'forgotten streams leave no rows behind');
    reopened.db.close();
  });

  test('keeps at most maxRangesPerStream ranges, forgetting the lowest', () => {
    const { db, dedupe } = open(':memory:', { maxRangesPerStream: 4 });
    for (let i = 0; i < 10; i++) dedupe.record([entry(i * 10, i * 10 + 4)]);
    assert.deepEqual(storedRanges(db, 'a1', 's1'), [
      [60, 64],
      [70, 74],
      [80, 84],
      [90, 94],
    ]);
    assert.equal(dedupe.isDuplicate('a1', 's1', 50, 54), false, 'the forgotten ones are gone from memory too');
    assert.equal(dedupe.isDuplicate('a1', 's1', 60, 64), true);
    db.close();
  });

  test('a failed transaction leaves memory as it was', () => {
    const { db, dedupe } = open();
    dedupe.record([entry(0, 9)]);
    db.exec('DROP TABLE ingest_dedupe_streams');
    assert.throws(() => dedupe.record([entry(10, 19)]));
    assert.equal(dedupe.isDuplicate('a1', 's1', 0, 9), true);
    assert.equal(dedupe.isDuplicate('a1', 's1', 10, 19), false);
    db.close();
  });

  test('refuses to record before load(), and leaves out reversed or non-integer ranges while recording the others of the same call', () => {
    const db = new Database(':memory:');
    const dedupe = new Dedupe({ db });
    assert.equal(dedupe.isDuplicate('a1', 's1', 0, 0), false);
    assert.throws(
      () => dedupe.record([entry(0, 1)]),
      (err: unknown) => err instanceof DedupeError && err.code === 'not_loaded',
    );
    dedupe.load();
    const bad = [entry(5, 4), entry(0.5, 2), entry(Number.NaN, 3), entry(2 ** 53, 2 ** 53), entry(-1, 0), entry(0, 1, { floor: 2 ** 53 })];
    for (const e of bad) assert.deepEqual(dedupe.record([e]), [e]);
    assert.deepEqual(storedRanges(db, 'a1', 's1'), []);
    assert.equal(dedupe.isDuplicate('a1', 's1', 0, 1), false);
    assert.equal(dedupe.isDuplicate('a1', 's1', 5, 4), false, 'a reversed query is never a duplicate');

    const good = [entry(0, 9, { agent: 'a2' }), entry(0, 4, { agent: 'a3', stream: 's9' })];
    assert.deepEqual(dedupe.record([good[0]!, ...bad, good[1]!]), bad);
    assert.deepEqual(storedRanges(db, 'a2', 's1'), [[0, 9]]);
    assert.deepEqual(storedRanges(db, 'a3', 's9'), [[0, 4]]);
    assert.equal(dedupe.isDuplicate('a2', 's1', 0, 9), true);
    assert.equal(dedupe.isDuplicate('a3', 's9', 0, 4), true);
    db.close();
  });
});
