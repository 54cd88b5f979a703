/**
 * What the coach pages ask the public API, in one place so the paths, queries and answers are tested against a
 * real hub (web/test/coach-api.test.ts) while the pages themselves only render.
 */
import { ApiProblem, type Api } from '../lib/api.ts';
import { freeStraps, runIdOf, runsWindow, todayWindow, type LeaderboardMetric } from './logic.ts';
import type { Binding, Booking, ClassInfo, ClassRun, GymSensor, GymSettings, Leaderboard, Member, Occurrence, Roster, RunResult } from './types.ts';

const path = encodeURIComponent;
/** An occurrence's path: the start is an instant the hub's pattern takes as it is. */
const occurrencePath = (occurrence: Pick<Occurrence, 'class' | 'start'>) => `/classes/${path(occurrence.class)}/occurrences/${occurrence.start}`;

export interface Today {
  timeZone: string;
  /** The local day's first instant. */
  from: string;
  now: number;
  occurrences: Occurrence[];
  runs: ClassRun[];
}

/** Every class's occurrences today in the gym's time zone, and the runs that may belong to them. */
export async function loadToday(api: Api, gym: string, now: number): Promise<Today> {
  const settings = await api.get<GymSettings>(`/gyms/${path(gym)}`);
  const day = todayWindow(now, settings.timeZone);
  const [classes, runs] = await Promise.all([api.all<ClassInfo>('/classes', { gym }), api.all<ClassRun>(`/gyms/${path(gym)}/class-runs`, runsWindow(day))]);
  const perClass = await Promise.all(classes.map((cls) => api.get<{ items: Occurrence[] }>(`/classes/${path(cls.id)}/occurrences`, { from: day.from, to: day.to })));
  return { timeZone: settings.timeZone, from: day.from, now, occurrences: perClass.flatMap((page) => page.items), runs };
}

/** An occurrence's roster (with the occurrence) and its run, if it was started. */
export async function loadOccurrence(api: Api, classId: string, start: string): Promise<{ roster: Roster; run: ClassRun | undefined }> {
  const roster = await api.get<Roster>(`${occurrencePath({ class: classId, start })}/roster`);
  const run = await api.get<ClassRun>(`/class-runs/${path(runIdOf(roster.occurrence))}`).catch((error: unknown) => {
    // No run yet: nobody started the class.
    if (error instanceof ApiProblem && error.status === 404) return undefined;
    throw error;
  });
  return { roster, run };
}

export function startRun(api: Api, occurrence: Pick<Occurrence, 'class' | 'start'>): Promise<ClassRun> {
  return api.post<ClassRun>(`${occurrencePath(occurrence)}/run`);
}

export function endRun(api: Api, runId: string): Promise<ClassRun> {
  return api.post<ClassRun>(`/class-runs/${path(runId)}/end`);
}

export function checkIn(api: Api, occurrence: Pick<Occurrence, 'class' | 'start'>, user: string): Promise<Booking> {
  return api.post<Booking>(`${occurrencePath(occurrence)}/bookings/${path(user)}/check-in`);
}

export function book(api: Api, occurrence: Pick<Occurrence, 'class' | 'start'>, user: string): Promise<Booking> {
  return api.post<Booking>(`${occurrencePath(occurrence)}/bookings`, { user });
}

/** The gym's athletes (members holding the athlete role). */
export function loadAthletes(api: Api, gym: string): Promise<Member[]> {
  return api.all<Member>(`/gyms/${path(gym)}/members`, { role: 'athlete' });
}

/** The gym's loaner straps not on loan now. */
export async function loadFreeStraps(api: Api, gym: string, language: string): Promise<GymSensor[]> {
  const [sensors, bindings] = await Promise.all([api.all<GymSensor>('/gym-sensors', { gym }), api.all<Binding>(`/gyms/${path(gym)}/bindings`, { active: 'true' })]);
  return freeStraps(sensors, bindings, language);
}

/** Lends a strap to an athlete for this occurrence: the hub gives it back by itself when the class ends. */
export function lendStrap(api: Api, strap: string, occurrence: Pick<Occurrence, 'class' | 'endsAt'>, athlete: string): Promise<Binding> {
  return api.post<Binding>(`/gym-sensors/${path(strap)}/loans`, { athlete, until: occurrence.endsAt, classId: occurrence.class });
}

export function loadResults(api: Api, runId: string): Promise<RunResult[]> {
  return api.all<RunResult>(`/class-runs/${path(runId)}/results`);
}

export function loadLeaderboard(api: Api, runId: string, metric: LeaderboardMetric): Promise<Leaderboard> {
  return api.get<Leaderboard>(`/class-runs/${path(runId)}/leaderboard`, { metric });
}
