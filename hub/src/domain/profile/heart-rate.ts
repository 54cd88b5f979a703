/**
 * An athlete's maximum heart rate, on which heart-rate zones and effort are computed: the value measured in a
 * test when the athlete gave one, else the age formula of Tanaka, Monahan and Seals (2001), HRmax = 208 - 0.7 x
 * age, which fits adults of both sexes better than 220 - age ("Age-predicted maximal heart rate revisited",
 * J Am Coll Cardiol 37(1):153-156).
 */
import type { AthleteProfileFields } from '../../identity/identity-store.ts';

export type MaxHeartRate = { bpm: number; source: 'test' } | { bpm: number; source: 'formula'; formula: 'tanaka'; age: number };

/** Whole years of age on the UTC day of `at`. */
export function ageOn(birthDate: string, at: number): number {
  const [year, month, day] = birthDate.split('-').map(Number) as [number, number, number];
  const on = new Date(at);
  let age = on.getUTCFullYear() - year;
  const beforeBirthday = on.getUTCMonth() + 1 < month || (on.getUTCMonth() + 1 === month && on.getUTCDate() < day);
  if (beforeBirthday) age--;
  return age;
}

export function tanakaMaxHeartRate(age: number): number {
  return Math.round(208 - 0.7 * age);
}

/** Undefined when the athlete gave neither a measured value nor a birth date. */
export function maxHeartRateOf(profile: Pick<AthleteProfileFields, 'maxHeartRate' | 'birthDate'>, at: number): MaxHeartRate | undefined {
  if (profile.maxHeartRate !== undefined) return { bpm: profile.maxHeartRate, source: 'test' };
  if (profile.birthDate === undefined) return undefined;
  const age = ageOn(profile.birthDate, at);
  return { bpm: tanakaMaxHeartRate(age), source: 'formula', formula: 'tanaka', age };
}
