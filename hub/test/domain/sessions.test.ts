import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { SeriesReadings } from '@pulsebridge/protocol';
import type { CollectionSpec } from '../../src/documents/document-store.ts';
import { BOOKINGS, CLASSES } from '../../src/domain/classes/collections.ts';
import type { ClassDoc } from '../../src/domain/classes/occurrences.ts';
import { findOccurrence } from '../../src/domain/classes/occurrences.ts';
import type { DomainEvents } from '../../src/domain/domain.ts';
import { GYMS } from '../../src/domain/gyms.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import type { Binding } from '../../src/domain/pairing/bindings.ts';
import { CLASS_RUNS, SESSIONS, SESSION_SENSORS } from '../../src/domain/sessions/collections.ts';
import { SessionsWorker } from '../../src/domain/sessions/sessions-worker.ts';
import { completeSession, endClassRun, startClassRun, startPersonalSession } from '../../src/domain/sessions/sessions.ts';
import { testDomain, type TestDomain } from './test-domain.ts';

const GYM = 'gym-s';
const MINUTE = 60_000;
/** Monday 2026-11-30 07:00 UTC: the class's first occurrence. */
const CLASS_START = Date.UTC(2026, 10, 30, 7, 0);

class RecordingEvents implements DomainEvents {
  readonly emitted: { gym: string; event: string; payload: Record<string, unknown> }[] = [];
  async emit(gym: string, event: string, payload: Record<string, unknown>): Promise<void> {
    this.emitted.push({ gym, event, payload });
  }
}

const cls: ClassDoc = {
  id: 'spin',
  gym: GYM,
  name: 'Spin',
  description: '',
  room: 'A',
  instructors: ['coach'],
  capacity: 10,
  start: '2026-11-30T07:00',
  durationMinutes: 30,
  rrule: 'FREQ=DAILY',
  bookingOpensDays: 7,
  cancellationWindowMinutes: 0,
  waitlistLimit: 0,
  createdAt: 0,
  updatedAt: 0,
};

function pick(binding: Binding | undefined): { active: boolean; until: number | undefined } | undefined {
  return binding === undefined ? undefined : { active: binding.active, until: binding.until };
}

/** A heart-rate series of `bpm` at 1 Hz over [from, to). */
function heartRate(sensor: string, from: number, to: number, bpm: (t: number) => number): SeriesReadings {
  const ts: number[] = [];
  const values: number[] = [];
  for (let t = from; t < to; t += 1000) {
    ts.push(t);
    values.push(bpm(t));
  }
  return { sensor, metric: 'heart_rate', ts, values } as SeriesReadings;
}

describe('sessions: runs, attribution by binding, late readings', () => {
  let t: TestDomain;
  let now = CLASS_START;
  const events = new RecordingEvents();

  before(async () => {
    t = await testDomain({ now: () => now });
    t.domain.events = events;
  });
  after(async () => t.cleanup());

  beforeEach(async () => {
    now = CLASS_START;
    events.emitted.length = 0;
    const { documents } = t.domain;
    for (const spec of [GYMS, CLASSES, BOOKINGS, BINDINGS, CLASS_RUNS, SESSIONS, SESSION_SENSORS] as CollectionSpec[]) await documents.collection(spec).delete({});
    await documents.collection(GYMS).insert({ id: GYM, name: 'S', timeZone: 'UTC', createdAt: 0, updatedAt: 0 });
    await documents.collection(CLASSES).insert(cls);
    for (const user of ['ann', 'bob']) {
      await documents.collection(BOOKINGS).insert({
        id: `b-${user}-${CLASS_START}`,
        gym: GYM,
        class: cls.id,
        occurrence: `${cls.id}@${CLASS_START}`,
        start: CLASS_START,
        user,
        status: 'booked',
        active: true,
        position: 0,
        bookedBy: user,
        createdAt: 0,
      });
    }
  });

  it('a class run attributes each reading by the binding valid at its time, and late readings give a new revision', async () => {
    const { documents, series } = t.domain;
    // Ann wears strap-1 for the first 10 minutes, then strap-2 (her strap-1 goes to Bob from minute 10).
    await documents
      .collection(BINDINGS)
      .insert({ id: 'b1', gym: GYM, sensor: 'strap-1', athlete: 'ann', active: false, from: 0, until: CLASS_START + 10 * MINUTE, kind: 'own', createdBy: 'ann' });
    await documents
      .collection(BINDINGS)
      .insert({ id: 'b2', gym: GYM, sensor: 'strap-2', athlete: 'ann', active: true, from: CLASS_START + 10 * MINUTE, kind: 'own', createdBy: 'ann' });
    await documents
      .collection(BINDINGS)
      .insert({ id: 'b3', gym: GYM, sensor: 'strap-1', athlete: 'bob', active: true, from: CLASS_START + 10 * MINUTE, kind: 'loaner', createdBy: 'coach' });
    const end = CLASS_START + 30 * MINUTE;
    await series.write([
      {
        gym: GYM,
        agent: 'agent-1',
        series: [
          heartRate('strap-1', CLASS_START, CLASS_START + 10 * MINUTE, () => 100),
          heartRate('strap-1', CLASS_START + 10 * MINUTE, end, () => 160),
          heartRate('strap-2', CLASS_START + 10 * MINUTE, end - 5 * MINUTE, () => 130),
        ],
      },
    ]);

    const occurrence = (await findOccurrence(documents, cls, 'UTC', CLASS_START))!;
    const { run, created } = await startClassRun(t.domain, { cls, occurrence, by: 'coach' });
    assert.equal(created, true);
    assert.equal((await startClassRun(t.domain, { cls, occurrence, by: 'schedule' })).created, false, 'an occurrence runs once');
    assert.equal(await documents.collection(SESSIONS).count({ run: run.id, state: 'live' }), 2);

    now = end;
    assert.ok(await endClassRun(t.domain, { run, cls, by: 'coach' }));
    assert.equal(await endClassRun(t.domain, { run, cls, by: 'schedule' }), undefined, 'a run ends once');
    const ann = (await documents.collection(SESSIONS).findOne({ run: run.id, athlete: 'ann' }))!;
    const bob = (await documents.collection(SESSIONS).findOne({ run: run.id, athlete: 'bob' }))!;
    assert.equal(ann.state, 'completed');
    assert.equal(ann.revision, 1);
    // Ann: 600 s at 100 then 900 s at 130 (strap-2 stops 5 minutes before the end).
    assert.equal((ann.results as { averageHeartRateBpm: number }).averageHeartRateBpm, (600 * 100 + 900 * 130) / 1500);
    assert.equal((bob.results as { averageHeartRateBpm: number }).averageHeartRateBpm, 160);
    assert.equal(await documents.collection(SESSION_SENSORS).count({ session: ann.id }), 2);
    assert.deepEqual(events.emitted.map((e) => [e.event, e.payload['athlete'], e.payload['revision']]).sort(), [
      ['session.completed', 'ann', 1],
      ['session.completed', 'bob', 1],
    ]);

    // strap-2's last 5 minutes arrive after the class, from an agent's backlog.
    const worker = new SessionsWorker(t.domain);
    const late = { gym: GYM, agent: 'agent-1', series: [heartRate('strap-2', end - 5 * MINUTE, end, () => 190)] };
    await series.write([late]);
    worker.noteStored(late);
    now = end + 10 * MINUTE;
    await worker.lateReadingsRound();
    const recomputed = (await documents.collection(SESSIONS).get(ann.id))!;
    assert.equal(recomputed.revision, 2);
    assert.equal(recomputed.changedAt, now);
    assert.equal(recomputed.stale, false);
    assert.equal(recomputed.leaseUntil, undefined);
    assert.equal((recomputed.results as { averageHeartRateBpm: number }).averageHeartRateBpm, (600 * 100 + 900 * 130 + 300 * 190) / 1800);
    assert.equal((await documents.collection(SESSIONS).get(bob.id))!.revision, 1, "Bob's results did not change");
    assert.deepEqual(events.emitted.at(-1)?.payload['revision'], 2);

    // Readings of a sensor outside every session's interval change nothing.
    const unrelated = { gym: GYM, agent: 'agent-1', series: [heartRate('strap-9', end - MINUTE, end, () => 120)] };
    await series.write([unrelated]);
    worker.noteStored(unrelated);
    await worker.lateReadingsRound();
    assert.equal((await documents.collection(SESSIONS).get(ann.id))!.revision, 2);
  });

  it("a class's loans end with its run: early, the strap goes back at once; late, the athlete keeps it to the end unless it was lent again", async () => {
    const { documents, series } = t.domain;
    const bindings = documents.collection(BINDINGS);
    const scheduledEnd = CLASS_START + 30 * MINUTE;
    const loan = (id: string, sensor: string, athlete: string, extra: Partial<Binding> = {}): Binding => ({
      id,
      gym: GYM,
      sensor,
      athlete,
      active: true,
      from: CLASS_START,
      until: scheduledEnd,
      kind: 'loaner',
      classId: cls.id,
      createdBy: 'coach',
      ...extra,
    });
    // Straps of their own in this test: the series store is shared with the other tests.
    // Last week's loan of the same class, and a loan for another class: neither is this run's.
    await bindings.insert(loan('old', 'strap-7', 'ann', { active: false, from: CLASS_START - 7 * 24 * 60 * MINUTE, until: CLASS_START - 7 * 24 * 60 * MINUTE + 30 * MINUTE }));
    await bindings.insert(loan('other', 'strap-9', 'bob', { classId: 'yoga', active: false, until: CLASS_START + 20 * MINUTE }));
    await bindings.insert(loan('ann-loan', 'strap-7', 'ann'));
    await bindings.insert(loan('bob-loan', 'strap-8', 'bob'));
    const occurrence = (await findOccurrence(documents, cls, 'UTC', CLASS_START))!;

    // Ended early, at minute 20: both straps go back then.
    const early = (await startClassRun(t.domain, { cls, occurrence, by: 'coach' })).run;
    now = CLASS_START + 20 * MINUTE;
    await endClassRun(t.domain, { run: early, cls, by: 'coach' });
    for (const id of ['ann-loan', 'bob-loan']) assert.deepEqual(pick(await bindings.get(id)), { active: false, until: CLASS_START + 20 * MINUTE }, id);
    assert.deepEqual(pick(await bindings.get('old')), { active: false, until: CLASS_START - 7 * 24 * 60 * MINUTE + 30 * MINUTE });
    assert.deepEqual(pick(await bindings.get('other')), { active: false, until: CLASS_START + 20 * MINUTE });

    // Ran over by 10 minutes: Ann's strap, lent to nobody since, stays hers to the real end and her readings of
    // those minutes count; Bob's strap was lent to Ann's friend at minute 35, so his loan is stretched to then.
    await documents.collection(CLASS_RUNS).delete({});
    await documents.collection(SESSIONS).delete({});
    await bindings.update({ id: 'ann-loan' }, { set: { until: scheduledEnd } });
    await bindings.update({ id: 'bob-loan' }, { set: { until: scheduledEnd } });
    await bindings.insert(loan('carl-loan', 'strap-8', 'carl', { classId: 'yoga', from: CLASS_START + 35 * MINUTE, until: CLASS_START + 90 * MINUTE }));
    await series.write([{ gym: GYM, agent: 'agent-1', series: [heartRate('strap-7', CLASS_START, CLASS_START + 40 * MINUTE, (ts) => (ts < scheduledEnd ? 120 : 150))] }]);
    now = CLASS_START;
    const late = (await startClassRun(t.domain, { cls, occurrence, by: 'coach' })).run;
    now = CLASS_START + 40 * MINUTE;
    await endClassRun(t.domain, { run: late, cls, by: 'coach' });
    assert.deepEqual(pick(await bindings.get('ann-loan')), { active: false, until: CLASS_START + 40 * MINUTE });
    assert.deepEqual(pick(await bindings.get('bob-loan')), { active: false, until: CLASS_START + 35 * MINUTE });
    assert.deepEqual(pick(await bindings.get('carl-loan')), { active: true, until: CLASS_START + 90 * MINUTE });
    const ann = (await documents.collection(SESSIONS).findOne({ run: late.id, athlete: 'ann' }))!;
    assert.equal((ann.results as { averageHeartRateBpm: number }).averageHeartRateBpm, (30 * 120 + 10 * 150) / 40);
  });

  it('the schedule starts a run from its scheduled start, ends it at its scheduled end, and ends forgotten personal sessions', async () => {
    const { documents } = t.domain;
    const worker = new SessionsWorker(t.domain);
    now = CLASS_START + 5 * MINUTE;
    await worker.scheduleRoundOnce();
    const run = (await documents.collection(CLASS_RUNS).get(`${cls.id}@${CLASS_START}`))!;
    assert.equal(run.state, 'running');
    assert.equal(run.startedAt, CLASS_START, 'from the scheduled start, not from when the hub noticed');
    assert.equal(run.startedBy, 'schedule');

    const personal = await startPersonalSession(t.domain, { athlete: 'ann', gym: GYM, name: 'Run', sport: 'running' });
    now = CLASS_START + 31 * MINUTE;
    await worker.scheduleRoundOnce();
    const ended = (await documents.collection(CLASS_RUNS).get(run.id))!;
    assert.equal(ended.state, 'ended');
    assert.equal(ended.endedAt, CLASS_START + 30 * MINUTE);
    assert.equal(await documents.collection(SESSIONS).count({ run: run.id, state: 'completed' }), 2);
    assert.equal((await documents.collection(SESSIONS).get(personal.id))!.state, 'live');

    now = CLASS_START + 7 * 60 * MINUTE;
    await worker.scheduleRoundOnce();
    const forgotten = (await documents.collection(SESSIONS).get(personal.id))!;
    assert.equal(forgotten.state, 'completed');
    assert.equal(forgotten.endedAt, personal.startedAt + 6 * 60 * MINUTE);
    assert.equal(await completeSession(t.domain, personal.id, now), undefined, 'a completed session does not complete again');
  });

  it('a recomputation that fails leaves the session stale for the next round, and an abandoned lease is freed', async () => {
    const { documents } = t.domain;
    const session = await startPersonalSession(t.domain, { athlete: 'ann', gym: GYM, name: 'Ride', sport: 'cycling' });
    now += 10 * MINUTE;
    await completeSession(t.domain, session.id, now);
    // A replica took it and died: its lease is past.
    await documents.collection(SESSIONS).update({ id: session.id }, { set: { stale: false, leaseUntil: now - 1 } });
    const worker = new SessionsWorker(t.domain);
    await worker.lateReadingsRound();
    const freed = (await documents.collection(SESSIONS).get(session.id))!;
    assert.equal(freed.leaseUntil, undefined);
    assert.equal(freed.stale, false, 'taken again and recomputed in the same round');
  });
});
