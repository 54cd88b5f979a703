import { sportNamed } from './gpx.js';
import { buildXml, child, children, fixed, isoTime, parseTime, parseWorkoutXml, text, type XmlNode } from './xml.js';
import { finiteOrUndefined, WorkoutFileError, withoutUndefined, type Workout, type WorkoutFileLimits, type WorkoutSample, type WorkoutSport } from './workout.js';

const TCX_NS = 'http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2';
const ACTIVITY_EXTENSION_NS = 'http://www.garmin.com/xmlschemas/ActivityExtension/v2';

/** TCX names only three sports. */
function tcxSport(sport: WorkoutSport): 'Running' | 'Biking' | 'Other' {
  if (sport === 'running') return 'Running';
  if (sport === 'cycling') return 'Biking';
  return 'Other';
}

/**
 * TCX keeps every field of a sample: speed and power through Garmin's ActivityExtension.
 * One lap spans the workout; the element order is the one the TCX schema requires.
 */
export function exportTcx(workout: Workout): Uint8Array {
  const last = workout.samples.at(-1);
  const distances = workout.samples.flatMap((sample) => (sample.distance !== undefined ? [sample.distance] : []));
  const trackpoints = workout.samples.map((sample) => {
    const point: XmlNode = { Time: isoTime(workout.startTime + sample.t) };
    if (sample.lat !== undefined && sample.lon !== undefined) {
      point.Position = { LatitudeDegrees: fixed(sample.lat, 7), LongitudeDegrees: fixed(sample.lon, 7) };
    }
    if (sample.altitude !== undefined) point.AltitudeMeters = fixed(sample.altitude, 2);
    if (sample.distance !== undefined) point.DistanceMeters = fixed(sample.distance, 2);
    if (sample.heartrate !== undefined) point.HeartRateBpm = { Value: String(Math.round(sample.heartrate)) };
    if (sample.cadence !== undefined) point.Cadence = String(Math.min(254, Math.round(sample.cadence)));
    const extension: XmlNode = {};
    if (sample.speed !== undefined) extension['ns3:Speed'] = fixed(sample.speed, 3);
    if (sample.watts !== undefined) extension['ns3:Watts'] = String(Math.round(sample.watts));
    if (Object.keys(extension).length > 0) point.Extensions = { 'ns3:TPX': extension };
    return point;
  });
  return buildXml({
    TrainingCenterDatabase: {
      '@_xmlns': TCX_NS,
      '@_xmlns:ns3': ACTIVITY_EXTENSION_NS,
      Activities: {
        Activity: {
          '@_Sport': tcxSport(workout.sport),
          Id: isoTime(workout.startTime),
          Lap: {
            '@_StartTime': isoTime(workout.startTime),
            TotalTimeSeconds: fixed((last?.t ?? 0) / 1000, 3),
            DistanceMeters: fixed(distances.length > 0 ? Math.max(...distances) : 0, 2),
            Calories: '0',
            Intensity: 'Active',
            TriggerMethod: 'Manual',
            Track: { Trackpoint: trackpoints },
          },
          // TCX has no field for the sport's finer name; Notes keeps it for the round trip.
          Notes: workout.sport,
        },
      },
    },
  });
}

const TCX_ARRAYS = new Set(['Activity', 'Lap', 'Track', 'Trackpoint']);

export function importTcx(bytes: Uint8Array, limits: WorkoutFileLimits): Workout {
  const root = child(parseWorkoutXml(bytes, 'Trackpoint', TCX_ARRAYS, limits), 'TrainingCenterDatabase');
  const activity = children(child(root, 'Activities'), 'Activity')[0];
  if (activity === undefined) throw new WorkoutFileError('corrupt', 'the TCX has no activity');
  const points = children(activity, 'Lap').flatMap((lap) => children(lap, 'Track').flatMap((track) => children(track, 'Trackpoint')));
  const timed = points.map((point) => ({ point, time: parseTime(text(point, 'Time')) })).filter((entry): entry is { point: XmlNode; time: number } => entry.time !== undefined);
  const startTime = parseTime(text(activity, 'Id')) ?? timed[0]?.time;
  if (startTime === undefined) throw new WorkoutFileError('corrupt', 'the TCX has no start time');
  const samples = timed.map(({ point, time }): WorkoutSample => {
    const position = child(point, 'Position');
    const extension = child(child(point, 'Extensions'), 'TPX');
    return withoutUndefined({
      t: time - startTime,
      lat: finiteOrUndefined(text(position, 'LatitudeDegrees')),
      lon: finiteOrUndefined(text(position, 'LongitudeDegrees')),
      altitude: finiteOrUndefined(text(point, 'AltitudeMeters')),
      distance: finiteOrUndefined(text(point, 'DistanceMeters')),
      heartrate: finiteOrUndefined(text(child(point, 'HeartRateBpm'), 'Value')),
      cadence: finiteOrUndefined(text(point, 'Cadence')) ?? finiteOrUndefined(text(extension, 'RunCadence')),
      speed: finiteOrUndefined(text(extension, 'Speed')),
      watts: finiteOrUndefined(text(extension, 'Watts')),
    });
  });
  const notedSport = sportNamed(text(activity, 'Notes'));
  const sport = notedSport !== 'generic' ? notedSport : sportNamed(String(activity['@_Sport'] ?? ''));
  return { sport, startTime, samples };
}
