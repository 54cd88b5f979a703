/**
 * Class schedules in a gym's time zone: a first start as local wall time (2027-03-22T07:00), a duration, and an
 * optional RFC 5545 RRULE. The rule is expanded in floating local time (rrule's Dates in UTC stand for wall
 * time in the gym), and each local occurrence becomes an instant with luxon in the gym's zone, so a 07:00 class
 * stays at 07:00 local across daylight-saving changes while its UTC instant moves by the change.
 *
 * Two local times have no single instant:
 * - in the spring-forward gap (02:30 on the night clocks jump from 02:00 to 03:00) the occurrence is moved
 *   forward by the length of the gap (03:30), as luxon does;
 * - in the fall-back overlap (02:30 happens twice) the occurrence takes the earlier instant (the summer-time
 *   offset), the first time the wall clock shows it.
 *
 * Pure: no clock, no store.
 */
import { DateTime } from 'luxon';
import rrule from 'rrule';

const { RRule } = rrule;

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
/** The longest window one request may expand. */
export const MAX_WINDOW_MS = 366 * DAY_MS;
export const MAX_COUNT = 1000;
/** The furthest UNTIL may lie after the first start. */
export const MAX_UNTIL_YEARS = 10;
/** Zone offsets stay within ±14 h: a local window this much wider than an instant window holds all of it. */
const ZONE_MARGIN_MS = 15 * 3_600_000;

const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/;
const WEEKDAY = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/;
const ALLOWED_FREQUENCIES = new Set(['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']);
const ALLOWED_PARTS = new Set(['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'BYDAY', 'BYMONTHDAY', 'BYMONTH', 'BYSETPOS', 'WKST', 'BYYEARDAY', 'BYWEEKNO']);

export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

export interface Schedule {
  /** The first occurrence, local wall time: YYYY-MM-DDTHH:mm. */
  start: string;
  /** RFC 5545 RRULE without DTSTART (FREQ=WEEKLY;BYDAY=MO,WE); absent for a one-off class. */
  rrule?: string | undefined;
  timeZone: string;
}

/** YYYY-MM-DDTHH:mm as its parts; undefined when malformed or not a calendar date. */
export function parseLocalDateTime(text: string): LocalDateTime | undefined {
  const match = LOCAL_DATE_TIME.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [number, number, number, number, number];
  const floating = new Date(Date.UTC(year, month - 1, day, hour, minute));
  if (floating.getUTCFullYear() !== year || floating.getUTCMonth() !== month - 1 || floating.getUTCDate() !== day || hour > 23 || minute > 59) return undefined;
  return { year, month, day, hour, minute };
}

export function formatLocalDateTime(local: LocalDateTime): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${String(local.year).padStart(4, '0')}-${two(local.month)}-${two(local.day)}T${two(local.hour)}:${two(local.minute)}`;
}

const floatingOf = (local: LocalDateTime) => new Date(Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute));
const localOfFloating = (date: Date): LocalDateTime => ({
  year: date.getUTCFullYear(),
  month: date.getUTCMonth() + 1,
  day: date.getUTCDate(),
  hour: date.getUTCHours(),
  minute: date.getUTCMinutes(),
});

/** The instant of a local wall time in `zone`: forward across a gap, the earlier of two in an overlap (see the header). */
export function instantOf(local: LocalDateTime, zone: string): number {
  const resolved = DateTime.fromObject(local, { zone });
  const later = resolved.toMillis();
  // luxon takes the later offset in an overlap; the offset a few hours before tells whether an earlier instant shows the same wall time.
  const before = DateTime.fromMillis(later - 3 * 3_600_000, { zone }).offset;
  if (before > resolved.offset) {
    const earlier = later - (before - resolved.offset) * MINUTE_MS;
    const check = DateTime.fromMillis(earlier, { zone });
    if (check.hour === local.hour && check.minute === local.minute && check.day === local.day) return earlier;
  }
  return later;
}

/** The wall time of an instant in `zone`. */
export function localOf(instant: number, zone: string): LocalDateTime {
  const at = DateTime.fromMillis(instant, { zone });
  return { year: at.year, month: at.month, day: at.day, hour: at.hour, minute: at.minute };
}

/** UNTIL as a floating local bound: a UTC time (Z) is converted to the zone's wall time, a date covers its whole day. */
function untilOf(value: string, zone: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(value);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (match[4] === undefined) return new Date(Date.UTC(year, month - 1, day, 23, 59, 59));
  const [hour, minute, second] = [Number(match[4]), Number(match[5]), Number(match[6])];
  if (match[7] === 'Z') {
    const at = DateTime.fromMillis(Date.UTC(year, month - 1, day, hour, minute, second), { zone });
    return new Date(Date.UTC(at.year, at.month - 1, at.day, at.hour, at.minute, at.second));
  }
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/**
 * What is wrong with a rule for a class starting at `start` (already valid), each `${path}: problem`. Refused:
 * unknown parts, DTSTART inside the rule, frequencies under a day, BYHOUR/BYMINUTE/BYSECOND (a class starts at
 * its start time), COUNT over MAX_COUNT, UNTIL before the start or over MAX_UNTIL_YEARS after it.
 */
export function ruleProblems(text: string, start: LocalDateTime, path: string): string[] {
  if (text.length > 512) return [`${path}: at most 512 characters`];
  const parts = text.split(';');
  const seen = new Map<string, string>();
  for (const part of parts) {
    const match = /^([A-Z]+)=([A-Za-z0-9,+-]+)$/.exec(part);
    if (match === null) return [`${path}: "${part}" is not NAME=VALUE`];
    const [name, value] = [match[1]!, match[2]!];
    if (!ALLOWED_PARTS.has(name)) return [`${path}: ${name} is not allowed in a class schedule`];
    if (seen.has(name)) return [`${path}: ${name} appears twice`];
    seen.set(name, value);
  }
  const problems: string[] = [];
  const freq = seen.get('FREQ');
  if (freq === undefined || !ALLOWED_FREQUENCIES.has(freq)) problems.push(`${path}: FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY`);
  const count = seen.get('COUNT');
  if (count !== undefined && !(/^\d+$/.test(count) && Number(count) >= 1 && Number(count) <= MAX_COUNT)) problems.push(`${path}: COUNT must be 1..${MAX_COUNT}`);
  const interval = seen.get('INTERVAL');
  if (interval !== undefined && !(/^\d+$/.test(interval) && Number(interval) >= 1 && Number(interval) <= 366)) problems.push(`${path}: INTERVAL must be 1..366`);
  const byday = seen.get('BYDAY');
  if (byday !== undefined && !byday.split(',').every((day) => WEEKDAY.test(day))) problems.push(`${path}: BYDAY takes days like MO, WE or 1MO, -1FR`);
  const wkst = seen.get('WKST');
  if (wkst !== undefined && !/^(MO|TU|WE|TH|FR|SA|SU)$/.test(wkst)) problems.push(`${path}: WKST takes a day like MO`);
  for (const name of ['BYMONTHDAY', 'BYMONTH', 'BYSETPOS', 'BYYEARDAY', 'BYWEEKNO']) {
    const value = seen.get(name);
    if (value !== undefined && !/^[+-]?\d{1,3}(,[+-]?\d{1,3})*$/.test(value)) problems.push(`${path}: ${name} takes a list of numbers`);
  }
  const until = seen.get('UNTIL');
  if (until !== undefined) {
    if (count !== undefined) problems.push(`${path}: COUNT and UNTIL exclude each other`);
    const bound = untilOf(until, 'UTC');
    const first = floatingOf(start).getTime();
    if (bound === undefined) problems.push(`${path}: UNTIL must be YYYYMMDD or YYYYMMDDTHHMMSS[Z]`);
    else if (bound.getTime() < first) problems.push(`${path}: UNTIL lies before the start`);
    else if (bound.getTime() > first + MAX_UNTIL_YEARS * 366 * DAY_MS) problems.push(`${path}: UNTIL lies more than ${MAX_UNTIL_YEARS} years after the start`);
  }
  if (problems.length > 0) return problems;
  try {
    RRule.parseString(text);
  } catch (err) {
    problems.push(`${path}: ${(err as Error).message}`);
  }
  return problems;
}

function ruleOf(schedule: Schedule): InstanceType<typeof RRule> | undefined {
  if (schedule.rrule === undefined) return undefined;
  const options = RRule.parseString(schedule.rrule);
  const until = /(?:^|;)UNTIL=([^;]+)/.exec(schedule.rrule)?.[1];
  const local = parseLocalDateTime(schedule.start)!;
  return new RRule({ ...options, dtstart: floatingOf(local), tzid: null, ...(until === undefined ? {} : { until: untilOf(until, schedule.timeZone) ?? null }) });
}

/**
 * The start instants of the occurrences whose start lies in [from, to), ascending. Throws RangeError when the
 * window is empty or longer than MAX_WINDOW_MS (callers check first and answer 400).
 */
export function occurrencesBetween(schedule: Schedule, from: number, to: number): number[] {
  if (!(to > from) || to - from > MAX_WINDOW_MS) throw new RangeError(`a window is 1 ms..${MAX_WINDOW_MS} ms long`);
  const first = parseLocalDateTime(schedule.start);
  if (first === undefined) throw new RangeError(`${schedule.start} is not a local date-time`);
  const rule = ruleOf(schedule);
  const locals = rule === undefined ? [floatingOf(first)] : rule.between(new Date(from - ZONE_MARGIN_MS), new Date(to + ZONE_MARGIN_MS), true);
  const instants = locals.map((date) => instantOf(localOfFloating(date), schedule.timeZone)).filter((at) => at >= from && at < to);
  return [...new Set(instants)].sort((a, b) => a - b);
}

/** True when the schedule has an occurrence starting at exactly this instant. */
export function isOccurrence(schedule: Schedule, instant: number): boolean {
  return occurrencesBetween(schedule, instant, instant + 1).includes(instant);
}
