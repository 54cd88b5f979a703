/**
 * How the athlete pages write figures: durations, pace, distances, speeds, dates, in the chosen language.
 * Units Intl knows (kilometre, metre, km/h) come from Intl; the rest from the texts. Pure: tested in
 * web/test/me-format.test.ts.
 */
import type { Language, Translate } from '../i18n/index.ts';

/** A clock-style duration: 45:07, 1:05:03; seconds are rounded. Negative or non-finite durations are 0:00. */
export function formatDuration(seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** A duration in words for screen readers and summaries: "1 h 5 min", "3 min 20 s", "45 s" (seconds only under an hour). */
export function formatDurationWords(t: Translate, seconds: number): string {
  const total = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  if (h > 0) return t('meDurationHoursMinutes', { hours: h, minutes: m });
  const s = total % 60;
  if (m > 0) return s > 0 ? t('meDurationMinutesSeconds', { minutes: m, seconds: s }) : t('meDurationMinutes', { minutes: m });
  return t('meDurationSeconds', { seconds: total });
}

/** Pace per kilometre, 5:07 /km; none for a standstill. */
export function formatPace(t: Translate, secondsPerKm: number | undefined): string | undefined {
  if (secondsPerKm === undefined || !Number.isFinite(secondsPerKm) || secondsPerKm <= 0) return undefined;
  return t('mePacePerKm', { pace: formatDuration(secondsPerKm) });
}

/** A distance: metres below a kilometre, kilometres with two decimals below 10 km, one above. */
export function formatDistance(language: Language, metres: number): string {
  if (metres < 1000) return new Intl.NumberFormat(language, { style: 'unit', unit: 'meter', unitDisplay: 'short', maximumFractionDigits: 0 }).format(metres);
  const km = metres / 1000;
  return new Intl.NumberFormat(language, {
    style: 'unit',
    unit: 'kilometer',
    unitDisplay: 'short',
    minimumFractionDigits: km < 10 ? 2 : 1,
    maximumFractionDigits: km < 10 ? 2 : 1,
  }).format(km);
}

/** Speed from m/s, in km/h with one decimal. */
export function formatSpeed(language: Language, metresPerSecond: number): string {
  return new Intl.NumberFormat(language, { style: 'unit', unit: 'kilometer-per-hour', unitDisplay: 'short', maximumFractionDigits: 1 }).format(metresPerSecond * 3.6);
}

/** A whole number in the language's grouping (1,234 / 1 234). */
export function formatInteger(language: Language, value: number): string {
  return new Intl.NumberFormat(language, { maximumFractionDigits: 0 }).format(value);
}

/** A date and time of day, as the language writes them. */
export function formatDateTime(language: Language, iso: string): string {
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export function formatDate(language: Language, iso: string): string {
  return new Intl.DateTimeFormat(language, { dateStyle: 'medium' }).format(new Date(iso));
}
