import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { SeriesReadings } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import { BOOKINGS } from '../../src/domain/classes/collections.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import { CLASS_RUNS, SESSIONS } from '../../src/domain/sessions/collections.ts';
import type { AthleteProfileFields } from '../../src/identity/identity-store.ts';
import { ClassBoard, type BoardEvent, type BoardTile } from '../../src/live/class-board.ts';
import { ClassBoards } from '../../src/live/class-boards.ts';
import { runDocument, testDomain, type TestDomain } from '../domain/test-domain.ts';

const GYM = 'gym-1';
const START = Date.UTC(2026, 2, 2, 7, 0, 0);
const RUN = `spin@${START}`;
const OPTIONS = { tickMs: 60_000, quietAfterMs: 5_000, refreshMs: 60_000 };
const PROFILE: AthleteProfileFields = { maxHeartRate: 190, birthDate: '1990-01-01', weightKg: 70, sex: 'male', resultsVisibility: 'friends', boardVisibility: 'name' };

function heartRate(sensor: string, ts: number[], values: number[]): SeriesReadings {
  return { sensor, metric: 'heart_rate', ts, values } as SeriesReadings;
}

/** Effort points and kcal of 1 Hz heart rates, computed here from the published definitions, not by the board's code. */
function expectedEffort(bpms: number[], max: number, weightKg: number, age: number): { effortPoints: number; kcal: number } {
  let effortPoints = 0;
  let kilojoules = 0;
  for (const bpm of bpms) {
    const percent = (bpm / max) * 100;
    const zone = percent >= 90 ? 5 : percent >= 80 ? 4 : percent >= 70 ? 3 : percent >= 60 ? 2 : percent >= 50 ? 1 : 0;
    effortPoints += zone / 60;
    kilojoules += Math.max(0, -55.0969 + 0.6309 * bpm + 0.1988 * weightKg + 0.2017 * age) / 60;
  }
  return { effortPoints, kcal: kilojoules / 4.184 };
}

describe('live class board', () => {
  let t: TestDomain;
  let now = START;
  const users: Record<string, string> = {};

  // A fresh domain per test: the series store keeps what an earlier test wrote.
  beforeEach(async () => {
    now = START;
    t = await testDomain({ now: () => now });
    const { documents, identity } = t.domain;
    for (const name of ['Ann', 'Bob', 'Cid', 'Dee']) {
      const user = await identity.createUser({ email: `${name.toLowerCase()}@example.org`, displayName: name });
      users[name] = user.id;
      await identity.saveProfile(user.id, PROFILE);
    }
    await documents.collection(CLASS_RUNS).insert(runDocument({ id: RUN, gym: GYM, start: START }));
    for (const [name, sensor] of [
      ['Ann', 'strap-ann'],
      ['Bob', 'strap-bob'],
    ] as const) {
      await book(users[name]!);
      await bind(`bind-${name}`, sensor, users[name]!, 0);
    }
  });

  afterEach(async () => t.cleanup());

  async function book(user: string): Promise<void> {
    await t.domain.documents.collection(BOOKINGS).insert({
      id: `booking-${user}`,
      gym: GYM,
      class: 'spin',
      occurrence: RUN,
      start: START,
      user,
      status: 'booked',
      active: true,
      position: 0,
      bookedBy: user,
      createdAt: 0,
    });
  }

  async function bind(id: string, sensor: string, athlete: string, from: number): Promise<void> {
    await t.domain.documents.collection(BINDINGS).insert({ id, gym: GYM, sensor, athlete, active: true, from, kind: 'own', createdBy: athlete });
  }

  async function started(): Promise<{ board: ClassBoard; events: BoardEvent[] }> {
    const run = (await t.domain.documents.collection(CLASS_RUNS).get(RUN))!;
    const board = new ClassBoard(t.domain, run, OPTIONS);
    const events: BoardEvent[] = [];
    board.listen((event) => events.push(event));
    await board.start();
    return { board, events };
  }

  const tileOf = (tiles: BoardTile[], name: string): BoardTile | undefined => tiles.find((tile) => tile.name === name);

  it('shows heart rate, % of max, zone, power and cadence from live readings in a tiles event', async () => {
    const { board, events } = await started();
    try {
      now = START + 10_000;
      t.domain.live.publish({
        gym: GYM,
        agent: 'box',
        series: [
          heartRate('strap-ann', [START + 9_500], [171]),
          { sensor: 'strap-ann', metric: 'power', ts: [START + 9_600], values: [250] } as SeriesReadings,
          { sensor: 'strap-ann', metric: 'cadence', ts: [START + 9_600], values: [92] } as SeriesReadings,
        ],
      });
      // Readings of another gym never reach this board.
      t.domain.live.publish({ gym: 'gym-2', agent: 'box-2', series: [heartRate('strap-bob', [START + 9_500], [100])] });
      await until('a tiles event', () => events.some((e) => e.type === 'tiles'), 2_000);
      const event = events.find((e) => e.type === 'tiles') as { type: 'tiles'; tiles: BoardTile[] };
      assert.equal(event.tiles.length, 1, 'only the changed tile');
      const ann = event.tiles[0]!;
      assert.equal(ann.athlete, users['Ann']);
      assert.equal(ann.name, 'Ann');
      assert.equal(ann.heartRateBpm, 171);
      assert.equal(ann.percentOfMax, 90);
      assert.equal(ann.zone, 5);
      assert.equal(ann.powerW, 250);
      assert.equal(ann.cadenceRpm, 92);
      assert.equal(ann.quiet, false);
      assert.equal(ann.lastSeenAt, new Date(START + 9_600).toISOString());
      const bob = tileOf(board.tiles(), 'Bob')!;
      assert.equal(bob.quiet, true, 'no reading yet: quiet');
      assert.equal(bob.heartRateBpm, undefined);
    } finally {
      board.stop();
    }
  });

  it('a burst of batches within the coalescing window gives one tiles event with every changed tile', async () => {
    const { board, events } = await started();
    try {
      t.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-ann', [START + 100], [120])] });
      t.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-bob', [START + 120], [130])] });
      t.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-ann', [START + 140], [125])] });
      await until('a tiles event', () => events.some((e) => e.type === 'tiles'), 2_000);
      const tiles = events.filter((e) => e.type === 'tiles') as { tiles: BoardTile[] }[];
      assert.equal(tiles.length, 1);
      assert.deepEqual(tiles[0]!.tiles.map((tile) => [tile.name, tile.heartRateBpm]).sort(), [
        ['Ann', 125],
        ['Bob', 130],
      ]);
    } finally {
      board.stop();
    }
  });

  it('a board opened mid-class reads the readings so far: effort points and calories as computed independently', async () => {
    const bpms = Array.from({ length: 600 }, (_, k) => 95 + (k % 90));
    await t.domain.series.write([
      {
        gym: GYM,
        agent: 'box',
        series: [
          heartRate(
            'strap-ann',
            bpms.map((_, k) => START + k * 1000),
            bpms,
          ),
        ],
      },
    ]);
    now = START + 600_400;
    const { board } = await started();
    try {
      const ann = tileOf(board.tiles(), 'Ann')!;
      const expected = expectedEffort(bpms, 190, 70, 36);
      assert.ok(Math.abs(ann.effortPoints! - expected.effortPoints) < 0.01, `${ann.effortPoints} vs ${expected.effortPoints}`);
      assert.ok(Math.abs(ann.kcal! - expected.kcal) < 0.01, `${ann.kcal} vs ${expected.kcal}`);
      assert.equal(ann.heartRateBpm, bpms.at(-1));
      assert.equal(ann.quiet, false);
      // Live readings then add to it, second by second (with the one-second gap interpolated as the results do).
      t.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-ann', [START + 601_000, START + 602_000, START + 603_000], [180, 180, 180])] });
      now = START + 605_000;
      await board.tick();
      const more = expectedEffort([...bpms, (bpms.at(-1)! + 180) / 2, 180, 180, 180], 190, 70, 36);
      const later = tileOf(board.tiles(), 'Ann')!;
      assert.ok(Math.abs(later.effortPoints! - more.effortPoints) < 0.01, `${later.effortPoints} vs ${more.effortPoints}`);
      assert.ok(Math.abs(later.kcal! - more.kcal) < 0.01);
    } finally {
      board.stop();
    }
  });

  it('a tile turns quiet once its sensors sent nothing for quietAfterMs, and the tick sends the whole board', async () => {
    const { board, events } = await started();
    try {
      t.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-ann', [START], [120])] });
      now = START + OPTIONS.quietAfterMs;
      await board.tick();
      let last = events.filter((e) => e.type === 'board').at(-1) as { tiles: BoardTile[] };
      assert.equal(tileOf(last.tiles, 'Ann')!.quiet, false);
      assert.equal(last.tiles.length, 2);
      now = START + OPTIONS.quietAfterMs + 1;
      await board.tick();
      last = events.filter((e) => e.type === 'board').at(-1) as { tiles: BoardTile[] };
      assert.equal(tileOf(last.tiles, 'Ann')!.quiet, true);
      assert.equal(tileOf(last.tiles, 'Ann')!.heartRateBpm, 120, 'the last value stays shown');
    } finally {
      board.stop();
    }
  });

  it('an athlete who chose an alias shows without id or name; one who chose hidden is not on the board', async () => {
    await t.domain.identity.saveProfile(users['Ann']!, { ...PROFILE, boardVisibility: 'alias', boardAlias: 'Rocket' });
    await t.domain.identity.saveProfile(users['Bob']!, { ...PROFILE, boardVisibility: 'hidden' });
    const { board, events } = await started();
    try {
      const tiles = board.tiles();
      assert.equal(tiles.length, 1);
      assert.deepEqual(Object.keys(tiles[0]!).sort(), ['effortPoints', 'kcal', 'name', 'quiet', 'tile']);
      assert.equal(tiles[0]!.name, 'Rocket');
      t.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-bob', [START + 100], [150]), heartRate('strap-ann', [START + 100], [150])] });
      await until('a tiles event', () => events.some((e) => e.type === 'tiles'), 2_000);
      const text = JSON.stringify([...events, board.tiles()]);
      assert.ok(!text.includes(users['Ann']!) && !text.includes('"Ann"'), 'the alias hides who it is');
      assert.ok(!text.includes(users['Bob']!) && !text.includes('Bob'), 'the hidden athlete is nowhere');
    } finally {
      board.stop();
    }
  });

  it("a sensor re-bound to another athlete mid-class shows on the new athlete's tile after the bindings are read again", async () => {
    const { board } = await started();
    try {
      t.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-ann', [START + 1_000], [110])] });
      assert.equal(tileOf(board.tiles(), 'Ann')!.heartRateBpm, 110);
      await t.domain.documents.collection(BINDINGS).update({ id: 'bind-Ann' }, { set: { active: false, until: START + 2_000 } });
      await t.domain.documents.collection(BINDINGS).delete({ id: 'bind-Bob' });
      await bind('bind-Bob-2', 'strap-ann', users['Bob']!, START + 2_000);
      await board.refresh();
      t.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-ann', [START + 3_000], [140])] });
      assert.equal(tileOf(board.tiles(), 'Bob')!.heartRateBpm, 140);
      assert.equal(tileOf(board.tiles(), 'Ann')!.heartRateBpm, 110);
    } finally {
      board.stop();
    }
  });

  it('a reading from a sensor bound after the board opened makes the board read the bindings again', async () => {
    await book(users['Cid']!);
    const { board } = await started();
    try {
      await bind('bind-Cid', 'strap-cid', users['Cid']!, START);
      now = START + 2_000;
      await until(
        "Cid's reading on his tile",
        () => {
          t.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-cid', [now], [130])] });
          return tileOf(board.tiles(), 'Cid')?.heartRateBpm === 130;
        },
        3_000,
        20,
      );
    } finally {
      board.stop();
    }
  });

  it('athletes of the run are its class sessions and booked athletes, not waitlisted or other runs', async () => {
    await t.domain.documents.collection(SESSIONS).insert({
      id: 'session-dee',
      athlete: users['Dee']!,
      kind: 'class',
      gym: GYM,
      run: RUN,
      class: 'spin',
      name: 'Spin',
      sport: 'cycling',
      state: 'live',
      startedAt: START,
      revision: 0,
      stale: false,
      createdAt: START,
    });
    await t.domain.documents.collection(BOOKINGS).insert({
      id: 'booking-cid',
      gym: GYM,
      class: 'spin',
      occurrence: RUN,
      start: START,
      user: users['Cid']!,
      status: 'waitlisted',
      active: true,
      position: 1,
      bookedBy: users['Cid']!,
      createdAt: 0,
    });
    const { board } = await started();
    try {
      assert.deepEqual(
        board
          .tiles()
          .map((tile) => tile.name)
          .sort(),
        ['Ann', 'Bob', 'Dee'],
      );
    } finally {
      board.stop();
    }
  });

  it('sends ended when the run ends, and the boards of a replica are dropped after the last viewer', async () => {
    const boards = new ClassBoards(t.domain, OPTIONS);
    const seen: BoardEvent[] = [];
    const first = await boards.join(RUN, (event) => seen.push(event));
    const second = await boards.join(RUN, () => {});
    assert.equal(first.state, 'running');
    assert.equal(boards.open, 1);
    assert.equal(boards.viewers(), 2);
    if (second.state === 'running') second.leave();
    assert.equal(boards.viewers(), 1);
    await t.domain.documents.collection(CLASS_RUNS).update({ id: RUN }, { set: { state: 'ended', endedAt: START + 1_000, endedBy: 'coach' } });
    const board = await (boards as unknown as { boards: Map<string, Promise<ClassBoard>> }).boards.get(RUN)!;
    await board.tick();
    assert.deepEqual(seen.at(-1), { type: 'ended' });
    assert.equal(boards.open, 0);
    assert.equal(boards.viewers(), 0);
    assert.deepEqual(await boards.join(RUN, () => {}), { state: 'ended' });
    assert.deepEqual(await boards.snapshot(RUN), { state: 'ended' });
    assert.deepEqual(await boards.snapshot('nothing@1'), { state: 'ended' });
  });
});
