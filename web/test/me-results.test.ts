import assert from 'node:assert/strict';
import { test } from 'node:test';
import { translator } from '../src/i18n/index.ts';
import { caloriesReason, keyFigures, shownResults, zoneShares } from '../src/me/results.ts';
import type { Results } from '../src/me/types.ts';

const plain = (text: string) => text.replace(/[\u00a0\u202f]/g, ' ');
const en = translator('en');
const ru = translator('ru');

const full: Results = {
  durationS: 3661,
  heartRate: {
    averageBpm: 141.6,
    maxBpm: 178,
    maxHeartRateUsed: 190,
    maxHeartRateSource: 'profile',
    secondsInZone: [600, 1200, 1200, 600, 0],
    effortPointsByZone: [10, 40, 60, 40, 0],
    effortPoints: 150,
  },
  calories: { kcal: 612.4 },
  power: { averageW: 180.2, maxW: 520, weightedW: 201 },
  distanceM: 30500,
  averagePaceSPerKm: 120,
  averageSpeedMps: 8.33,
  elevationGainM: 120,
  records: { bestPowerW: { '60': 400, '300': 300, '1200': 240 }, fastestS: { '1000': 100, '5000': 560 } },
};

test('every figure of full results is shown with its label, in order', () => {
  const shown = shownResults(en, 'en', { revision: 1 }, full);
  assert.deepEqual(
    shown.figures.map((f) => [f.label, plain(f.value)]),
    [
      ['meDuration', '1:01:01'],
      ['meAverageHeartRate', '142 bpm'],
      ['meMaxHeartRate', '178 bpm'],
      ['meEffortPoints', '150'],
      ['meCalories', '612 kcal'],
      ['meAveragePower', '180 W'],
      ['meMaxPower', '520 W'],
      ['meWeightedPower', '201 W'],
      ['meDistance', '30.5 km'],
      ['mePace', '2:00 /km'],
      ['meAverageSpeed', '30 km/h'],
      ['meElevationGain', '120 m'],
    ],
  );
  assert.deepEqual(
    shown.records.map((f) => [f.label, f.value]),
    [
      ['meRecordPower1', '400 W'],
      ['meRecordPower5', '300 W'],
      ['meRecordPower20', '240 W'],
      ['meRecordFastest1', '1:40'],
      ['meRecordFastest5', '9:20'],
    ],
  );
  assert.equal(shown.revised, false);
});

test('a heart-rate-only class session shows no power, distance or records, and says why there are no calories', () => {
  const shown = shownResults(
    en,
    'en',
    { revision: 2 },
    { durationS: 60, averageHeartRateBpm: 120, maxHeartRateBpm: 130, calories: { unavailable: 'the profile has no weight, sex' }, records: { bestPowerW: {}, fastestS: {} } },
  );
  assert.deepEqual(
    shown.figures.map((f) => f.label),
    ['meDuration', 'meAverageHeartRate', 'meMaxHeartRate', 'meCalories'],
  );
  assert.equal(shown.figures[3]!.value, 'not known: your profile has no weight and sex');
  assert.deepEqual(shown.zones, []);
  assert.deepEqual(shown.records, []);
  assert.equal(shown.revised, true, 'revision 2 means late readings changed the results');
});

test('why there are no calories is said in Russian too; an unknown reason is shown as the API wrote it', () => {
  assert.equal(caloriesReason(ru, 'ru', 'the profile has no weight, age, sex'), 'неизвестно: в профиле не указано: вес, дата рождения и пол');
  assert.equal(caloriesReason(ru, 'ru', 'the session has no heart rate'), 'неизвестно: в тренировке нет пульса');
  assert.equal(caloriesReason(en, 'en', 'something new'), 'something new');
  assert.equal(caloriesReason(en, 'en', undefined), 'not known');
});

test('time in zones becomes shares of the bar that add up to 100; no time in any zone gives empty shares', () => {
  const shares = zoneShares(full.heartRate!.secondsInZone);
  assert.deepEqual(
    shares.map((s) => Math.round(s.percent * 100) / 100),
    [16.67, 33.33, 33.33, 16.67, 0],
  );
  assert.equal(Math.round(shares.reduce((sum, s) => sum + s.percent, 0)), 100);
  assert.deepEqual(
    zoneShares([0, 0, 0, 0, 0]).map((s) => s.percent),
    [0, 0, 0, 0, 0],
  );
});

test('a list line shows effort points, heart rate, calories, power and distance when the session has them', () => {
  assert.deepEqual(keyFigures(en, 'en', full).map(plain), ['150 pts', '142 bpm', '612 kcal', '180 W', '30.5 km']);
  assert.deepEqual(keyFigures(ru, 'ru', full).map(plain), ['150 очк.', '142 уд/мин', '612 ккал', '180 Вт', '30,5 км']);
  assert.deepEqual(keyFigures(en, 'en', undefined), []);
});
