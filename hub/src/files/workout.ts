import { PulsebridgeError } from '@pulsebridge/runtime';

/** The sports the three formats can name; anything else imports as 'generic'. */
export type WorkoutSport = 'running' | 'cycling' | 'walking' | 'swimming' | 'rowing' | 'training' | 'generic';

export const WORKOUT_SPORTS: readonly WorkoutSport[] = ['running', 'cycling', 'walking', 'swimming', 'rowing', 'training', 'generic'];

/** One instant of a workout; `t` is milliseconds since the workout's startTime. */
export interface WorkoutSample {
  t: number;
  heartrate?: number;
  watts?: number;
  cadence?: number;
  /** m/s */
  speed?: number;
  /** metres from the start */
  distance?: number;
  lat?: number;
  lon?: number;
  /** metres */
  altitude?: number;
}

export interface Workout {
  sport: WorkoutSport;
  /** Unix epoch milliseconds */
  startTime: number;
  samples: WorkoutSample[];
}

export type WorkoutFormat = 'fit' | 'gpx' | 'tcx';

export type WorkoutFileErrorCode = 'unsupported_format' | 'corrupt' | 'too_large' | 'too_many_samples';

/** A workout file refused on import; the API maps every code to a 4xx. */
export class WorkoutFileError extends PulsebridgeError<WorkoutFileErrorCode> {}

export interface WorkoutFileLimits {
  /** Checked before any parsing. */
  maxBytes: number;
  /** Checked by counting before the samples are built. */
  maxSamples: number;
}

export const DEFAULT_WORKOUT_FILE_LIMITS: WorkoutFileLimits = {
  maxBytes: 25 * 1024 * 1024,
  maxSamples: 200_000,
};

export function checkSampleCount(count: number, limits: WorkoutFileLimits): void {
  if (count > limits.maxSamples) {
    throw new WorkoutFileError('too_many_samples', `the file holds more than ${limits.maxSamples} samples (${count})`);
  }
}

/** A number when the text is a finite number, otherwise undefined. */
export function finiteOrUndefined(text: unknown): number | undefined {
  if (typeof text !== 'string' && typeof text !== 'number') return undefined;
  if (typeof text === 'string' && text.trim() === '') return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** Drops the keys a format did not carry, so samples compare and serialise cleanly. */
export function withoutUndefined(sample: WorkoutSample): WorkoutSample {
  for (const key of Object.keys(sample) as (keyof WorkoutSample)[]) {
    if (sample[key] === undefined) delete sample[key];
  }
  return sample;
}
