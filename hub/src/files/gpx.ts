import { buildXml, child, children, fixed, isoTime, parseTime, parseWorkoutXml, text } from './xml.js';
import { finiteOrUndefined, WORKOUT_SPORTS, WorkoutFileError, type Workout, type WorkoutFileLimits, type WorkoutSample, type WorkoutSport, withoutUndefined } from './workout.js';

const GPX_NS = 'http://www.topografix.com/GPX/1/1';
const TRACK_POINT_EXTENSION_NS = 'http://www.garmin.com/xmlschemas/TrackPointExtension/v2';

/**
 * GPX 1.1 keeps time, position, elevation and, through Garmin's TrackPointExtension,
 * heart rate and cadence. Points without a position are left out: GPX requires lat/lon.
 */
export function exportGpx(workout: Workout): Uint8Array {
  const points = workout.samples
    .filter((sample) => sample.lat !== undefined && sample.lon !== undefined)
    .map((sample) => {
      const extension: Record<string, string> = {};
      if (sample.heartrate !== undefined) extension['gpxtpx:hr'] = String(Math.round(sample.heartrate));
      if (sample.cadence !== undefined) extension['gpxtpx:cad'] = String(Math.round(sample.cadence));
      return {
        '@_lat': fixed(sample.lat!, 7),
        '@_lon': fixed(sample.lon!, 7),
        ...(sample.altitude !== undefined ? { ele: fixed(sample.altitude, 2) } : {}),
        time: isoTime(workout.startTime + sample.t),
        ...(Object.keys(extension).length > 0 ? { extensions: { 'gpxtpx:TrackPointExtension': extension } } : {}),
      };
    });
  return buildXml({
    gpx: {
      '@_version': '1.1',
      '@_creator': 'Pulsebridge',
      '@_xmlns': GPX_NS,
      '@_xmlns:gpxtpx': TRACK_POINT_EXTENSION_NS,
      metadata: { time: isoTime(workout.startTime) },
      trk: { type: workout.sport, trkseg: { trkpt: points } },
    },
  });
}

const GPX_ARRAYS = new Set(['trk', 'trkseg', 'trkpt']);

export function importGpx(bytes: Uint8Array, limits: WorkoutFileLimits): Workout {
  const gpx = child(parseWorkoutXml(bytes, 'trkpt', GPX_ARRAYS, limits), 'gpx');
  if (gpx === undefined) throw new WorkoutFileError('corrupt', 'the GPX has no gpx element');
  const tracks = children(gpx, 'trk');
  const points = tracks.flatMap((track) => children(track, 'trkseg').flatMap((segment) => children(segment, 'trkpt')));
  const timed = points
    .map((point) => ({ point, time: parseTime(text(point, 'time')) }))
    .filter((entry): entry is { point: Record<string, unknown>; time: number } => entry.time !== undefined);
  if (timed.length === 0) throw new WorkoutFileError('corrupt', 'the GPX has no timed track points');
  const startTime = parseTime(text(child(gpx, 'metadata'), 'time')) ?? timed[0]!.time;
  const samples = timed.map(({ point, time }): WorkoutSample => {
    const extension = child(child(point, 'extensions'), 'TrackPointExtension');
    return withoutUndefined({
      t: time - startTime,
      lat: finiteOrUndefined(point['@_lat']),
      lon: finiteOrUndefined(point['@_lon']),
      altitude: finiteOrUndefined(text(point, 'ele')),
      heartrate: finiteOrUndefined(text(extension, 'hr')),
      cadence: finiteOrUndefined(text(extension, 'cad')),
      // Not written by the hub, but Strava's GPX exports carry it.
      watts: finiteOrUndefined(text(child(point, 'extensions'), 'power')),
    });
  });
  return { sport: sportNamed(text(tracks[0], 'type')), startTime, samples };
}

export function sportNamed(name: string | undefined): WorkoutSport {
  const lower = name?.toLowerCase();
  return WORKOUT_SPORTS.find((sport) => sport === lower) ?? (lower === 'biking' ? 'cycling' : 'generic');
}
