/** Class schedules in gym time zones: wall time kept across daylight-saving changes, gaps and overlaps, strict rules. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY_MS, instantOf, isOccurrence, occurrencesBetween, parseLocalDateTime, ruleProblems, localOf, formatLocalDateTime } from '../../src/domain/classes/recurrence.ts';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const at = (text: string) => Date.parse(text);
const local = (text: string) => parseLocalDateTime(text)!;

test('a weekly 07:00 class stays at 07:00 in Berlin across both changes of 2027, its UTC instant moving by an hour', () => {
  const schedule = { start: '2027-03-22T07:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', timeZone: 'Europe/Berlin' };
  assert.deepEqual(occurrencesBetween(schedule, at('2027-03-20T00:00:00Z'), at('2027-04-01T00:00:00Z')).map(iso), ['2027-03-22T06:00:00Z', '2027-03-29T05:00:00Z']);
  const autumn = occurrencesBetween(schedule, at('2027-10-20T00:00:00Z'), at('2027-11-05T00:00:00Z'));
  assert.deepEqual(autumn.map(iso), ['2027-10-25T05:00:00Z', '2027-11-01T06:00:00Z']);
  for (const instant of autumn) assert.equal(formatLocalDateTime(localOf(instant, 'Europe/Berlin')).slice(11), '07:00');
});

test('a weekly 07:00 class stays at 07:00 in New York across both changes of 2027', () => {
  const schedule = { start: '2027-03-08T07:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', timeZone: 'America/New_York' };
  assert.deepEqual(occurrencesBetween(schedule, at('2027-03-01T00:00:00Z'), at('2027-03-20T00:00:00Z')).map(iso), ['2027-03-08T12:00:00Z', '2027-03-15T11:00:00Z']);
  assert.deepEqual(occurrencesBetween(schedule, at('2027-10-30T00:00:00Z'), at('2027-11-10T00:00:00Z')).map(iso), ['2027-11-01T11:00:00Z', '2027-11-08T12:00:00Z']);
});

test('a local time in the spring-forward gap moves forward by the gap', () => {
  assert.equal(iso(instantOf(local('2027-03-28T02:30'), 'Europe/Berlin')), '2027-03-28T01:30:00Z');
  assert.equal(iso(instantOf(local('2027-03-14T02:30'), 'America/New_York')), '2027-03-14T07:30:00Z');
  const daily = occurrencesBetween({ start: '2027-03-27T02:30', rrule: 'FREQ=DAILY;COUNT=3', timeZone: 'Europe/Berlin' }, at('2027-03-26T00:00:00Z'), at('2027-04-01T00:00:00Z'));
  assert.deepEqual(daily.map(iso), ['2027-03-27T01:30:00Z', '2027-03-28T01:30:00Z', '2027-03-29T00:30:00Z']);
});

test('a local time that happens twice on the fall-back night takes the earlier instant, once', () => {
  assert.equal(iso(instantOf(local('2027-10-31T02:30'), 'Europe/Berlin')), '2027-10-31T00:30:00Z');
  assert.equal(iso(instantOf(local('2027-11-07T01:30'), 'America/New_York')), '2027-11-07T05:30:00Z');
  const daily = occurrencesBetween({ start: '2027-10-30T02:30', rrule: 'FREQ=DAILY;COUNT=3', timeZone: 'Europe/Berlin' }, at('2027-10-29T00:00:00Z'), at('2027-11-03T00:00:00Z'));
  assert.deepEqual(daily.map(iso), ['2027-10-30T00:30:00Z', '2027-10-31T00:30:00Z', '2027-11-01T01:30:00Z']);
});

test('UNTIL in UTC is read as the gym’s wall time at that instant, a date UNTIL covers its whole day', () => {
  const utc = { start: '2027-03-22T07:00', rrule: 'FREQ=DAILY;UNTIL=20270324T060000Z', timeZone: 'Europe/Berlin' };
  assert.equal(occurrencesBetween(utc, at('2027-03-01T00:00:00Z'), at('2027-04-01T00:00:00Z')).length, 3);
  const date = { start: '2027-03-22T07:00', rrule: 'FREQ=DAILY;UNTIL=20270324', timeZone: 'America/New_York' };
  assert.equal(occurrencesBetween(date, at('2027-03-01T00:00:00Z'), at('2027-04-01T00:00:00Z')).length, 3);
});

test('a one-off class has its one occurrence; isOccurrence tells rule instants from others', () => {
  const once = { start: '2027-05-05T18:30', timeZone: 'Europe/Berlin' };
  assert.deepEqual(occurrencesBetween(once, at('2027-01-01T00:00:00Z'), at('2027-12-01T00:00:00Z')).map(iso), ['2027-05-05T16:30:00Z']);
  const weekly = { start: '2027-03-22T07:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', timeZone: 'Europe/Berlin' };
  assert.equal(isOccurrence(weekly, at('2027-03-29T05:00:00Z')), true);
  assert.equal(isOccurrence(weekly, at('2027-03-29T06:00:00Z')), false);
  assert.equal(isOccurrence(weekly, at('2027-03-15T06:00:00Z')), false, 'nothing before the first start');
});

test('rules are checked strictly: frequencies under a day, unknown parts, COUNT and UNTIL out of bounds are refused', () => {
  const start = local('2027-03-22T07:00');
  assert.deepEqual(ruleProblems('FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20271231', start, 'rrule'), []);
  assert.deepEqual(ruleProblems('FREQ=MONTHLY;BYDAY=1MO;COUNT=12', start, 'rrule'), []);
  for (const bad of [
    'FREQ=HOURLY',
    'FREQ=MINUTELY;COUNT=5',
    'FREQ=SECONDLY',
    'FREQ=DAILY;BYHOUR=7,8',
    'FREQ=DAILY;COUNT=5000',
    'FREQ=DAILY;COUNT=0',
    'FREQ=DAILY;UNTIL=20260101',
    'FREQ=DAILY;UNTIL=20500101',
    'FREQ=DAILY;COUNT=3;UNTIL=20271231',
    'FREQ=DAILY;FREQ=WEEKLY',
    'DTSTART=20270322T070000;FREQ=DAILY',
    'FREQ=WEEKLY;BYDAY=XX',
    'BYDAY=MO',
    'FREQ=DAILY;INTERVAL=0',
    'freq=daily',
    'FREQ=DAILY;$where=1',
  ]) {
    const problems = ruleProblems(bad, start, 'rrule');
    assert.ok(problems.length > 0 && problems.every((p) => p.startsWith('rrule: ')), `${bad}: ${JSON.stringify(problems)}`);
  }
});

test('expansion windows are bounded: empty or longer than 366 days is refused', () => {
  const weekly = { start: '2027-03-22T07:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', timeZone: 'Europe/Berlin' };
  assert.throws(() => occurrencesBetween(weekly, at('2027-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z') + 367 * DAY_MS), RangeError);
  assert.throws(() => occurrencesBetween(weekly, 10, 10), RangeError);
  assert.equal(occurrencesBetween(weekly, at('2027-03-22T00:00:00Z'), at('2027-03-22T00:00:00Z') + 366 * DAY_MS).length, 53);
});
