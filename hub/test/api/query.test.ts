/** parseTime: the years people type are the years it reads, and every date it cannot place is a 400 naming the parameter. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../src/api/problem.ts';
import { parseTime } from '../../src/api/query.ts';

function refused(value: string, detail: RegExp): void {
  assert.throws(
    () => parseTime(value, 'from'),
    (err: unknown) => err instanceof ApiError && err.param === 'from' && detail.test(err.message),
    `${value} should be refused with ${detail}`,
  );
}

test('a four-digit year below 100 is that year, not 1900 + year: 0099 is refused as before 1970, never read as 1999', () => {
  refused('0099-01-01', /before 1970/);
  refused('0099-06-15T12:00:00Z', /before 1970/);
  refused('0001-01-01T00:00:00+01:00', /before 1970/);
  refused('0000-01-01', /before 1970/);
});

test('year 0 and year 1900 follow the Gregorian leap rules of their own year', () => {
  // Year 0 is a leap year in the proleptic Gregorian calendar: the date exists, it is only out of range.
  refused('0000-02-29', /before 1970/);
  refused('1900-02-29', /no such date/);
  refused('0099-02-29', /no such date/);
});

test('years 1970 to 9999 are read as written', () => {
  assert.equal(parseTime('1999-01-01', 'from'), Date.UTC(1999, 0, 1));
  assert.equal(parseTime('1999-12-31T23:59:59.999Z', 'from'), Date.UTC(1999, 11, 31, 23, 59, 59, 999));
  assert.equal(parseTime('1970-01-01T00:00:00Z', 'from'), 0);
  assert.equal(parseTime('2000-02-29T12:00:00+02:00', 'from'), Date.UTC(2000, 1, 29, 10));
  assert.equal(parseTime('2024-05-01T10:00:00.5-0130', 'from'), Date.UTC(2024, 4, 1, 11, 30, 0, 500));
  assert.equal(parseTime('9999-12-31T23:59:59.999Z', 'from'), Date.UTC(9999, 11, 31, 23, 59, 59, 999));
  assert.equal(parseTime('915148800000', 'from'), Date.UTC(1999, 0, 1));
});

test('bad dates and times are refused with what is wrong', () => {
  refused('1999-02-29', /no such date/);
  refused('1999-04-31', /no such date/);
  refused('1999-00-10', /no such date/);
  refused('1999-01-00', /no such date/);
  refused('1999-01-01T24:00:00Z', /no such time/);
  refused('1999-01-01T10:60Z', /no such time/);
  refused('1999-01-01T10:00:00+24:00', /zone offset/);
  refused('99-01-01', /ISO 8601/);
  refused('1999-1-1', /ISO 8601/);
  refused('1999-01-01T10:00:00', /ISO 8601/);
  refused('+001999-01-01', /ISO 8601/);
  refused('', /ISO 8601/);
});

test('times out of range are refused: before 1970 and after year 9999, whatever the zone offset', () => {
  refused('1969-12-31T23:59:59.999Z', /before 1970/);
  refused('1970-01-01T00:30:00+01:00', /before 1970/);
  refused('9999-12-31T23:00:00-05:00', /after year 9999/);
  refused('253402300800000', /after year 9999/);
});
