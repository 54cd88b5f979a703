import assert from 'node:assert/strict';
import { test } from 'node:test';
import { daysInWords, rruleToWeekly, weekdayName, weeklyToRrule } from '../src/admin/weekly-rule.ts';

test('weekdays become a weekly RRULE in week order, with the end date as UNTIL', () => {
  assert.equal(weeklyToRrule({ days: ['FR', 'MO', 'WE'] }), 'FREQ=WEEKLY;BYDAY=MO,WE,FR');
  assert.equal(weeklyToRrule({ days: ['SU'], until: '2027-12-31' }), 'FREQ=WEEKLY;BYDAY=SU;UNTIL=20271231');
  assert.equal(weeklyToRrule({ days: ['TU'], until: '' }), 'FREQ=WEEKLY;BYDAY=TU');
});

test('no weekday is a one-off class: no rule', () => {
  assert.equal(weeklyToRrule({ days: [] }), undefined);
  assert.deepEqual(rruleToWeekly(undefined), { days: [] });
  assert.deepEqual(rruleToWeekly(''), { days: [] });
});

test('a weekly rule reads back as the weekdays and end date it was made of', () => {
  for (const rule of [{ days: ['MO', 'WE', 'FR'] as const }, { days: ['SA', 'SU'] as const, until: '2027-06-30' }]) {
    const weekly = { days: [...rule.days], ...('until' in rule ? { until: rule.until } : {}) };
    assert.deepEqual(rruleToWeekly(weeklyToRrule(weekly)), weekly);
  }
  assert.deepEqual(rruleToWeekly('RRULE:freq=weekly;byday=we,mo;interval=1;UNTIL=20271231T235959Z'), { days: ['MO', 'WE'], until: '2027-12-31' });
});

test('rules the weekday editor cannot show are recognised, not rewritten', () => {
  assert.equal(rruleToWeekly('FREQ=MONTHLY;BYMONTHDAY=1'), undefined);
  assert.equal(rruleToWeekly('FREQ=WEEKLY;BYDAY=MO;INTERVAL=2'), undefined);
  assert.equal(rruleToWeekly('FREQ=WEEKLY;BYDAY=1MO'), undefined);
  assert.equal(rruleToWeekly('FREQ=WEEKLY'), undefined);
  assert.equal(rruleToWeekly('FREQ=WEEKLY;BYDAY=MO;COUNT=10'), undefined);
  assert.equal(rruleToWeekly('FREQ=WEEKLY;BYDAY=MO;BYDAY=TU'), undefined);
  assert.equal(rruleToWeekly('FREQ=WEEKLY;BYDAY=MO;UNTIL=tomorrow'), undefined);
  assert.equal(rruleToWeekly('garbage'), undefined);
});

test('the rule in words names the days in the chosen language', () => {
  assert.equal(weekdayName('MO', 'en'), 'Monday');
  assert.equal(weekdayName('SU', 'en', 'short'), 'Sun');
  assert.equal(weekdayName('WE', 'ru'), 'среда');
  assert.equal(daysInWords(['MO', 'WE', 'FR'], 'en'), 'Monday, Wednesday, and Friday');
  assert.equal(daysInWords(['TU', 'TH'], 'ru'), 'вторник и четверг');
});
