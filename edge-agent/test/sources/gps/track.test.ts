import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GpsTrackFilter, correctTrack, type RawFix } from '../../../src/sources/gps/track.ts';
import { LocalFrame, haversineM } from '../../../src/sources/gps/local-frame.ts';
import { ParkLoop } from '../../../src/sources/simulator/track.ts';
import { Mulberry32 } from '../../../src/sources/simulator/random.ts';

const START_MS = Date.UTC(2025, 4, 17, 7, 30);
const LOOP_M = 400;
const LAPS = 3;

function gaussian(random: Mulberry32): number {
  return Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
}

interface Recording {
  fixes: RawFix[];
  trueLengthM: number;
  outlierCount: number;
}

/**
 * Three laps of a 400 m park loop at 1 Hz with a speed that varies between 3 and 4 m/s, receiver error made
 * of a slowly wandering bias (3 m, 60 s correlation, as multipath and atmosphere give) plus white jitter
 * (1.5 m), `outliers` jumps of 60-250 m, and a `dropoutS` second hole in the second lap.
 */
function record(seed: number, options: { outliers: number[]; dropoutS: number; jitterM?: number }): Recording {
  const loop = new ParkLoop({ latitude: 48.137, longitude: 11.575, altitude: 520, loopMeters: LOOP_M, rotationDeg: 30 });
  const frame = new LocalFrame(48.137, 11.575);
  const random = new Mulberry32(seed);
  const jitter = options.jitterM ?? 1.5;
  const correlation = Math.exp(-1 / 60);
  let biasEast = 0;
  let biasNorth = 0;
  const fixes: RawFix[] = [];
  let along = 0;
  const total = LOOP_M * LAPS;
  const dropoutFrom = Math.round(total / 2 / 3.5);
  for (let second = 0; along < total; second++) {
    const speed = 3.5 + 0.5 * Math.sin(second / 25);
    along = Math.min(total, along + (second === 0 ? 0 : speed));
    biasEast = correlation * biasEast + Math.sqrt(1 - correlation ** 2) * 3 * gaussian(random);
    biasNorth = correlation * biasNorth + Math.sqrt(1 - correlation ** 2) * 3 * gaussian(random);
    if (second >= dropoutFrom && second < dropoutFrom + options.dropoutS) continue;
    let offsetEast = biasEast + jitter * gaussian(random);
    let offsetNorth = biasNorth + jitter * gaussian(random);
    if (options.outliers.includes(second)) {
      const angle = random.between(0, 2 * Math.PI);
      const distance = random.between(60, 250);
      offsetEast += distance * Math.cos(angle);
      offsetNorth += distance * Math.sin(angle);
    }
    const point = loop.locate(along, false, offsetEast, offsetNorth);
    fixes.push({ t: START_MS + second * 1000, latitude: point.latitude, longitude: point.longitude, hdop: 1.1 });
  }
  assert.ok(frame);
  return { fixes, trueLengthM: total, outlierCount: options.outliers.length };
}

const OUTLIERS = [20, 75, 76, 140, 230, 290];

test('corrected distance is within 2 % of the loop length despite outliers and a dropout', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const { fixes, trueLengthM } = record(seed, { outliers: OUTLIERS, dropoutS: 20 });
    const track = correctTrack(fixes);
    const error = (track.correctedDistanceM - trueLengthM) / trueLengthM;
    assert.ok(Math.abs(error) < 0.02, `seed ${seed}: corrected ${track.correctedDistanceM.toFixed(1)} m vs ${trueLengthM} m (${(error * 100).toFixed(2)} %)`);
    // Every injected outlier is rejected, and only a handful of good fixes are.
    const rejectedIndices = new Set(track.rejected.map((r) => r.rawIndex));
    const outlierIndices = OUTLIERS.map((second) => fixes.findIndex((fix) => fix.t === START_MS + second * 1000));
    for (const index of outlierIndices) assert.ok(rejectedIndices.has(index), `seed ${seed}: outlier at fix ${index} kept`);
    assert.ok(track.rejected.length <= OUTLIERS.length + 3, `seed ${seed}: ${track.rejected.length} rejected`);
    // Both tracks are kept: every raw fix, and one corrected point per accepted fix.
    assert.equal(track.raw.length, fixes.length);
    assert.equal(track.corrected.length, fixes.length - track.rejected.length);
  }
});

test('raw distance shows the outliers, and the corrected track is close to the truth point by point', () => {
  const withOutliers = record(7, { outliers: OUTLIERS, dropoutS: 20 });
  const clean = record(7, { outliers: [], dropoutS: 20 });
  const track = correctTrack(withOutliers.fixes);
  // Each jump of 60-250 m adds roughly twice its size.
  assert.ok(track.rawDistanceM > withOutliers.trueLengthM * 1.4, `raw ${track.rawDistanceM.toFixed(0)} m`);
  assert.ok(track.rawDistanceM - correctTrack(clean.fixes).rawDistanceM > 500, 'outliers add hundreds of metres to the raw distance');
  const cleanTrack = correctTrack(clean.fixes);
  assert.ok(Math.abs(track.correctedDistanceM - cleanTrack.correctedDistanceM) < 0.01 * withOutliers.trueLengthM, 'outliers barely move the corrected distance');
  // Smoothing reduces jitter: corrected points sit closer to the true loop than raw fixes do on average.
  const loop = new ParkLoop({ latitude: 48.137, longitude: 11.575, altitude: 520, loopMeters: LOOP_M, rotationDeg: 30 });
  const samples = Array.from({ length: 4000 }, (_, i) => loop.locate((i * LOOP_M) / 4000, false));
  const distanceToLoop = (latitude: number, longitude: number): number => Math.min(...samples.map((p) => haversineM(latitude, longitude, p.latitude, p.longitude)));
  const meanOff = (points: Array<{ latitude: number; longitude: number }>): number => points.reduce((sum, p) => sum + distanceToLoop(p.latitude, p.longitude), 0) / points.length;
  const accepted = new Set(track.corrected.map((p) => p.rawIndex));
  const rawAccepted = withOutliers.fixes.filter((_, i) => accepted.has(i));
  assert.ok(meanOff(track.corrected) < meanOff(rawAccepted), `corrected ${meanOff(track.corrected).toFixed(2)} m vs raw ${meanOff(rawAccepted).toFixed(2)} m off the loop`);
});

test('the forward filter alone rejects the same outliers live', () => {
  const { fixes } = record(11, { outliers: OUTLIERS, dropoutS: 20 });
  const filter = new GpsTrackFilter();
  const verdicts = fixes.map((fix) => filter.push(fix));
  for (const second of OUTLIERS) {
    const index = fixes.findIndex((fix) => fix.t === START_MS + second * 1000);
    const verdict = verdicts[index];
    assert.ok(verdict && !verdict.accepted, `outlier at ${second} s accepted`);
  }
  const last = verdicts.at(-1);
  assert.ok(last?.accepted);
  const speed = Math.hypot(last.velocityEast, last.velocityNorth);
  assert.ok(speed > 2.5 && speed < 5, `filter speed ${speed.toFixed(2)} m/s`);
});

test('bad input: invalid fixes, time going backwards, empty and single-fix tracks', () => {
  assert.deepEqual(correctTrack([]), { raw: [], corrected: [], rejected: [], rawDistanceM: 0, correctedDistanceM: 0 });
  const one = correctTrack([{ t: START_MS, latitude: 48, longitude: 11 }]);
  assert.equal(one.corrected.length, 1);
  assert.equal(one.correctedDistanceM, 0);
  const track = correctTrack([
    { t: START_MS, latitude: 48, longitude: 11 },
    { t: START_MS + 1000, latitude: Number.NaN, longitude: 11 },
    { t: START_MS + 2000, latitude: 95, longitude: 11 },
    { t: START_MS + 3000, latitude: 48, longitude: 11, hdop: -1 },
    { t: START_MS, latitude: 48.00001, longitude: 11 },
    { t: START_MS + 4000, latitude: 48.0001, longitude: 11 },
  ]);
  assert.deepEqual(track.rejected, [
    { rawIndex: 1, reason: 'invalid' },
    { rawIndex: 2, reason: 'invalid' },
    { rawIndex: 3, reason: 'invalid' },
    { rawIndex: 4, reason: 'not_after_previous' },
  ]);
  assert.equal(track.corrected.length, 2);
  assert.ok(Number.isFinite(track.correctedDistanceM));
});

test('a long gap restarts the filter and is not bridged; a burst of rejections restarts on the new position', () => {
  const base = { latitude: 48, longitude: 11 };
  const fixes: RawFix[] = [];
  for (let i = 0; i < 10; i++) fixes.push({ t: START_MS + i * 1000, latitude: base.latitude + (i * 3) / 111_195, longitude: base.longitude });
  // 10 minutes later, 2 km away (a drive to another park): a new run.
  for (let i = 0; i < 10; i++) fixes.push({ t: START_MS + 600_000 + i * 1000, latitude: base.latitude + (2000 + i * 3) / 111_195, longitude: base.longitude });
  const track = correctTrack(fixes);
  assert.equal(track.rejected.length, 0);
  assert.equal(track.corrected.filter((p) => p.restart).length, 2);
  assert.ok(Math.abs(track.correctedDistanceM - 2 * 27) < 3, `distance ${track.correctedDistanceM.toFixed(1)} m counts the two runs only`);
  assert.ok(track.rawDistanceM > 2000);

  // The first fix was 300 m off: the filter starts on it, rejects what follows, then restarts.
  const badStart: RawFix[] = [{ t: START_MS, latitude: base.latitude + 300 / 111_195, longitude: base.longitude }];
  for (let i = 1; i < 15; i++) badStart.push({ t: START_MS + i * 1000, latitude: base.latitude + (i * 3) / 111_195, longitude: base.longitude });
  const recovered = correctTrack(badStart);
  assert.equal(recovered.rejected.length, 3);
  assert.ok(recovered.rejected.every((r) => r.reason === 'impossible_speed'));
  assert.ok(Math.abs(recovered.correctedDistanceM - 10 * 3) < 3, `distance ${recovered.correctedDistanceM.toFixed(1)} m`);
});

test('local frame round-trips and handles the antimeridian', () => {
  const frame = new LocalFrame(-17.7, 179.999);
  const local = frame.toLocal(-17.7, -179.999);
  assert.ok(local.east > 200 && local.east < 220, `east ${local.east}`);
  const back = frame.toGeodetic(local.east, local.north);
  assert.ok(Math.abs(back.longitude - -179.999) < 1e-9);
  assert.ok(Math.abs(haversineM(0, 0, 0, 1) - 111_195) < 1);
});
