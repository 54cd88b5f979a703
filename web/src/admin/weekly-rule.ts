/**
 * The schedule editor's recurrence: a set of weekdays (and an optional end date) <-> the RFC 5545 RRULE the classes
 * API stores (FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20271231). Rules the simple editor cannot show (monthly, intervals,
 * BYHOUR...) are recognised as such, so the page keeps them as text instead of silently rewriting them.
 */

export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface WeeklyRule {
  /** In week order, no repeats; empty: a one-off class (no rule). */
  days: Weekday[];
  /** Last day of the schedule, YYYY-MM-DD, inclusive. */
  until?: string;
}

/** The RRULE of a weekly schedule, or undefined for a one-off class (no days). */
export function weeklyToRrule(rule: WeeklyRule): string | undefined {
  const days = WEEKDAYS.filter((day) => rule.days.includes(day));
  if (days.length === 0) return undefined;
  const parts = ['FREQ=WEEKLY', `BYDAY=${days.join(',')}`];
  if (rule.until !== undefined && rule.until !== '') parts.push(`UNTIL=${rule.until.replaceAll('-', '')}`);
  return parts.join(';');
}

/**
 * The weekly schedule a rule describes, or undefined when the simple editor cannot represent it. An absent rule is
 * a one-off class: no days.
 */
export function rruleToWeekly(rrule: string | undefined): WeeklyRule | undefined {
  if (rrule === undefined || rrule.trim() === '') return { days: [] };
  const fields = new Map<string, string>();
  for (const part of rrule
    .trim()
    .replace(/^RRULE:/i, '')
    .split(';')) {
    const [key, value, ...rest] = part.split('=');
    if (key === undefined || value === undefined || rest.length > 0 || fields.has(key.toUpperCase())) return undefined;
    fields.set(key.toUpperCase(), value.toUpperCase());
  }
  if (fields.get('FREQ') !== 'WEEKLY') return undefined;
  const byDay = fields.get('BYDAY');
  if (byDay === undefined) return undefined;
  const days = byDay.split(',');
  if (!days.every((day): day is Weekday => (WEEKDAYS as readonly string[]).includes(day))) return undefined;
  const rule: WeeklyRule = { days: WEEKDAYS.filter((day) => days.includes(day)) };
  for (const [key, value] of fields) {
    if (key === 'FREQ' || key === 'BYDAY') continue;
    if (key === 'INTERVAL' && value === '1') continue;
    if (key === 'WKST') continue;
    if (key !== 'UNTIL') return undefined;
    const date = /^(\d{4})(\d{2})(\d{2})(T\d{6}Z?)?$/.exec(value);
    if (date === null) return undefined;
    rule.until = `${date[1]}-${date[2]}-${date[3]}`;
  }
  return rule;
}

/** A Monday at noon UTC: the dates below are that Monday plus a day index, so their weekday names follow. */
const A_MONDAY_MS = Date.UTC(2024, 0, 1, 12);

/** The day's name in the language ('long': Monday, 'short': Mon), from Intl, so every language the app has gets it. */
export function weekdayName(day: Weekday, language: string, width: 'long' | 'short' = 'long'): string {
  const offset = WEEKDAYS.indexOf(day);
  return new Intl.DateTimeFormat(language, { weekday: width, timeZone: 'UTC' }).format(new Date(A_MONDAY_MS + offset * 86_400_000));
}

/** The days as a list in words, in the language: "Monday, Wednesday and Friday". */
export function daysInWords(days: readonly Weekday[], language: string): string {
  return new Intl.ListFormat(language, { style: 'long', type: 'conjunction' }).format(days.map((day) => weekdayName(day, language)));
}

/** A YYYY-MM-DD date in the language's long form, read as a calendar date (no time zone shift). */
export function dateInWords(date: string, language: string): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Intl.DateTimeFormat(language, { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(year ?? 1970, (month ?? 1) - 1, day ?? 1)));
}
