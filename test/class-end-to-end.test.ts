/**
 * A simulated class end to end: 22 athletes book a class of 20 (2 wait, and move up when 2 give their place
 * back), 18 pair a simulated strap by tap-to-pair, the coach runs the class while the simulator streams through
 * the agent, the broker and the ingest, and every athlete's results equal what the test computes on its own
 * from the simulator's signal (class-results.ts). The hub runs in this process, the agent in its own.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { assertResults, expectedMaxHeartRate, expectedResults, resultsAre, zoneOf, type CheckedResults } from './class-results.ts';
import { ClassGym, endRun, heartRateOf, openBoard, profileOf, runResults, simulatorOf, startRun, strapSimulator, type Athlete } from './class-harness.ts';
import { showLogsOnFailure, tempDir } from './harness.ts';

const work = tempDir('class-e2e');
after(() => work.cleanup());

const GYM = 'gym-class';
const CAPACITY = 20;
const ATHLETES = 22;
const STRAPS = 18;
/** How long the class streams: 20 one-second samples of every strap. */
const CLASS_MS = 20_000;
const SIMULATOR = strapSimulator(STRAPS, 21);

interface Booking {
  user: string;
  status: string;
  position?: number;
}

interface RosterEntry {
  userId: string;
  status: string;
  position?: number;
  sensors: { sensor: string; kind: string }[];
}

test('a class of 20 booked by 22, 18 straps paired by tap-to-pair: every session has the results of the simulated signal', { timeout: 150_000 }, async (t) => {
  const gym = await ClassGym.start({ dir: work.dir, gym: GYM, agentId: 'box-class', simulator: SIMULATOR, lateIntervalMs: 200 });
  try {
    await showLogsOnFailure([gym.agent], async () => {
      const coach = await gym.person('Coach Carla', 'coach');
      const now = Date.now();
      const athletes: Athlete[] = [];
      for (let i = 0; i < ATHLETES; i++) athletes.push(await gym.athlete(`Athlete ${String(i + 1).padStart(2, '0')}`, profileOf(i, now)));
      const cls = await gym.createClass('Simulated spin', coach, CAPACITY);
      const occurrence = gym.occurrencePath(cls);

      // 22 book in turn: the first 20 get places, the last 2 wait, in the order they came.
      for (const [i, athlete] of athletes.entries()) {
        const { body } = await gym.call<Booking>('POST', `${occurrence}/bookings`, { token: athlete.token, body: {}, expect: 201 });
        assert.equal(body.user, athlete.id);
        if (i < CAPACITY) assert.equal(body.status, 'booked', `${athlete.name} gets a place`);
        else assert.deepEqual({ status: body.status, position: body.position }, { status: 'waitlisted', position: i - CAPACITY + 1 }, `${athlete.name} waits`);
      }
      const roster = async () => (await gym.call<{ occurrence: { booked: number; waitlisted: number }; items: RosterEntry[] }>('GET', `${occurrence}/roster`)).body;
      const before = await roster();
      assert.deepEqual({ booked: before.occurrence.booked, waitlisted: before.occurrence.waitlisted }, { booked: CAPACITY, waitlisted: 2 });
      assert.deepEqual(
        before.items.filter((e) => e.status === 'waitlisted').map((e) => [e.userId, e.position]),
        [
          [athletes[20]!.id, 1],
          [athletes[21]!.id, 2],
        ],
      );

      // Two athletes give their places back; each time the first in line moves up.
      for (const [leaver, promoted] of [
        [athletes[2]!, athletes[20]!],
        [athletes[6]!, athletes[21]!],
      ] as const) {
        const { body } = await gym.call<Booking>('DELETE', `${occurrence}/bookings/me`, { token: leaver.token });
        assert.deepEqual({ user: body.user, status: body.status }, { user: leaver.id, status: 'cancelled' });
        const { body: mine } = await gym.call<{ items: Booking[] }>('GET', '/me/bookings', { token: promoted.token });
        assert.deepEqual(
          mine.items.map((b) => b.status),
          ['booked'],
          `${promoted.name} moved up`,
        );
      }
      const holders = athletes.filter((_, i) => i !== 2 && i !== 6);
      const promotedRoster = await roster();
      assert.deepEqual({ booked: promotedRoster.occurrence.booked, waitlisted: promotedRoster.occurrence.waitlisted }, { booked: CAPACITY, waitlisted: 0 });
      assert.deepEqual(promotedRoster.items.map((e) => e.userId).sort(), holders.map((a) => a.id).sort());
      assert.ok(promotedRoster.items.every((e) => e.status === 'booked'));

      // 18 of the 20 pair the strap they wear by tap-to-pair, all at once; one who had a place from the start
      // and one who moved up have no strap.
      const strapless = new Set([athletes[4]!, athletes[21]!]);
      const wearers = holders.filter((a) => !strapless.has(a));
      const simulator = simulatorOf(SIMULATOR);
      const straps = simulator.sensors().map((s) => s.id);
      assert.equal(wearers.length, STRAPS);
      await Promise.all(wearers.map((athlete, i) => gym.tapToPair(athlete, straps[i]!)));
      const paired = await roster();
      for (const athlete of holders) {
        const entry = paired.items.find((e) => e.userId === athlete.id)!;
        assert.deepEqual(
          entry.sensors.map((s) => [s.sensor, s.kind]),
          athlete.strap === undefined ? [] : [[athlete.strap, 'own']],
          `the roster shows what ${athlete.name} wears`,
        );
      }
      // The agent admits each strap once the hub's list reaches it.
      await gym.storedUntil(straps, Date.now(), 30_000);

      const run = await startRun(gym, cls, coach);
      const startedAt = Date.parse(run.startedAt);
      const live = await runResults(gym, run.id, coach);
      assert.deepEqual(live.map((s) => s.athlete).sort(), holders.map((a) => a.id).sort(), 'every athlete holding a place has a session');
      assert.ok(live.every((s) => s.state === 'live' && s.kind === 'class'));
      // The live board, as the wall screen reads it: a tile for every athlete holding a place, by name; the 18
      // wearers with the heart rate their strap sent last (the simulator's signal at that instant), its % of max
      // and zone by their profile; the 2 without a strap quiet, without a heart rate.
      const board = await openBoard(gym, run.id, coach.token);
      try {
        const full = await board.next(
          'every wearer with a heart rate',
          (e) => e.event === 'board' && e.tiles.length === holders.length && e.tiles.filter((t) => t.heartRateBpm !== undefined && !t.quiet).length === wearers.length,
          30_000,
        );
        assert.deepEqual(full.tiles.map((t) => t.name).sort(), holders.map((a) => a.name).sort());
        for (const athlete of holders) {
          const tile = full.tiles.find((t) => t.athlete === athlete.id)!;
          if (athlete.strap === undefined) {
            assert.deepEqual({ quiet: tile.quiet, bpm: tile.heartRateBpm }, { quiet: true, bpm: undefined }, `${athlete.name} has no strap`);
            continue;
          }
          const seenAt = Date.parse(tile.lastSeenAt!);
          const [sent] = heartRateOf(simulator, athlete.strap, seenAt, seenAt + 1);
          assert.equal(tile.heartRateBpm, sent?.value, `${athlete.name}'s heart rate on the board is what the strap sent last`);
          const max = expectedMaxHeartRate(athlete.profile, startedAt);
          assert.equal(tile.percentOfMax, Math.round((100 * tile.heartRateBpm!) / max), `${athlete.name}'s % of max`);
          assert.equal(tile.zone, zoneOf(tile.heartRateBpm!, max), `${athlete.name}'s zone`);
        }
      } finally {
        board.close();
      }

      await gym.storedUntil(straps, startedAt + CLASS_MS, CLASS_MS + 30_000);
      const ended = await endRun(gym, run.id, coach);
      const endedAt = Date.parse(ended.endedAt!);

      // Everything the straps sent during the class reaches the hub, exactly as the simulator made it.
      const signal = new Map(wearers.map((a) => [a.id, heartRateOf(simulator, a.strap!, startedAt, endedAt)]));
      await gym.storedExactly(new Map(wearers.map((a) => [a.strap!, signal.get(a.id)!])), startedAt, endedAt, 'the hub to store every heart-rate reading of the class');

      // Readings still on their way when the class ended arrive late and make a new revision: the results
      // settle on those of the whole signal.
      const expected = new Map<string, CheckedResults>(holders.map((a) => [a.id, expectedResults(signal.get(a.id) ?? [], startedAt, endedAt, a.profile)]));
      const settled = async (): Promise<boolean> =>
        (await runResults(gym, run.id, coach)).every((s) => s.state === 'completed' && !s.recomputing && resultsAre(s.results, expected.get(s.athlete)!, s.athlete));
      try {
        await until('every session to have the results of the whole class', settled, 20_000, 200);
      } catch (error) {
        for (const s of await runResults(gym, run.id, coach)) assertResults(s.results, expected.get(s.athlete)!, athletes.find((a) => a.id === s.athlete)!.name);
        throw error;
      }

      const sessions = await runResults(gym, run.id, coach);
      assert.equal(sessions.length, CAPACITY);
      t.diagnostic(`run ${run.id}: ${(endedAt - startedAt) / 1000} s; revisions ${sessions.map((s) => s.revision).join(' ')}`);
      for (const athlete of holders) {
        const session = sessions.find((s) => s.athlete === athlete.id);
        assert.ok(session !== undefined, `${athlete.name} has a class session`);
        assert.deepEqual(
          { kind: session.kind, state: session.state, run: session.run, startedAt: session.startedAt, endedAt: session.endedAt },
          { kind: 'class', state: 'completed', run: run.id, startedAt: run.startedAt, endedAt: ended.endedAt },
        );
        assert.ok(
          session.revision >= 1 && (session.revision === 1) === (session.changedAt === undefined),
          `${athlete.name}: revision ${session.revision}, changedAt ${session.changedAt}`,
        );
        assertResults(session.results, expected.get(athlete.id)!, athlete.name);
        const hr = (session.results as { heartRate?: { secondsInZone: number[] } } | undefined)?.heartRate;
        if (athlete.strap === undefined) assert.equal(hr, undefined, `${athlete.name} has no heart rate`);
        else assert.ok(hr !== undefined && hr.secondsInZone.reduce((a, b) => a + b, 0) > 0, `${athlete.name} trained in some zone`);
      }
      // Those who gave their places back have no session.
      assert.ok(!sessions.some((s) => s.athlete === athletes[2]!.id || s.athlete === athletes[6]!.id));
      assert.ok(expected.get(wearers[0]!.id)!.durationS >= CLASS_MS / 1000);
    });
  } finally {
    await gym.stop();
  }
});
