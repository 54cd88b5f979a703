/**
 * The life of training sessions. A class run (one occurrence being held) starts by the coach or by the
 * schedule and gives each athlete holding a place a class session; a personal session is started and ended by
 * its athlete. When a session completes, its results are computed from the readings attributed to it
 * (attribution.ts) and stored with it, with the sensor intervals they came from; late readings make it stale
 * and it is computed again (late-readings.ts), its `revision` counting the versions.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { DocumentStoreError, type DocumentStore } from '../../documents/document-store.ts';
import type { IdentityStore } from '../../identity/identity-store.ts';
import { sessionResults, type AthleteFacts, type SessionResults } from '../../results/metrics.ts';
import { resampleSession, type Streams } from '../../results/streams.ts';
import type { SeriesStore } from '../../storage/series/series-store.ts';
import type { DomainEvents } from '../domain.ts';
import { BOOKINGS } from '../classes/collections.ts';
import type { ClassDoc, OccurrenceView } from '../classes/occurrences.ts';
import { fitClassLoans } from '../pairing/bindings.ts';
import { readingsOf, sensorIntervals, type SensorInterval } from './attribution.ts';
import { CLASS_RUNS, SAMPLES_PER_CHUNK, SESSIONS, SESSION_SAMPLES, SESSION_SENSORS, type ClassRunDoc, type SessionDoc } from './collections.ts';
import type { Logger } from 'pino';

/** What the session functions work with: a subset of the Domain, so tests and workers pass only this. */
export interface SessionStores {
  documents: DocumentStore;
  identity: IdentityStore;
  series: SeriesStore;
  now: () => number;
  log: Logger;
  events?: DomainEvents;
}

/** A personal session nobody ended is ended this long after its start (a forgotten "stop"). */
export const MAX_PERSONAL_SESSION_MS = 6 * 3_600_000;
/** Who started or ended a run that the schedule started or ended. */
export const BY_SCHEDULE = 'schedule';

/** The facts results need from the athlete's profile (identity store), at the session's start. */
export async function athleteFacts(identity: IdentityStore, athlete: string, sessionStartMs: number): Promise<AthleteFacts> {
  const profile = await identity.getProfile(athlete);
  const facts: AthleteFacts = { sessionStartMs };
  if (profile?.maxHeartRate !== undefined) facts.maxHeartRate = profile.maxHeartRate;
  if (profile?.birthDate !== undefined) facts.birthDate = profile.birthDate;
  if (profile?.weightKg !== undefined) facts.weightKg = profile.weightKg;
  if (profile?.sex === 'female' || profile?.sex === 'male') facts.sex = profile.sex;
  return facts;
}

/** The session's end for attribution: its end, or now while it is live. */
const endOf = (stores: Pick<SessionStores, 'now'>, session: SessionDoc): number => session.endedAt ?? Math.max(session.startedAt, stores.now());

/** The sensor intervals of a gym session (none for imported ones). */
export async function intervalsOf(stores: Pick<SessionStores, 'documents' | 'now'>, session: SessionDoc): Promise<SensorInterval[]> {
  if (session.gym === undefined) return [];
  return sensorIntervals(stores.documents, session.gym, session.athlete, session.startedAt, endOf(stores, session));
}

/** The session's 1 Hz streams: from its samples when imported, else from the readings attributed to it. */
export async function sessionStreams(stores: Pick<SessionStores, 'documents' | 'series' | 'now'>, session: SessionDoc, intervals?: SensorInterval[]): Promise<Streams> {
  if (session.kind === 'imported') return importedStreams(stores.documents, session.id);
  if (session.gym === undefined) return { time: [] };
  const readings = await readingsOf(stores.series, session.gym, intervals ?? (await intervalsOf(stores, session)));
  return resampleSession(readings, { startMs: session.startedAt, endMs: endOf(stores, session) });
}

async function importedStreams(documents: DocumentStore, session: string): Promise<Streams> {
  const chunks = await documents.collection(SESSION_SAMPLES).find({ session }, { orderBy: ['seq'] });
  const streams: Record<string, unknown[]> = {};
  for (const chunk of chunks) {
    for (const [name, values] of Object.entries(chunk.streams)) (streams[name] ??= []).push(...values);
  }
  return { ...(streams as unknown as Streams), time: (streams['time'] as number[] | undefined) ?? [] };
}

/** Stores an imported session's streams in chunks (SESSION_SAMPLES); call inside the transaction that inserts the session. */
export async function saveImportedStreams(documents: Pick<DocumentStore, 'collection'>, session: SessionDoc, streams: Streams): Promise<void> {
  const samples = documents.collection(SESSION_SAMPLES);
  for (let seq = 0; seq * SAMPLES_PER_CHUNK < streams.time.length; seq++) {
    const slice: Record<string, unknown[]> = {};
    for (const [name, values] of Object.entries(streams)) {
      if (Array.isArray(values)) slice[name] = values.slice(seq * SAMPLES_PER_CHUNK, (seq + 1) * SAMPLES_PER_CHUNK);
    }
    await samples.insert({ id: `${session.id}:${seq}`, session: session.id, athlete: session.athlete, seq, streams: slice });
  }
}

/** Results of a session as its readings are now, and the sensor intervals they came from. */
export async function computeResults(stores: SessionStores, session: SessionDoc): Promise<{ results: SessionResults; intervals: SensorInterval[] }> {
  const intervals = await intervalsOf(stores, session);
  const streams = await sessionStreams(stores, session, intervals);
  const results = sessionResults(streams, await athleteFacts(stores.identity, session.athlete, session.startedAt));
  return { results, intervals };
}

/** The results' figures kept as top-level fields, for leaderboards. */
export function figuresOf(results: SessionResults): Partial<SessionDoc> {
  const figures: Partial<SessionDoc> = { durationS: results.durationS };
  if (results.heartRate !== undefined) figures.effortPoints = results.heartRate.effortPoints;
  if (results.calories.kcal !== undefined) figures.kcal = results.calories.kcal;
  if (results.power !== undefined) figures.averagePowerW = results.power.averageW;
  if (results.distanceM !== undefined) figures.distanceM = results.distanceM;
  return figures;
}

const FIGURES = ['effortPoints', 'kcal', 'averagePowerW', 'distanceM', 'durationS'] as const;

async function replaceSensors(documents: DocumentStore, session: SessionDoc, intervals: readonly SensorInterval[]): Promise<void> {
  if (session.gym === undefined) return;
  const gym = session.gym;
  await documents.transaction(async (tx) => {
    const sensors = tx.collection(SESSION_SENSORS);
    await sensors.delete({ session: session.id });
    for (const [i, interval] of intervals.entries()) {
      await sensors.insert({ id: `${session.id}:${i}`, session: session.id, athlete: session.athlete, gym, ...interval });
    }
  });
}

async function announceCompleted(stores: SessionStores, session: SessionDoc, revision: number): Promise<void> {
  if (session.gym === undefined || stores.events === undefined) return;
  await stores.events.emit(session.gym, 'session.completed', {
    session: session.id,
    athlete: session.athlete,
    kind: session.kind,
    ...(session.class === undefined ? {} : { class: session.class }),
    ...(session.run === undefined ? {} : { run: session.run }),
    startedAt: new Date(session.startedAt).toISOString(),
    endedAt: new Date(session.endedAt ?? session.startedAt).toISOString(),
    revision,
  });
}

/**
 * Ends a live session at `endedAt` and stores its results (revision 1). Guarded by its state, so a session ends
 * once whoever else tries (the coach, the schedule on another replica). Returns the completed session, or
 * undefined when it was not live.
 */
export async function completeSession(stores: SessionStores, id: string, endedAt: number): Promise<SessionDoc | undefined> {
  const sessions = stores.documents.collection(SESSIONS);
  const live = await sessions.get(id);
  if (live === undefined || live.state !== 'live') return undefined;
  const ended: SessionDoc = { ...live, endedAt: Math.max(endedAt, live.startedAt) };
  const { results, intervals } = await computeResults(stores, ended);
  const now = stores.now();
  const change = {
    state: 'completed' as const,
    endedAt: ended.endedAt!,
    results: results as unknown as Record<string, unknown>,
    computedAt: now,
    revision: 1,
    ...figuresOf(results),
  };
  if ((await sessions.update({ id, state: 'live' }, { set: change })) === 0) return undefined;
  const completed = { ...ended, ...change };
  await replaceSensors(stores.documents, completed, intervals);
  await announceCompleted(stores, completed, 1);
  return completed;
}

/**
 * Computes a completed session's results again (late readings arrived). When they differ, stores them as the
 * next revision with `changedAt`, and announces the session again. Returns whether the results changed.
 */
export async function recomputeSession(stores: SessionStores, id: string): Promise<boolean> {
  const sessions = stores.documents.collection(SESSIONS);
  const session = await sessions.get(id);
  if (session === undefined || session.state !== 'completed') return false;
  const { results, intervals } = await computeResults(stores, session);
  await replaceSensors(stores.documents, session, intervals);
  if (isDeepStrictEqual(results, session.results)) return false;
  const now = stores.now();
  const revision = session.revision + 1;
  const figures = figuresOf(results);
  const unset = FIGURES.filter((f) => figures[f] === undefined);
  // Guarded by the revision read: of two replicas recomputing at once, one stores its version.
  const stored = await sessions.update(
    { id, revision: session.revision },
    { set: { results: results as unknown as Record<string, unknown>, computedAt: now, changedAt: now, revision, ...figures }, ...(unset.length > 0 ? { unset } : {}) },
  );
  if (stored === 0) return false;
  await announceCompleted(stores, session, revision);
  return true;
}

/** Starts a personal session of `athlete` in `gym` now. */
export async function startPersonalSession(stores: SessionStores, input: { athlete: string; gym: string; name: string; sport: string }): Promise<SessionDoc> {
  const now = stores.now();
  const session: SessionDoc = { id: randomUUID(), kind: 'personal', state: 'live', startedAt: now, revision: 0, stale: false, createdAt: now, ...input };
  await stores.documents.collection(SESSIONS).insert(session);
  return session;
}

function classSession(run: ClassRunDoc, cls: ClassDoc, athlete: string, now: number): SessionDoc {
  return {
    id: randomUUID(),
    athlete,
    kind: 'class',
    gym: run.gym,
    run: run.id,
    class: run.class,
    name: cls.name,
    sport: 'training',
    state: 'live',
    startedAt: run.startedAt,
    revision: 0,
    stale: false,
    createdAt: now,
  };
}

/** Gives every athlete holding a place in the run's occurrence a class session, unless they have one. */
async function ensureClassSessions(stores: SessionStores, run: ClassRunDoc, cls: ClassDoc): Promise<void> {
  const sessions = stores.documents.collection(SESSIONS);
  const booked = await stores.documents.collection(BOOKINGS).find({ occurrence: run.id, active: true, status: 'booked' });
  const have = new Set((await sessions.find({ run: run.id })).map((s) => s.athlete));
  for (const booking of booked) {
    if (have.has(booking.user)) continue;
    try {
      await sessions.insert(classSession(run, cls, booking.user, stores.now()));
    } catch (error) {
      // Another replica gave them theirs a moment ago (one_per_run).
      if (!(error instanceof DocumentStoreError && error.code === 'conflict')) throw error;
    }
  }
}

/**
 * Starts the run of an occurrence, now (the coach) or at `startedAt` (the schedule: readings are in the series
 * store already, so a run the schedule starts late still begins when the class did). The run's id is the occurrence's, so of two starts (the coach, the schedule
 * on any replica) one makes it; the other gets the run that exists, with `created` false.
 */
export async function startClassRun(
  stores: SessionStores,
  input: { cls: ClassDoc; occurrence: OccurrenceView; by: string; startedAt?: number },
): Promise<{ run: ClassRunDoc; created: boolean }> {
  const { cls, occurrence, by } = input;
  const runs = stores.documents.collection(CLASS_RUNS);
  const run: ClassRunDoc = {
    id: occurrence.id,
    gym: cls.gym,
    class: cls.id,
    occurrenceStart: occurrence.start,
    scheduledStart: occurrence.startsAt,
    scheduledEnd: occurrence.endsAt,
    state: 'running',
    startedAt: input.startedAt ?? stores.now(),
    startedBy: by,
  };
  try {
    await runs.insert(run);
  } catch (error) {
    if (!(error instanceof DocumentStoreError && error.code === 'conflict')) throw error;
    const existing = await runs.get(run.id);
    if (existing === undefined) throw error;
    return { run: existing, created: false };
  }
  await ensureClassSessions(stores, run, cls);
  return { run, created: true };
}

/**
 * Ends a running run and completes its sessions, first giving one to athletes who got a place during the class.
 * Returns the ended run, or undefined when it was not running (ended already, by someone else).
 */
export async function endClassRun(stores: SessionStores, input: { run: ClassRunDoc; cls: ClassDoc; by: string; endedAt?: number }): Promise<ClassRunDoc | undefined> {
  const { run, cls, by } = input;
  const endedAt = input.endedAt ?? stores.now();
  const runs = stores.documents.collection(CLASS_RUNS);
  if ((await runs.update({ id: run.id, state: 'running' }, { set: { state: 'ended', endedAt, endedBy: by } })) === 0) return undefined;
  const ended: ClassRunDoc = { ...run, state: 'ended', endedAt, endedBy: by };
  // The loans of the class end with it (early or late), so its sessions attribute the straps as worn.
  await fitClassLoans(stores.documents, { gym: run.gym, class: cls.id, startedAt: run.startedAt, endedAt });
  await ensureClassSessions(stores, ended, cls);
  for (const session of await stores.documents.collection(SESSIONS).find({ run: run.id, state: 'live' })) {
    try {
      await completeSession(stores, session.id, endedAt);
    } catch (error) {
      // The others still complete; this one is completed by the next sweep (sessions-worker.ts).
      stores.log.warn({ err: error, session: session.id }, 'could not complete a class session');
    }
  }
  return ended;
}
