import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastSeen } from '../src/board/last-seen.ts';
import { contrastRatio, NO_ZONE_COLOUR, QUIET_COLOUR, ZONE_COLOURS, zoneColour } from '../src/board/zones.ts';
import { translator } from '../src/i18n/index.ts';

const now = Date.parse('2026-12-03T20:00:00.000Z');
const ago = (ms: number): string => new Date(now - ms).toISOString();

test('last seen reads in seconds under a minute, minutes under an hour, then hours', () => {
  assert.deepEqual(lastSeen(ago(7_400), now), { key: 'boardSeenSeconds', count: 7 });
  assert.deepEqual(lastSeen(ago(59_999), now), { key: 'boardSeenSeconds', count: 59 });
  assert.deepEqual(lastSeen(ago(60_000), now), { key: 'boardSeenMinutes', count: 1 });
  assert.deepEqual(lastSeen(ago(3_599_000), now), { key: 'boardSeenMinutes', count: 59 });
  assert.deepEqual(lastSeen(ago(2 * 3_600_000 + 5), now), { key: 'boardSeenHours', count: 2 });
});

test('never seen, an unreadable time and a clock behind the hub read sensibly', () => {
  assert.deepEqual(lastSeen(undefined, now), { key: 'boardNeverSeen' });
  assert.deepEqual(lastSeen('yesterday', now), { key: 'boardNeverSeen' });
  assert.deepEqual(lastSeen(ago(-3_000), now), { key: 'boardSeenSeconds', count: 0 });
});

test('the last-seen texts exist in English and Russian', () => {
  assert.equal(translator('en')('boardSeenMinutes', { count: 3 }), 'seen 3 min ago');
  assert.equal(translator('ru')('boardSeenMinutes', { count: 3 }), '3 мин назад');
  assert.equal(translator('ru')('boardAthletes', { count: 22 }), '22 участника');
  assert.equal(translator('ru')('boardAthletes', { count: 25 }), '25 участников');
});

test('six distinct zone colours (rest and 1..5), each with text at AA contrast, and readable on the dark board', () => {
  assert.equal(ZONE_COLOURS.length, 6);
  assert.equal(new Set(ZONE_COLOURS.map((c) => c.background)).size, 6);
  for (const colour of [...ZONE_COLOURS, NO_ZONE_COLOUR, QUIET_COLOUR]) assert.ok(contrastRatio(colour.text, colour.background) >= 4.5, `${colour.text} on ${colour.background}`);
});

test('a quiet strap shows dimmed whatever its last zone; no zone or a zone out of range show the neutral colour', () => {
  assert.equal(zoneColour(3, false), ZONE_COLOURS[3]);
  assert.equal(zoneColour(0, false), ZONE_COLOURS[0]);
  assert.equal(zoneColour(3, true), QUIET_COLOUR);
  assert.equal(zoneColour(undefined, true), QUIET_COLOUR);
  assert.notEqual(QUIET_COLOUR.background, NO_ZONE_COLOUR.background);
  assert.equal(zoneColour(undefined, false), NO_ZONE_COLOUR);
  assert.equal(zoneColour(7, false), NO_ZONE_COLOUR);
  assert.equal(zoneColour(2.5, false), NO_ZONE_COLOUR);
});

test('contrast ratio follows WCAG: black on white is 21, a colour on itself 1', () => {
  assert.equal(Math.round(contrastRatio('#000000', '#ffffff')), 21);
  assert.equal(contrastRatio('#56b4e9', '#56b4e9'), 1);
});
