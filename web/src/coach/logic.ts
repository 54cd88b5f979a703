/**
 * The coach pages' logic, free of the DOM so it is unit-tested (web/test/coach-*.test.ts): today's window in the
 * gym's time zone, the state of an occurrence from the gym's class runs, the roster in groups, the results table,
 * and which words explain a refusal of the API.
 */
import type { TextKey } from '../i18n/index.ts';
import { APP_BASE } from '../lib/navigation.ts';
import type { Binding, ClassRun, GymSensor, Member, Occurrence, RosterEntry, RunResult } from './types.ts';

const MINUTE_MS = 60_000;
/** A coach may start a class this long before its scheduled start (hub: runs-routes.ts EARLY_START_MS). */
export const EARLY_START_MS = 30 * MINUTE_MS;

/** The wall-clock fields of `instant` in `timeZone`. */
function wallClock(instant: number, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const field = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((part) => part.type === type)?.value ?? 0);
  return { year: field('year'), month: field('month'), day: field('day'), hour: field('hour'), minute: field('minute'), second: field('second') };
}

/** How far `timeZone`'s wall clock is ahead of UTC at `instant`, in ms. */
function zoneOffset(instant: number, timeZone: string): number {
  const wall = wallClock(instant, timeZone);
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant a local date's first moment happens in `timeZone`. Usually midnight; where a DST change skips
 * midnight (e.g. America/Santiago), the first wall time that exists.
 */
function startOfLocalDay(year: number, month: number, day: number, timeZone: string): number {
  const wallMidnight = Date.UTC(year, month - 1, day);
  // Two passes: the offset at the first guess may differ from the offset at the answer across a DST change.
  let guess = wallMidnight - zoneOffset(wallMidnight, timeZone);
  guess = wallMidnight - zoneOffset(guess, timeZone);
  const wall = wallClock(guess, timeZone);
  // Midnight fell into a DST gap, so the guess landed on the previous day: read midnight with the offset before the
  // change, which lands just after it, on the day's first wall time (01:00 for a one-hour gap).
  if (wall.day !== day) guess = wallMidnight - zoneOffset(guess - 2 * 3_600_000, timeZone);
  return guess;
}

export interface DayWindow {
  /** The local date, YYYY-MM-DD. */
  date: string;
  /** The day's first instant, ISO 8601 UTC (the occurrences query's `from`). */
  from: string;
  /** The next day's first instant (`to`, exclusive): 23 or 25 hours later on DST days. */
  to: string;
}

/** Today in the gym's time zone, as the instants the occurrences query takes. */
export function todayWindow(now: number, timeZone: string): DayWindow {
  const wall = wallClock(now, timeZone);
  const tomorrow = new Date(Date.UTC(wall.year, wall.month - 1, wall.day + 1));
  const from = startOfLocalDay(wall.year, wall.month, wall.day, timeZone);
  const to = startOfLocalDay(tomorrow.getUTCFullYear(), tomorrow.getUTCMonth() + 1, tomorrow.getUTCDate(), timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return { date: `${wall.year}-${pad(wall.month)}-${pad(wall.day)}`, from: isoSeconds(from), to: isoSeconds(to) };
}

/** ISO 8601 UTC without milliseconds when there are none: the form the API's instant parameters take. */
export function isoSeconds(instant: number): string {
  return new Date(instant).toISOString().replace('.000Z', 'Z');
}

/**
 * The runs query's window for a day: a run may start up to EARLY_START_MS before its occurrence, so a class at
 * 00:10 may have a run started the evening before.
 */
export function runsWindow(day: DayWindow): { from: string; to: string } {
  return { from: isoSeconds(Date.parse(day.from) - EARLY_START_MS), to: day.to };
}

/** The class run id of an occurrence: `<class>@<start ms>` (one run per occurrence). */
export function runIdOf(occurrence: Pick<Occurrence, 'class' | 'start'>): string {
  return `${occurrence.class}@${Date.parse(occurrence.start)}`;
}

export type OccurrenceState = 'cancelled' | 'upcoming' | 'running' | 'ended';

/**
 * Where an occurrence stands: its run says running or ended; without a run it is upcoming until its end, and ended
 * after it (nobody started it: the schedule starts a run at the start, so this is rare but possible when the hub was
 * down).
 */
export function occurrenceState(occurrence: Occurrence, runs: readonly ClassRun[], now: number): { state: OccurrenceState; run?: ClassRun } {
  const id = runIdOf(occurrence);
  const run = runs.find((candidate) => candidate.id === id);
  if (run !== undefined) return { state: run.state, run };
  if (occurrence.cancelled) return { state: 'cancelled' };
  return { state: now >= Date.parse(occurrence.endsAt) ? 'ended' : 'upcoming' };
}

/** Whether the start button may be offered: the hub's window is [start - 30 min, end). */
export function mayStart(occurrence: Occurrence, state: OccurrenceState, now: number): boolean {
  return state === 'upcoming' && now >= Date.parse(occurrence.startsAt) - EARLY_START_MS && now < Date.parse(occurrence.endsAt);
}

/** Today's occurrences of every class, by start, each with its state. */
export function todaysClasses(occurrences: readonly Occurrence[], runs: readonly ClassRun[], now: number): { occurrence: Occurrence; state: OccurrenceState; run?: ClassRun }[] {
  return [...occurrences]
    .sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt) || a.name.localeCompare(b.name))
    .map((occurrence) => ({ occurrence, ...occurrenceState(occurrence, runs, now) }));
}

export interface RosterGroups {
  /** Athletes holding a place, by name. */
  booked: RosterEntry[];
  /** Athletes waiting, by waitlist position. */
  waitlist: RosterEntry[];
  checkedIn: number;
}

/** The roster as the page shows it: places by name (in the page's language), then the waitlist in order. */
export function rosterGroups(entries: readonly RosterEntry[], language: string): RosterGroups {
  const collator = new Intl.Collator(language, { sensitivity: 'base' });
  const booked = entries.filter((entry) => entry.status === 'booked').sort((a, b) => collator.compare(a.displayName, b.displayName) || a.userId.localeCompare(b.userId));
  const waitlist = entries
    .filter((entry) => entry.status === 'waitlisted')
    .sort((a, b) => (a.position ?? Number.MAX_SAFE_INTEGER) - (b.position ?? Number.MAX_SAFE_INTEGER) || a.bookedAt.localeCompare(b.bookedAt));
  return { booked, waitlist, checkedIn: booked.filter((entry) => entry.checkedIn).length };
}

/** Athletes who hold a place and wear no loaner yet: the ones a strap may be lent to. */
export function loanCandidates(entries: readonly RosterEntry[]): RosterEntry[] {
  return entries.filter((entry) => entry.status === 'booked' && !entry.sensors.some((sensor) => sensor.kind === 'loaner'));
}

export interface ResultRow {
  athlete: string;
  name: string;
  /** True while the session is live or its results are being computed again. */
  pending: boolean;
  durationS?: number;
  averageHeartRateBpm?: number;
  maxHeartRateBpm?: number;
  effortPoints?: number;
  kcal?: number;
  averagePowerW?: number;
  distanceM?: number;
}

/** One row per athlete of the run, by effort points (highest first), then by name; figures absent where unknown. */
export function resultRows(results: readonly RunResult[], language: string): ResultRow[] {
  const collator = new Intl.Collator(language, { sensitivity: 'base' });
  const rows = results.map((result): ResultRow => {
    const figures = result.session.results;
    const row: ResultRow = { athlete: result.athlete, name: result.displayName, pending: result.session.state !== 'completed' || result.session.recomputing };
    if (figures === undefined) return row;
    row.durationS = figures.durationS;
    const averageHeartRate = figures.heartRate?.averageBpm ?? figures.averageHeartRateBpm;
    const maxHeartRate = figures.heartRate?.maxBpm ?? figures.maxHeartRateBpm;
    if (averageHeartRate !== undefined) row.averageHeartRateBpm = Math.round(averageHeartRate);
    if (maxHeartRate !== undefined) row.maxHeartRateBpm = Math.round(maxHeartRate);
    if (figures.heartRate !== undefined) row.effortPoints = Math.round(figures.heartRate.effortPoints);
    if (figures.calories.kcal !== undefined) row.kcal = Math.round(figures.calories.kcal);
    if (figures.power !== undefined) row.averagePowerW = Math.round(figures.power.averageW);
    if (figures.distanceM !== undefined) row.distanceM = figures.distanceM;
    return row;
  });
  return rows.sort((a, b) => (b.effortPoints ?? -1) - (a.effortPoints ?? -1) || collator.compare(a.name, b.name));
}

/** A duration as h:mm:ss or m:ss. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** The control a refusal came from: the words differ (a 409 of the start button is the start window). */
export type CoachAction = 'start' | 'end' | 'checkIn' | 'lend' | 'book' | 'load';

/**
 * The text explaining an API refusal next to the control that caused it. The API's `detail` is English and shown
 * beside it for the specifics; this is the sentence in the page's language.
 */
export function problemKey(action: CoachAction, status: number | undefined): TextKey {
  if (status === undefined) return 'coachErrorNetwork';
  if (status === 403) return 'coachErrorForbidden';
  if (status === 404) return 'coachErrorNotFound';
  if (status === 409) {
    switch (action) {
      case 'start':
        return 'coachErrorStartWindow';
      case 'end':
        return 'coachErrorEndedAlready';
      case 'checkIn':
        return 'coachErrorCheckInWaitlisted';
      case 'lend':
        return 'coachErrorStrapTaken';
      case 'book':
        return 'coachErrorClassFull';
      case 'load':
        return 'coachErrorGeneric';
    }
  }
  if (status === 400) return 'coachErrorInvalid';
  if (status >= 500) return 'coachErrorUnavailable';
  return 'coachErrorGeneric';
}

/** A time of day in the gym's time zone, in the page's language (14:05, 2:05 PM). */
export function formatClock(instant: string, timeZone: string, language: string): string {
  return new Intl.DateTimeFormat(language, { timeZone, hour: 'numeric', minute: '2-digit' }).format(new Date(instant));
}

/** A date in the gym's time zone, in the page's language (Monday, 22 March 2027). */
export function formatDay(instant: string, timeZone: string, language: string): string {
  return new Intl.DateTimeFormat(language, { timeZone, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(instant));
}

/** The page of an occurrence; the start stays readable (colons are allowed in a path segment). */
export function occurrenceHref(occurrence: Pick<Occurrence, 'class' | 'start'>): string {
  return `${APP_BASE}/coach/classes/${encodeURIComponent(occurrence.class)}/${occurrence.start}`;
}

/** The class board for a run, opened on the gym's screen or beside the coach page (board/main.tsx reads both). */
export function boardHref(gym: string, runId: string): string {
  return `/board/?gym=${encodeURIComponent(gym)}&run=${encodeURIComponent(runId)}`;
}

/** The figures the hub ranks a class run's leaderboard by (runs-operations.ts RUN_METRICS). */
export const LEADERBOARD_METRICS = ['effortPoints', 'kcal', 'averagePowerW', 'distanceM'] as const;
export type LeaderboardMetric = (typeof LEADERBOARD_METRICS)[number];

/** The gym's straps not on loan now (an active loaner binding names its gym sensor), by label. */
export function freeStraps(sensors: readonly GymSensor[], activeBindings: readonly Binding[], language: string): GymSensor[] {
  const lent = new Set(activeBindings.filter((binding) => binding.active && binding.kind === 'loaner').map((binding) => binding.gymSensor));
  const collator = new Intl.Collator(language, { numeric: true, sensitivity: 'base' });
  return sensors.filter((sensor) => !lent.has(sensor.id)).sort((a, b) => collator.compare(a.label ?? a.sensor, b.label ?? b.sensor));
}

/** The gym's athletes who hold neither a place nor a waitlist position: the ones staff may book, by name. */
export function bookableMembers(members: readonly Member[], entries: readonly RosterEntry[], language: string): Member[] {
  const onRoster = new Set(entries.map((entry) => entry.userId));
  const collator = new Intl.Collator(language, { sensitivity: 'base' });
  return members.filter((member) => member.roles.includes('athlete') && !onRoster.has(member.userId)).sort((a, b) => collator.compare(a.displayName, b.displayName));
}
