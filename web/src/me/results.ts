/**
 * What the session page shows of a session's results: figures with their labels, time in zones as shares of a
 * bar, records, and calories or why there are none, in the chosen language. Pure: tested in
 * web/test/me-results.test.ts.
 */
import type { Language, TextKey, Translate } from '../i18n/index.ts';
import { formatDistance, formatDuration, formatInteger, formatPace, formatSpeed } from './format.ts';
import type { Results, Session } from './types.ts';

export interface Figure {
  label: TextKey;
  value: string;
}

export interface ZoneShare {
  zone: number;
  seconds: number;
  /** Share of the time spent in any zone, 0..100. */
  percent: number;
}

export interface ShownResults {
  figures: Figure[];
  /** Empty without heart-rate zones. */
  zones: ZoneShare[];
  records: Figure[];
  /** The results were computed again after late readings arrived. */
  revised: boolean;
}

const POWER_RECORDS: readonly [string, TextKey][] = [
  ['60', 'meRecordPower1'],
  ['300', 'meRecordPower5'],
  ['1200', 'meRecordPower20'],
];
const DISTANCE_RECORDS: readonly [string, TextKey][] = [
  ['1000', 'meRecordFastest1'],
  ['5000', 'meRecordFastest5'],
];

const MISSING_FACTS: Record<string, TextKey> = { weight: 'meFactWeight', age: 'meFactAge', sex: 'meFactSex' };

/**
 * Why the API gave no calories, in the chosen language: the reasons metrics.ts gives are known ("the profile has
 * no weight, age", "the session has no heart rate"); anything else is shown as the API wrote it.
 */
export function caloriesReason(t: Translate, language: Language, unavailable: string | undefined): string {
  if (unavailable === undefined) return t('meCaloriesUnknown');
  const missing = /^the profile has no (.+)$/.exec(unavailable);
  if (missing !== null) {
    const facts = missing[1]!.split(', ').map((fact) => (MISSING_FACTS[fact] ? t(MISSING_FACTS[fact]) : fact));
    return t('meCaloriesMissingFacts', { facts: new Intl.ListFormat(language, { type: 'conjunction' }).format(facts) });
  }
  if (unavailable === 'the session has no heart rate') return t('meCaloriesNoHeartRate');
  return unavailable;
}

export function zoneShares(secondsInZone: readonly number[]): ZoneShare[] {
  const total = secondsInZone.reduce((sum, s) => sum + (s > 0 ? s : 0), 0);
  return secondsInZone.map((seconds, i) => ({ zone: i + 1, seconds, percent: total > 0 ? (Math.max(0, seconds) / total) * 100 : 0 }));
}

export function shownResults(t: Translate, language: Language, session: Pick<Session, 'revision'>, results: Results): ShownResults {
  const figures: Figure[] = [{ label: 'meDuration', value: formatDuration(results.durationS) }];
  const bpm = (value: number) => t('meBpm', { value: Math.round(value) });
  const watts = (value: number) => t('meWatts', { value: Math.round(value) });
  const averageHr = results.heartRate?.averageBpm ?? results.averageHeartRateBpm;
  const maxHr = results.heartRate?.maxBpm ?? results.maxHeartRateBpm;
  if (averageHr !== undefined) figures.push({ label: 'meAverageHeartRate', value: bpm(averageHr) });
  if (maxHr !== undefined) figures.push({ label: 'meMaxHeartRate', value: bpm(maxHr) });
  if (results.heartRate !== undefined) figures.push({ label: 'meEffortPoints', value: formatInteger(language, results.heartRate.effortPoints) });
  figures.push({
    label: 'meCalories',
    value: results.calories.kcal !== undefined ? t('meKcal', { value: Math.round(results.calories.kcal) }) : caloriesReason(t, language, results.calories.unavailable),
  });
  if (results.power !== undefined) {
    figures.push({ label: 'meAveragePower', value: watts(results.power.averageW) });
    figures.push({ label: 'meMaxPower', value: watts(results.power.maxW) });
    if (results.power.weightedW !== undefined) figures.push({ label: 'meWeightedPower', value: watts(results.power.weightedW) });
  }
  if (results.distanceM !== undefined) figures.push({ label: 'meDistance', value: formatDistance(language, results.distanceM) });
  const pace = formatPace(t, results.averagePaceSPerKm);
  if (pace !== undefined) figures.push({ label: 'mePace', value: pace });
  if (results.averageSpeedMps !== undefined) figures.push({ label: 'meAverageSpeed', value: formatSpeed(language, results.averageSpeedMps) });
  if (results.elevationGainM !== undefined) figures.push({ label: 'meElevationGain', value: formatDistance(language, results.elevationGainM) });

  const records: Figure[] = [];
  for (const [window, label] of POWER_RECORDS) {
    const value = results.records.bestPowerW[window];
    if (value !== undefined) records.push({ label, value: watts(value) });
  }
  for (const [metres, label] of DISTANCE_RECORDS) {
    const value = results.records.fastestS[metres];
    if (value !== undefined) records.push({ label, value: formatDuration(value) });
  }
  return { figures, zones: results.heartRate ? zoneShares(results.heartRate.secondsInZone) : [], records, revised: session.revision > 1 };
}

/** The few figures a line of the sessions list shows after its duration. */
export function keyFigures(t: Translate, language: Language, results: Results | undefined): string[] {
  if (results === undefined) return [];
  const shown: string[] = [];
  if (results.heartRate !== undefined) shown.push(t('meEffortPointsShort', { value: Math.round(results.heartRate.effortPoints) }));
  const averageHr = results.heartRate?.averageBpm ?? results.averageHeartRateBpm;
  if (averageHr !== undefined) shown.push(t('meBpm', { value: Math.round(averageHr) }));
  if (results.calories.kcal !== undefined) shown.push(t('meKcal', { value: Math.round(results.calories.kcal) }));
  if (results.power !== undefined) shown.push(t('meWatts', { value: Math.round(results.power.averageW) }));
  if (results.distanceM !== undefined) shown.push(formatDistance(language, results.distanceM));
  return shown;
}
