import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportWorkout, importWorkout } from '../../src/files/index.ts';
import { streamsToWorkout, workoutSport, workoutSpan, workoutToStreams } from '../../src/files/session-workout.ts';
import type { Streams } from '../../src/results/streams.ts';

const START = Date.UTC(2026, 2, 14, 7, 30, 0);

/** Eight seconds: heart rate quiet for the middle six (a gap longer than interpolation fills), position throughout but the last second. */
const streams: Streams = {
  time: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  heartrate: [120, null, null, null, null, null, null, 128, 129, null],
  watts: [200, 201, 202, 203, 204, 205, 206, 207, 208, 209],
  latlng: [
    [46.5, 6.6],
    [46.50001, 6.60001],
    [46.50002, 6.60002],
    [46.50003, 6.60003],
    [46.50004, 6.60004],
    [46.50005, 6.60005],
    [46.50006, 6.60006],
    [46.50007, 6.60007],
    [46.50008, 6.60008],
    null,
  ],
};

describe('session streams <-> workout', () => {
  it('one sample per second, with only the values the second has', () => {
    const workout = streamsToWorkout(streams, START, 'cycling');
    assert.equal(workout.sport, 'cycling');
    assert.equal(workout.startTime, START);
    assert.equal(workout.samples.length, 10);
    assert.deepEqual(workout.samples[1], { t: 1000, watts: 201, lat: 46.50001, lon: 6.60001 });
    assert.deepEqual(workout.samples[9], { t: 9000, watts: 209 });
  });

  it('a sport the formats do not name is generic', () => {
    assert.equal(workoutSport('spinning'), 'generic');
    assert.equal(workoutSport('rowing'), 'rowing');
  });

  it('a workout becomes the same streams: gaps stay null, metrics it lacks stay absent, and it spans to the second after its last sample', () => {
    const workout = streamsToWorkout(streams, START, 'cycling');
    assert.deepEqual(workoutSpan(workout), { startMs: START, endMs: START + 10_000 });
    assert.deepEqual(workoutToStreams(workout), streams);
  });

  it('through FIT and TCX the streams survive whole; through GPX the seconds without a position are lost', () => {
    const workout = streamsToWorkout(streams, START, 'cycling');
    for (const format of ['fit', 'tcx'] as const) {
      const back = workoutToStreams(importWorkout(exportWorkout(workout, format)).workout);
      assert.deepEqual(back.time, streams.time, format);
      assert.deepEqual(back.heartrate, streams.heartrate, format);
      assert.deepEqual(back.watts, streams.watts, format);
    }
    const gpx = workoutToStreams(importWorkout(exportWorkout(workout, 'gpx')).workout);
    assert.equal(gpx.time.length, 9);
    assert.equal(gpx.watts, undefined);
  });

  it('samples in the same second are averaged, as readings of a gym session are', () => {
    const back = workoutToStreams({
      sport: 'running',
      startTime: START,
      samples: [
        { t: 0, heartrate: 100 },
        { t: 500, heartrate: 110 },
        { t: 1000, heartrate: 120 },
      ],
    });
    assert.deepEqual(back, { time: [0, 1], heartrate: [105, 120] });
  });
});
