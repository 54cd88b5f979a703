/**
 * The one DedupeStore contract: each adapter runs it from its own *.test.ts against its real database
 * (dedupe.test.ts for SQLite, postgres-dedupe.test.ts). Answers may be synchronous or promises: every call is
 * awaited, as the readings queue does.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DedupeError, type DedupeLimits, type DedupeStore } from '../../src/ingest/dedupe-store.ts';

export interface DedupeFixture {
  /** Loaded, on fresh empty storage. */
  dedupe: DedupeStore;
  /** A new store on the same storage, loaded: a restarted hub (or, for PostgreSQL, another replica). */
  reopen(): Promise<DedupeStore>;
  /** A new store on the same storage, ready but not loaded. */
  unloaded(): Promise<DedupeStore>;
  /** The ranges the storage holds for one stream, lowest first. */
  storedRanges(agent: string, stream: string): Promise<Array<[number, number]>>;
  /** The streams the storage holds for one agent, most recently recorded first. */
  storedStreams(agent: string): Promise<string[]>;
  /** Makes the next record() fail in its transaction (drops the streams table). */
  breakStorage(): Promise<void>;
  cleanup(): Promise<void>;
}

export type DedupeFactory = (limits: DedupeLimits) => Promise<DedupeFixture>;

const entry = (first: number, last: number, more: { agent?: string; stream?: string; floor?: number } = {}) => ({
  agent: more.agent ?? 'a1',
  stream: more.stream ?? 's1',
  first,
  last,
  floor: more.floor ?? 0,
});

export function dedupeContract(name: string, make: DedupeFactory, options: { skip?: string | false } = {}): void {
  async function withDedupe(limits: DedupeLimits, use: (d: DedupeStore, fixture: DedupeFixture) => Promise<void>): Promise<void> {
    const fixture = await make(limits);
    try {
      await use(fixture.dedupe, fixture);
    } finally {
      await fixture.cleanup();
    }
  }

  describe(`DedupeStore contract: ${name}`, { skip: options.skip }, () => {
    test('in-order ranges merge into one, and only fully covered ranges are duplicates', () =>
      withDedupe({}, async (dedupe, { storedRanges }) => {
        await dedupe.record([entry(0, 9)]);
        await dedupe.record([entry(10, 19), entry(20, 29)]);
        assert.deepEqual(await storedRanges('a1', 's1'), [[0, 29]]);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 0, 29), true);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 5, 12), true, 'a resend merged differently is still covered');
        assert.equal(await dedupe.isDuplicate('a1', 's1', 25, 30), false, 'partly new');
        assert.equal(await dedupe.isDuplicate('a1', 's1', 30, 30), false);
        assert.equal(await dedupe.isDuplicate('a1', 's2', 0, 0), false, 'another stream');
        assert.equal(await dedupe.isDuplicate('a2', 's1', 0, 0), false, 'another agent');
      }));

    test('out-of-order ranges keep their gaps until filled', () =>
      withDedupe({}, async (dedupe, { storedRanges }) => {
        await dedupe.record([entry(30, 39)]);
        await dedupe.record([entry(0, 9)]);
        await dedupe.record([entry(10, 14)]);
        assert.deepEqual(await storedRanges('a1', 's1'), [
          [0, 14],
          [30, 39],
        ]);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 15, 29), false);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 10, 35), false, 'spans the gap');
        assert.equal(await dedupe.isDuplicate('a1', 's1', 31, 39), true);
        await dedupe.record([entry(15, 29)]);
        assert.deepEqual(await storedRanges('a1', 's1'), [[0, 39]]);
        // An overlapping record (a batch merged differently) also merges.
        await dedupe.record([entry(35, 50)]);
        assert.deepEqual(await storedRanges('a1', 's1'), [[0, 50]]);
      }));

    test('many questions at once are each answered right', () =>
      withDedupe({}, async (dedupe) => {
        await dedupe.record([entry(0, 9), entry(20, 29), entry(0, 4, { agent: 'a2' })]);
        const questions: Array<[string, string, number, number, boolean]> = [
          ['a1', 's1', 0, 9, true],
          ['a1', 's1', 5, 25, false],
          ['a1', 's1', 20, 29, true],
          ['a1', 's1', 30, 30, false],
          ['a2', 's1', 0, 4, true],
          ['a2', 's1', 0, 5, false],
          ['a1', 's1', 9, 8, false],
        ];
        const answers = await Promise.all(questions.map(([agent, stream, first, last]) => dedupe.isDuplicate(agent, stream, first, last)));
        assert.deepEqual(
          answers,
          questions.map((q) => q[4]),
        );
      }));

    test('ranges entirely below the floor are forgotten; a range the floor cuts through is kept', () =>
      withDedupe({}, async (dedupe, { storedRanges }) => {
        await dedupe.record([entry(0, 9), entry(20, 29), entry(40, 49)]);
        await dedupe.record([entry(60, 69, { floor: 25 })]);
        assert.deepEqual(await storedRanges('a1', 's1'), [
          [20, 29],
          [40, 49],
          [60, 69],
        ]);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 0, 9), false);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 25, 29), true);
        await dedupe.record([entry(70, 79, { floor: 60 })]);
        assert.deepEqual(await storedRanges('a1', 's1'), [[60, 79]]);
      }));

    test('survives a restart: a new store on the same storage knows the ranges', () =>
      withDedupe({}, async (first, { reopen, storedRanges, storedStreams }) => {
        await first.record([entry(0, 99), entry(200, 299), entry(0, 9, { stream: 's2' }), entry(5, 5, { agent: 'a2' })]);
        await first.record([entry(0, 49, { floor: 0, stream: 's3' })]);

        const second = await reopen();
        assert.deepEqual(await storedRanges('a1', 's1'), [
          [0, 99],
          [200, 299],
        ]);
        assert.equal(await second.isDuplicate('a1', 's1', 50, 60), true);
        assert.equal(await second.isDuplicate('a1', 's1', 100, 100), false);
        assert.equal(await second.isDuplicate('a1', 's2', 0, 9), true);
        assert.equal(await second.isDuplicate('a2', 's1', 5, 5), true);
        assert.equal((await storedStreams('a1'))[0], 's3', 'recency survives too');
        assert.deepEqual(new Set(await storedStreams('a1')), new Set(['s1', 's2', 's3']));
        // Recording after the restart updates the stored rows rather than duplicating them.
        await second.record([entry(100, 199)]);
        const third = await reopen();
        assert.deepEqual(await storedRanges('a1', 's1'), [[0, 299]], 'merged ranges are merged in the storage too');
        assert.equal(await third.isDuplicate('a1', 's1', 0, 299), true);
      }));

    test('keeps at most maxStreamsPerAgent streams per agent, forgetting the least recently recorded, also across a restart', () =>
      withDedupe({ maxStreamsPerAgent: 3 }, async (dedupe, { reopen, storedRanges, storedStreams }) => {
        for (const stream of ['s1', 's2', 's3']) await dedupe.record([entry(0, 9, { stream })]);
        await dedupe.record([entry(10, 19, { stream: 's1' })]); // s1 is now the most recent
        await dedupe.record([entry(0, 9, { stream: 's4' })]);
        assert.deepEqual(await storedStreams('a1'), ['s4', 's1', 's3']);
        assert.equal(await dedupe.isDuplicate('a1', 's2', 0, 9), false, 's2 was the least recent and is forgotten');
        await dedupe.record([entry(0, 0, { agent: 'a2', stream: 'x' })]);
        assert.deepEqual(await storedStreams('a1'), ['s4', 's1', 's3'], 'another agent does not use up this agent’s streams');
        const reopened = await reopen();
        assert.deepEqual(await storedStreams('a1'), ['s4', 's1', 's3']);
        assert.equal(await reopened.isDuplicate('a1', 's2', 0, 9), false);
        assert.deepEqual(await storedRanges('a1', 's2'), [], 'forgotten streams leave no ranges behind');
      }));

    test('more streams of one agent in one call than the cap keeps the last ones named', () =>
      withDedupe({ maxStreamsPerAgent: 2 }, async (dedupe, { storedStreams }) => {
        await dedupe.record([entry(0, 9, { stream: 'old' })]);
        await dedupe.record([entry(0, 9, { stream: 's1' }), entry(0, 9, { stream: 's2' }), entry(0, 9, { stream: 's3' })]);
        assert.deepEqual(new Set(await storedStreams('a1')), new Set(['s3', 's2']), 'recorded together, they are equally recent');
        assert.equal(await dedupe.isDuplicate('a1', 's1', 0, 9), false);
        assert.equal(await dedupe.isDuplicate('a1', 's3', 0, 9), true);
      }));

    test('keeps at most maxRangesPerStream ranges, forgetting the lowest', () =>
      withDedupe({ maxRangesPerStream: 4 }, async (dedupe, { storedRanges }) => {
        for (let i = 0; i < 10; i++) await dedupe.record([entry(i * 10, i * 10 + 4)]);
        assert.deepEqual(await storedRanges('a1', 's1'), [
          [60, 64],
          [70, 74],
          [80, 84],
          [90, 94],
        ]);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 50, 54), false, 'the forgotten ones are gone');
        assert.equal(await dedupe.isDuplicate('a1', 's1', 60, 64), true);
      }));

    test('a failed transaction leaves the recorded ranges as they were', () =>
      withDedupe({}, async (dedupe, { breakStorage }) => {
        await dedupe.record([entry(0, 9)]);
        await breakStorage();
        await assert.rejects(async () => dedupe.record([entry(10, 19)]));
        assert.equal(await dedupe.isDuplicate('a1', 's1', 0, 9), true);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 10, 19), false);
      }));

    test('refuses to record before load(), and leaves out reversed or non-integer ranges while recording the others of the same call', () =>
      withDedupe({}, async (_loaded, { unloaded, storedRanges }) => {
        const dedupe = await unloaded();
        assert.equal(await dedupe.isDuplicate('a1', 's1', 0, 0), false);
        await assert.rejects(
          async () => dedupe.record([entry(0, 1)]),
          (err: unknown) => err instanceof DedupeError && err.code === 'not_loaded',
        );
        dedupe.load();
        const bad = [entry(5, 4), entry(0.5, 2), entry(Number.NaN, 3), entry(2 ** 53, 2 ** 53), entry(-1, 0), entry(0, 1, { floor: 2 ** 53 })];
        for (const e of bad) assert.deepEqual(await dedupe.record([e]), [e]);
        assert.deepEqual(await storedRanges('a1', 's1'), []);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 0, 1), false);
        assert.equal(await dedupe.isDuplicate('a1', 's1', 5, 4), false, 'a reversed query is never a duplicate');

        const good = [entry(0, 9, { agent: 'a2' }), entry(0, 4, { agent: 'a3', stream: 's9' })];
        assert.deepEqual(await dedupe.record([good[0]!, ...bad, good[1]!]), bad);
        assert.deepEqual(await storedRanges('a2', 's1'), [[0, 9]]);
        assert.deepEqual(await storedRanges('a3', 's9'), [[0, 4]]);
        assert.equal(await dedupe.isDuplicate('a2', 's1', 0, 9), true);
        assert.equal(await dedupe.isDuplicate('a3', 's9', 0, 4), true);
      }));
  });
}
