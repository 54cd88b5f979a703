/**
 * A session's 1 Hz streams as a Workout (for export) and a Workout as a session's readings and streams (for
 * import). One sample per second of the session, so that what the hub exports imports to the same streams
 * within each format's resolution: FIT and TCX keep every second (a second without any value is a sample with
 * only its time, which keeps the session's length); GPX keeps only the seconds with a position.
 */
import { resampleSession, type SessionReadings, type Streams } from '../results/streams.ts';
import { WORKOUT_SPORTS, type Workout, type WorkoutSample, type WorkoutSport } from './workout.ts';

/** The workout sport a session's sport names, or 'generic'. */
export function workoutSport(sport: string): WorkoutSport {
  return WORKOUT_SPORTS.find((known) => known === sport) ?? 'generic';
}

const valueAt = (stream: (number | null)[] | undefined, second: number): number | undefined => {
  const value = stream?.[second];
  return value === null || value === undefined ? undefined : value;
};

/** The workout of a session starting at `startMs` whose streams are `streams`. */
export function streamsToWorkout(streams: Streams, startMs: number, sport: string): Workout {
  const samples: WorkoutSample[] = streams.time.map((seconds, index) => {
    const sample: WorkoutSample = { t: seconds * 1000 };
    const set = (key: Exclude<keyof WorkoutSample, 't' | 'lat' | 'lon'>, value: number | undefined): void => {
      if (value !== undefined) sample[key] = value;
    };
    set('heartrate', valueAt(streams.heartrate, index));
    set('watts', valueAt(streams.watts, index));
    set('cadence', valueAt(streams.cadence, index));
    set('speed', valueAt(streams.velocity, index));
    set('distance', valueAt(streams.distance, index));
    set('altitude', valueAt(streams.altitude, index));
    const position = streams.latlng?.[index];
    if (position) [sample.lat, sample.lon] = position;
    return sample;
  });
  return { sport: workoutSport(sport), startTime: startMs, samples };
}

/** A workout's samples as readings (times in ms since the epoch), the input of resampleSession. */
export function workoutReadings(workout: Workout): SessionReadings {
  const readings = {
    heartrate: [] as [number, number][],
    watts: [] as [number, number][],
    cadence: [] as [number, number][],
    velocity: [] as [number, number][],
    distance: [] as [number, number][],
    altitude: [] as [number, number][],
    latlng: [] as [number, number, number][],
  };
  for (const sample of workout.samples) {
    const at = workout.startTime + sample.t;
    if (sample.heartrate !== undefined) readings.heartrate.push([at, sample.heartrate]);
    if (sample.watts !== undefined) readings.watts.push([at, sample.watts]);
    if (sample.cadence !== undefined) readings.cadence.push([at, sample.cadence]);
    if (sample.speed !== undefined) readings.velocity.push([at, sample.speed]);
    if (sample.distance !== undefined) readings.distance.push([at, sample.distance]);
    if (sample.altitude !== undefined) readings.altitude.push([at, sample.altitude]);
    if (sample.lat !== undefined && sample.lon !== undefined) readings.latlng.push([at, sample.lat, sample.lon]);
  }
  // A metric the file has no value of stays absent from the streams, as for a gym session.
  const present: SessionReadings = {};
  for (const [name, values] of Object.entries(readings)) if (values.length > 0) (present as Record<string, unknown>)[name] = values;
  return present;
}

/** The span of a workout: from its start to the second after its last sample. */
export function workoutSpan(workout: Workout): { startMs: number; endMs: number } {
  const lastT = workout.samples.reduce((latest, sample) => Math.max(latest, sample.t), 0);
  return { startMs: workout.startTime, endMs: workout.startTime + Math.floor(lastT / 1000) * 1000 + 1000 };
}

/** A workout as the 1 Hz streams of a session spanning workoutSpan (resampled as readings of a gym session are). */
export function workoutToStreams(workout: Workout): Streams {
  return resampleSession(workoutReadings(workout), workoutSpan(workout));
}
