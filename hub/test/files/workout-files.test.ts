import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import FitParser from 'fit-file-parser';
import { PulsebridgeError } from '@pulsebridge/runtime';
import {
  detectWorkoutFormat,
  exportWorkout,
  importWorkout,
  WorkoutFileError,
  type Workout,
  type WorkoutFileErrorCode,
  type WorkoutFormat,
  type WorkoutSample,
} from '../../src/files/index.js';

const START = Date.UTC(2026, 2, 14, 7, 30, 0);

/** Ten minutes at 1 Hz, riding north-east from Lausanne while climbing, every field present. */
function syntheticWorkout(): Workout {
  const samples: WorkoutSample[] = [];
  let distance = 0;
  for (let second = 0; second < 600; second++) {
    const speed = 8 + 2 * Math.sin(second / 30);
    distance += speed;
    samples.push({
      t: second * 1000,
      heartrate: Math.round(120 + 40 * Math.sin(second / 90)),
      watts: Math.round(200 + 80 * Math.cos(second / 45)),
      cadence: 85 + (second % 7),
      speed: Number(speed.toFixed(3)),
      distance: Number(distance.toFixed(2)),
      lat: 46.5197 + second * 0.000_071_3,
      lon: 6.6323 + second * 0.000_052_9,
      altitude: 372.4 + second * 0.173,
    });
  }
  return { sport: 'cycling', startTime: START, samples };
}

type Tolerances = Partial<Record<keyof WorkoutSample, number>>;

/** Every field the format keeps, within its resolution; fields it does not keep must be absent. */
function assertSameSamples(actual: Workout, expected: Workout, kept: Tolerances): void {
  assert.equal(actual.startTime, expected.startTime);
  assert.equal(actual.sport, expected.sport);
  assert.equal(actual.samples.length, expected.samples.length);
  expected.samples.forEach((want, index) => {
    const got = actual.samples[index]!;
    assert.equal(got.t, want.t, `t of sample ${index}`);
    for (const key of Object.keys(want) as (keyof WorkoutSample)[]) {
      if (key === 't') continue;
      const tolerance = kept[key];
      if (tolerance === undefined) {
        assert.equal(got[key], undefined, `${key} of sample ${index} is not kept by the format`);
      } else {
        const delta = Math.abs((got[key] ?? Number.NaN) - want[key]!);
        assert.ok(delta <= tolerance, `${key} of sample ${index}: ${got[key]} vs ${want[key]}`);
      }
    }
  });
}

function roundTrip(format: WorkoutFormat, workout = syntheticWorkout()): Workout {
  const imported = importWorkout(exportWorkout(workout, format));
  assert.equal(imported.format, format);
  return imported.workout;
}

function assertRefused(bytes: Uint8Array, code: WorkoutFileErrorCode, limits?: { maxBytes: number; maxSamples: number }, message?: RegExp) {
  assert.throws(
    () => importWorkout(bytes, limits),
    (err: unknown) => {
      assert.ok(err instanceof WorkoutFileError, `expected a WorkoutFileError, got ${String(err)}`);
      assert.ok(err instanceof PulsebridgeError);
      assert.equal(err.code, code, err.message);
      assert.equal(err.name, 'WorkoutFileError');
      if (message) assert.match(err.message, message);
      return true;
    },
  );
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('workout files: round trips', () => {
  it('FIT keeps every field within 1 s, semicircles, 0.2 m altitude, mm/s speed and cm distance', () => {
    assertSameSamples(roundTrip('fit'), syntheticWorkout(), {
      heartrate: 0,
      watts: 0,
      cadence: 0,
      speed: 0.0005,
      distance: 0.005,
      lat: 1e-7,
      lon: 1e-7,
      // Half of the 0.2 m step, plus the float error of the scaling.
      altitude: 0.1 + 1e-9,
    });
  });

  it('GPX keeps time, position, elevation, heart rate and cadence, and no power, speed or distance', () => {
    assertSameSamples(roundTrip('gpx'), syntheticWorkout(), {
      heartrate: 0,
      cadence: 0,
      lat: 5e-8,
      lon: 5e-8,
      altitude: 0.005,
    });
  });

  it('TCX keeps every field, speed and power through the activity extension', () => {
    assertSameSamples(roundTrip('tcx'), syntheticWorkout(), {
      heartrate: 0,
      watts: 0,
      cadence: 0,
      speed: 0.0005,
      distance: 0.005,
      lat: 5e-8,
      lon: 5e-8,
      altitude: 0.005,
    });
  });

  it('samples without position or sensors survive FIT and TCX, and GPX leaves out points without position', () => {
    const workout: Workout = {
      sport: 'running',
      startTime: START,
      samples: [
        { t: 0, heartrate: 100 },
        { t: 1000, lat: 46.5, lon: 6.6, heartrate: 101 },
        { t: 2000, watts: 250 },
      ],
    };
    const every = { heartrate: 0, watts: 0, lat: 1e-7, lon: 1e-7 };
    assertSameSamples(roundTrip('fit', workout), workout, every);
    assertSameSamples(roundTrip('tcx', workout), workout, every);
    const positioned = { ...workout, samples: [workout.samples[1]!] };
    assertSameSamples(roundTrip('gpx', workout), positioned, every);
  });

  it('the FIT export reads in a profile-aware parser as an activity with its session, lap and records', async () => {
    const workout = syntheticWorkout();
    const parsed = await new FitParser({ speedUnit: 'm/s', lengthUnit: 'm', mode: 'list' }).parseAsync(Buffer.from(exportWorkout(workout, 'fit')));
    assert.equal(parsed.records?.length, 600);
    assert.equal(parsed.sessions?.[0]?.sport, 'cycling');
    assert.equal(parsed.sessions?.[0]?.total_elapsed_time, 599);
    assert.equal(parsed.laps?.length, 1);
    assert.equal(parsed.activity?.num_sessions, 1);
    assert.equal(parsed.records?.[10]?.power, workout.samples[10]!.watts);
  });

  it('tells the format from the bytes, whatever the file would be called', () => {
    const workout = syntheticWorkout();
    for (const format of ['fit', 'gpx', 'tcx'] as const) {
      assert.equal(detectWorkoutFormat(exportWorkout(workout, format)), format);
    }
    const prefixed = utf8('\uFEFF<?xml version="1.0"?>\n<!-- from a watch -->\n<g:gpx xmlns:g="http://www.topografix.com/GPX/1/1"/>');
    assert.equal(detectWorkoutFormat(prefixed), 'gpx');
  });
});

describe('workout files: refusals', () => {
  const fit = exportWorkout(syntheticWorkout(), 'fit');

  it('refuses a truncated FIT file as corrupt', () => {
    assertRefused(fit.subarray(0, fit.length - 100), 'corrupt');
    assertRefused(fit.subarray(0, 20), 'corrupt');
  });

  it('refuses a FIT file whose CRC does not match as corrupt', () => {
    const flippedCrc = fit.slice();
    flippedCrc[flippedCrc.length - 1]! ^= 0xff;
    assertRefused(flippedCrc, 'corrupt');
    const flippedData = fit.slice();
    flippedData[500]! ^= 0x01;
    assertRefused(flippedData, 'corrupt');
  });

  it('refuses a billion-laughs GPX without expanding it', () => {
    const laughs = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE gpx [',
      '  <!ENTITY lol "lol">',
      ...Array.from({ length: 9 }, (_, level) => `  <!ENTITY lol${level + 1} "${`&lol${level || ''};`.repeat(10)}">`),
      ']>',
      '<gpx version="1.1"><trk><name>&lol9;</name></trk></gpx>',
    ].join('\n');
    assertRefused(utf8(laughs), 'unsupported_format', undefined, /DOCTYPE or ENTITY/);
  });

  it('refuses an entity declaration wherever it appears, not only before the root', () => {
    const late = '<TrainingCenterDatabase><!ENTITY a "b"><Activities/></TrainingCenterDatabase>';
    assertRefused(utf8(late), 'unsupported_format', undefined, /DOCTYPE or ENTITY/);
  });

  it('refuses XML that is not well formed, or not UTF-8, as corrupt', () => {
    const gpx = new TextDecoder().decode(exportWorkout(syntheticWorkout(), 'gpx'));
    assertRefused(utf8(gpx.replace('</trkseg>', '')), 'corrupt');
    assertRefused(utf8(gpx.slice(0, gpx.length / 2)), 'corrupt');
    const latin1 = utf8('<gpx version="1.1"><trk><name>Caf</name></trk></gpx>');
    const invalid = new Uint8Array([...latin1.subarray(0, 34), 0xe9, ...latin1.subarray(34)]);
    assertRefused(invalid, 'corrupt');
  });

  it('refuses a 30 MiB buffer as too large before reading it', () => {
    const huge = new Uint8Array(30 * 1024 * 1024);
    huge.set(fit.subarray(0, 14));
    assertRefused(huge, 'too_large');
    assertRefused(fit, 'too_large', { maxBytes: 1000, maxSamples: 200_000 });
  });

  it('refuses more samples than the limit in every format', () => {
    for (const format of ['fit', 'gpx', 'tcx'] as const) {
      assertRefused(exportWorkout(syntheticWorkout(), format), 'too_many_samples', {
        maxBytes: 25 * 1024 * 1024,
        maxSamples: 599,
      });
    }
  });

  it('refuses what is neither FIT, GPX nor TCX', () => {
    assertRefused(utf8('{"type":"FeatureCollection"}'), 'unsupported_format');
    assertRefused(utf8('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>'), 'unsupported_format');
    assertRefused(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'unsupported_format');
    assertRefused(new Uint8Array(0), 'unsupported_format');
  });
});
