import assert from 'node:assert/strict';
import { test } from 'node:test';
import { translator } from '../src/i18n/index.ts';
import { formatDate, formatDistance, formatDuration, formatDurationWords, formatPace, formatSpeed } from '../src/me/format.ts';

// Intl separates numbers from units with no-break spaces: compare on plain spaces.
const plain = (text: string | undefined) => text?.replace(/[\u00a0\u202f]/g, ' ');

test('durations read as a clock: minutes and seconds, hours when there are some; nonsense is 0:00', () => {
  assert.equal(formatDuration(0), '0:00');
  assert.equal(formatDuration(59.6), '1:00');
  assert.equal(formatDuration(45 * 60 + 7), '45:07');
  assert.equal(formatDuration(3600 + 5 * 60 + 3), '1:05:03');
  assert.equal(formatDuration(-5), '0:00');
  assert.equal(formatDuration(Number.NaN), '0:00');
});

test('durations in words are in the chosen language', () => {
  assert.equal(formatDurationWords(translator('en'), 3900), '1 h 5 min');
  assert.equal(formatDurationWords(translator('ru'), 3900), '1 ч 5 мин');
  assert.equal(formatDurationWords(translator('ru'), 42), '42 с');
  assert.equal(formatDurationWords(translator('en'), 200), '3 min 20 s');
  assert.equal(formatDurationWords(translator('en'), 180), '3 min');
});

test('pace is minutes and seconds per kilometre in both languages; a standstill has none', () => {
  assert.equal(formatPace(translator('en'), 307), '5:07 /km');
  assert.equal(formatPace(translator('ru'), 307), '5:07 /км');
  assert.equal(formatPace(translator('en'), 0), undefined);
  assert.equal(formatPace(translator('en'), undefined), undefined);
  assert.equal(formatPace(translator('en'), Number.POSITIVE_INFINITY), undefined);
});

test('distances: metres under a kilometre, kilometres with the language’s decimal mark', () => {
  assert.equal(plain(formatDistance('en', 850)), '850 m');
  assert.equal(plain(formatDistance('en', 5234)), '5.23 km');
  assert.equal(plain(formatDistance('ru', 5234)), '5,23 км');
  assert.equal(plain(formatDistance('en', 42195)), '42.2 km');
});

test('speed is shown in km/h from m/s', () => {
  assert.equal(plain(formatSpeed('en', 10)), '36 km/h');
  assert.equal(plain(formatSpeed('ru', 8.5)), '30,6 км/ч');
});

test('dates are written the way the chosen language writes them', () => {
  // Midday UTC: the same calendar day in every time zone the tests may run in.
  assert.match(formatDate('en', '2026-03-05T12:00:00Z'), /Mar 5, 2026/);
  assert.match(formatDate('ru', '2026-03-05T12:00:00Z'), /5 мар\.? 2026/);
});
