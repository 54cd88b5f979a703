/**
 * An athlete's maximum heart rate, on which heart-rate zones and effort are computed: the value measured in a
 * test when the athlete gave one, else the age formula of Tanaka, Monahan and Seals (2001), HRmax = 208 - 0.7 x
 * age, which fits adults of both sexes better than 220 - age ("Age-predicted maximal heart rate revisited",
 * J Am Coll Cardiol 37(1):153-156).
 */
import type { AthleteProfileFields } from '../../identity/identity-store.ts';

export type MaxHeartRate = { bpm: number; source: 'test' } | { bpm: number; source: 'formula'; formula: 'tanaka'; age: number };

/** Whole years of age on the UTC day of `at`; undefined for a date that is not YYYY-MM-DD or an age out of reason. */
export function ageOn(birthDate: string, at: number): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate);
  if (match === null || !Number.isFinite(at)) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const on = new Date(at);
  const hadBirthday = on.getUTCMonth() + 1 > month || (on.getUTCMonth() + 1 === month && on.getUTCDate() >= day);
  const age = on.getUTCFullYear() - year - (hadBirthday ? 0 : 1);
  return age >= 0 && age < 150 ? age : undefined;
}

export function tanakaMaxHeartRate(age: number): number {
  return Math.round(208 - 0.7 * age);
}

/** Undefined when the athlete gave neither a measured value nor a birth date. */
export function maxHeartRateOf(profile: Pick<AthleteProfileFields, 'maxHeartRate' | 'birthDate'>, at: number): MaxHeartRate | undefined {
  if (profile.maxHeartRate !== undefined) return { bpm: profile.maxHeartRate, source: 'test' };
  const age = profile.birthDate === undefined ? undefined : ageOn(profile.birthDate, at);
  if (age === undefined) return undefined;
  return { bpm: tanakaMaxHeartRate(age), source: 'formula', formula: 'tanaka', age };
}
