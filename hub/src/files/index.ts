import { detectWorkoutFormat } from './detect.js';
import { exportFit, importFit } from './fit.js';
import { exportGpx, importGpx } from './gpx.js';
import { exportTcx, importTcx } from './tcx.js';
import { DEFAULT_WORKOUT_FILE_LIMITS, WorkoutFileError, type Workout, type WorkoutFileLimits, type WorkoutFormat } from './workout.js';

export { detectWorkoutFormat } from './detect.js';
export * from './workout.js';

/** Reads a FIT, GPX or TCX file, telling the format from its bytes. Throws WorkoutFileError. */
export function importWorkout(bytes: Uint8Array, limits: WorkoutFileLimits = DEFAULT_WORKOUT_FILE_LIMITS): { format: WorkoutFormat; workout: Workout } {
  if (bytes.length > limits.maxBytes) {
    throw new WorkoutFileError('too_large', `the file is larger than ${limits.maxBytes} bytes`);
  }
  const format = detectWorkoutFormat(bytes);
  const workout = format === 'fit' ? importFit(bytes, limits) : format === 'gpx' ? importGpx(bytes, limits) : importTcx(bytes, limits);
  return { format, workout };
}

export function exportWorkout(workout: Workout, format: WorkoutFormat): Uint8Array {
  if (format === 'fit') return exportFit(workout);
  if (format === 'gpx') return exportGpx(workout);
  return exportTcx(workout);
}

export const WORKOUT_CONTENT_TYPES: Record<WorkoutFormat, string> = {
  fit: 'application/vnd.ant.fit',
  gpx: 'application/gpx+xml',
  tcx: 'application/vnd.garmin.tcx+xml',
};
