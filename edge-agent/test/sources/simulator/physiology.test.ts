import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { groupReadings, type MetricId, type SeriesReadings } from '@pulsebridge/protocol';
import { SimulatorSource, simulatorConfig, type SimulatorConfig, type SimulatedAthleteInfo } from '../../../src/sources/simulator/index.ts';
import { ENDURANCE_RUN, INTERVAL_CLASS, type WorkoutPlan } from '../../../src/sources/simulator/workout.ts';

const silent = pino({ level: 'silent' });
const T0 = Date.UTC(2025, 0, 6, 18, 0, 0);

function simulator(config: Partial<SimulatorConfig> = {}): SimulatorSource {
  return new SimulatorSource({ ...simulatorConfig(config), now: () => T0, log: silent });
}

/** Wall time at which the athlete's session containing T0 started. */
function sessionStart(athlete: SimulatedAthleteInfo, plan: WorkoutPlan): number {
  const length = plan.seconds * 1000;
  const since = T0 - athlete.profile.offsetMs;
  return athlete.profile.offsetMs + Math.floor(since / length) * length;
}

/** Offset (s) of the n-th segment with that name. */
function segmentStart(plan: WorkoutPlan, name: string, occurrence = 0): number {
  let at = 0;
  let seen = 0;
  for (const segment of plan.segments) {
    if (segment.name === name && seen++ === occurrence) return at;
    at += segment.seconds;
  }
  throw new Error(`no segment ${name} #${occurrence}`);
}

function series(sim: SimulatorSource, sensor: string, metric: MetricId, from: number, to: number): SeriesReadings {
  const found = groupReadings(sim.generate(from, to)).find((s) => s.sensor === sensor && s.metric === metric);
  assert.ok(found, `${sensor} ${metric}`);
  return found;
}

/** Mean of the values with ts in [from, to). */
function mean(s: SeriesReadings, from: number, to: number): number {
  let sum = 0;
  let n = 0;
  s.ts.forEach((ts, i) => {
    if (ts >= from && ts < to) {
      sum += s.values[i]!;
      n++;
    }
  });
  assert.ok(n > 0, 'window holds readings');
  return sum / n;
}

const classAthletes = (sim: SimulatorSource) => sim.athletes().filter((a) => a.profile.equipment !== 'outdoor');

test('heart rate stays between the athlete’s rest and max over whole sessions', () => {
  // Straps only, so that everyone follows the class; 55 minutes cover every moment of a 53-minute class.
  const sim = simulator({ athletes: 30, rrIntervals: false, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } });
  const athletes = new Map(sim.athletes().map((a) => [a.sensors[0]!.id, a.profile]));
  const hr = groupReadings(sim.generate(T0, T0 + 55 * 60_000)).filter((s) => s.metric === 'heart_rate');
  assert.equal(hr.length, 30);
  for (const s of hr) {
    const profile = athletes.get(s.sensor)!;
    const low = Math.min(...s.values);
    const high = Math.max(...s.values);
    assert.ok(low >= profile.restHr && high <= profile.maxHr, `${s.sensor}: ${low}..${high} vs ${profile.restHr}..${profile.maxHr}`);
    // A class works the heart: it spends time well above rest and reaches near threshold.
    assert.ok(high - low > 30, `${s.sensor} ranges ${low}..${high}`);
  }
});

test('heart rate follows an interval with lag, and recovers more slowly than it rose', () => {
  const sim = simulator({ athletes: 12 });
  for (const athlete of classAthletes(sim)) {
    const strap = athlete.sensors[0]!.id;
    const start = sessionStart(athlete, INTERVAL_CLASS) + segmentStart(INTERVAL_CLASS, 'tempo') * 1000;
    const end = start + 240_000;
    const hr = series(sim, strap, 'heart_rate', start - 60_000, end + 240_000);
    const before = mean(hr, start - 10_000, start);
    const settled = mean(hr, end - 20_000, end);
    const rise = settled - before;
    assert.ok(rise > 12, `${athlete.profile.label}: tempo raises HR from ${before} to ${settled}`);
    // First-order response, tau 20-40 s: after 5 s far from done, after a minute mostly there.
    const early = mean(hr, start + 3_000, start + 7_000) - before;
    const minute = mean(hr, start + 58_000, start + 62_000) - before;
    assert.ok(early < 0.45 * rise, `${athlete.profile.label}: ${early.toFixed(1)} of ${rise.toFixed(1)} bpm after 5 s`);
    assert.ok(minute > 0.6 * rise, `${athlete.profile.label}: ${minute.toFixed(1)} of ${rise.toFixed(1)} bpm after 60 s`);
    // Recovery: 30 s after the effort the drop is a smaller share than the rise was 30 s into it.
    const up30 = (mean(hr, start + 28_000, start + 32_000) - before) / rise;
    const recovered = mean(hr, end + 100_000, end + 120_000);
    const down30 = (settled - mean(hr, end + 28_000, end + 32_000)) / (settled - recovered);
    assert.ok(down30 < up30, `${athlete.profile.label}: down ${down30.toFixed(2)} vs up ${up30.toFixed(2)} after 30 s`);
  }
});

test('heart rate is higher in the intervals than in the warm-up and the cool-down', () => {
  const sim = simulator({ athletes: 10 });
  for (const athlete of classAthletes(sim)) {
    const strap = athlete.sensors[0]!.id;
    const start = sessionStart(athlete, INTERVAL_CLASS);
    const end = start + INTERVAL_CLASS.seconds * 1000;
    const lastInterval = start + segmentStart(INTERVAL_CLASS, 'interval', 5) * 1000;
    const warmUp = mean(series(sim, strap, 'heart_rate', start + 60_000, start + 180_000), 0, end);
    const interval = mean(series(sim, strap, 'heart_rate', lastInterval + 90_000, lastInterval + 120_000), 0, end);
    const coolDown = mean(series(sim, strap, 'heart_rate', end - 60_000, end), 0, end);
    assert.ok(interval > warmUp + 15 && interval > coolDown + 15, `${athlete.profile.label}: ${warmUp} / ${interval} / ${coolDown}`);
  }
});

test('rr intervals: one per beat, stamped at the beat that ends them, consistent with heart rate', () => {
  const sim = simulator({ athletes: 20 });
  const readings = groupReadings(sim.generate(T0, T0 + 10 * 60_000));
  for (const athlete of sim.athletes()) {
    const strap = athlete.sensors[0]!.id;
    const rr = readings.find((s) => s.sensor === strap && s.metric === 'rr_interval')!;
    const hr = readings.find((s) => s.sensor === strap && s.metric === 'heart_rate')!;
    // Each interval is exactly the time between its beat and the previous one.
    for (let i = 1; i < rr.ts.length; i++) assert.equal(rr.values[i], rr.ts[i]! - rr.ts[i - 1]!);
    for (let from = T0; from < T0 + 10 * 60_000; from += 30_000) {
      const expected = 60_000 / mean(hr, from, from + 30_000);
      const actual = mean(rr, from, from + 30_000);
      assert.ok(Math.abs(actual - expected) / expected < 0.04, `${strap}: mean rr ${actual.toFixed(0)} vs 60000/hr ${expected.toFixed(0)}`);
    }
  }
});

/** Root mean square of successive differences: the usual short-term HRV figure. */
function rmssd(values: readonly number[]): number {
  let sum = 0;
  for (let i = 1; i < values.length; i++) sum += (values[i]! - values[i - 1]!) ** 2;
  return Math.sqrt(sum / (values.length - 1));
}

test('beat-to-beat variability exists, and shrinks as effort rises', () => {
  const sim = simulator({ athletes: 10 });
  for (const athlete of classAthletes(sim)) {
    const start = sessionStart(athlete, INTERVAL_CLASS);
    const strap = athlete.sensors[0]!.id;
    const warmUp = series(sim, strap, 'rr_interval', start + 30_000, start + 150_000);
    const lastInterval = start + segmentStart(INTERVAL_CLASS, 'interval', 5) * 1000;
    const hard = series(sim, strap, 'rr_interval', lastInterval + 60_000, lastInterval + 120_000);
    const easy = rmssd(warmUp.values);
    assert.ok(easy > 2 && easy < 60, `${athlete.profile.label}: warm-up rMSSD ${easy.toFixed(1)} ms`);
    assert.ok(rmssd(hard.values) < easy, `${athlete.profile.label}: rMSSD ${rmssd(hard.values).toFixed(1)} hard vs ${easy.toFixed(1)} easy`);
  }
});

test('equipment follows the workout: more power, speed and stroke rate in the intervals', () => {
  const sim = simulator({ athletes: 12, equipment: { bike: 1, treadmill: 1, rower: 1, outdoor: 0 } });
  const checks: Record<string, MetricId[]> = { bike: ['power', 'cadence', 'speed'], rower: ['power', 'stroke_rate'], treadmill: ['speed'] };
  for (const athlete of sim.athletes()) {
    const equipment = athlete.sensors[1]!;
    const start = sessionStart(athlete, INTERVAL_CLASS);
    const interval = start + segmentStart(INTERVAL_CLASS, 'interval', 2) * 1000;
    const readings = groupReadings(sim.generate(interval - 50_000, interval + 120_000));
    for (const metric of checks[equipment.kind]!) {
      const s = readings.find((r) => r.sensor === equipment.id && r.metric === metric)!;
      const work = mean(s, interval + 10_000, interval + 110_000);
      const rest = mean(s, interval - 50_000, interval - 5_000);
      assert.ok(work > rest * 1.05, `${equipment.kind} ${metric}: ${rest.toFixed(1)} in recovery, ${work.toFixed(1)} in the interval`);
    }
  }
});

test('equipment values are believable', () => {
  const sim = simulator({ athletes: 12, equipment: { bike: 1, treadmill: 1, rower: 1, outdoor: 1 } });
  const kinds = new Map(sim.sensors().map((s) => [s.id, s.kind]));
  const ranges: Record<string, [number, number]> = {
    'bike power': [30, 1_000],
    'bike cadence': [55, 125],
    'bike speed': [4, 20],
    'treadmill speed': [0.9, 6.2],
    'treadmill incline': [0, 4],
    'rower power': [30, 700],
    'rower stroke_rate': [16, 40],
    'gps gps_speed': [0.9, 7],
    'gps altitude': [25, 45],
  };
  for (const s of groupReadings(sim.generate(T0, T0 + 58 * 60_000))) {
    const range = ranges[`${kinds.get(s.sensor)} ${s.metric}`];
    if (!range) continue;
    for (const v of s.values) assert.ok(v >= range[0] && v <= range[1], `${kinds.get(s.sensor)} ${s.metric} ${v}`);
  }
});

test('distance grows with speed during a session and starts again with the next one', () => {
  const sim = simulator({ athletes: 6, equipment: { bike: 0, treadmill: 1, rower: 1, outdoor: 0 } });
  for (const athlete of sim.athletes()) {
    const equipment = athlete.sensors[1]!;
    const end = sessionStart(athlete, INTERVAL_CLASS) + INTERVAL_CLASS.seconds * 1000;
    const readings = groupReadings(sim.generate(end - 600_000, end + 60_000));
    const distance = readings.find((r) => r.sensor === equipment.id && r.metric === 'distance')!;
    const reset = distance.ts.findIndex((ts) => ts >= end);
    assert.ok(reset > 0);
    for (let i = 1; i < reset; i++) assert.ok(distance.values[i]! >= distance.values[i - 1]!, 'never goes back within a session');
    assert.ok(distance.values[reset]! < 20, `new session starts near 0, got ${distance.values[reset]}`);
    assert.ok(distance.values[reset - 1]! > 5_000, `a 53-minute session covers kilometres, got ${distance.values[reset - 1]}`);
    if (equipment.kind === 'treadmill') {
      const speed = readings.find((r) => r.sensor === equipment.id && r.metric === 'speed')!;
      const covered = distance.values[reset - 1]! - distance.values[0]!;
      const seconds = (distance.ts[reset - 1]! - distance.ts[0]!) / 1000;
      const meanSpeed = mean(speed, distance.ts[0]!, distance.ts[reset - 1]!);
      assert.ok(Math.abs(covered / seconds - meanSpeed) / meanSpeed < 0.03, `${covered} m in ${seconds} s at ${meanSpeed} m/s`);
    }
  }
});

function metresBetween(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const x = (lon2 - lon1) * rad * Math.cos(((lat1 + lat2) / 2) * rad);
  const y = (lat2 - lat1) * rad;
  return Math.hypot(x, y) * 6_371_008.8;
}

test('outdoor athletes run laps of a park loop from the configured start point', () => {
  const outdoor = { latitude: 40.7812, longitude: -73.9665, altitude: 40, loopMeters: 2_000 };
  const sim = simulator({ athletes: 4, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 1 }, outdoor });
  for (const athlete of sim.athletes()) {
    const gps = athlete.sensors[1]!.id;
    const start = sessionStart(athlete, ENDURANCE_RUN);
    const readings = groupReadings(sim.generate(start, start + 20 * 60_000));
    const get = (metric: MetricId) => readings.find((s) => s.sensor === gps && s.metric === metric)!;
    const lat = get('latitude');
    const lon = get('longitude');
    const speed = get('gps_speed');
    const heading = get('heading');
    assert.ok(metresBetween(lat.values[0]!, lon.values[0]!, outdoor.latitude, outdoor.longitude) < 15, 'the session starts at the start point');
    let lapsNearStart = 0;
    let wasAway = false;
    for (let i = 0; i < lat.ts.length; i++) {
      const fromStart = metresBetween(lat.values[i]!, lon.values[i]!, outdoor.latitude, outdoor.longitude);
      // A 2 km stadium loop is at most ~780 m across.
      assert.ok(fromStart < 800, `${fromStart} m from the start`);
      if (fromStart > 300) wasAway = true;
      if (wasAway && fromStart < 20) {
        lapsNearStart++;
        wasAway = false;
      }
      if (i > 0) {
        const step = metresBetween(lat.values[i - 1]!, lon.values[i - 1]!, lat.values[i]!, lon.values[i]!);
        const dt = (lat.ts[i]! - lat.ts[i - 1]!) / 1000;
        // Fixes move at the reported speed, give or take receiver error.
        assert.ok(Math.abs(step - speed.values[i]! * dt) < 3, `moved ${step.toFixed(1)} m at ${speed.values[i]} m/s`);
        // The course points where the athlete goes (within the bends' turning and the noise).
        const bearing = (Math.atan2((lon.values[i]! - lon.values[i - 1]!) * Math.cos((lat.values[i]! * Math.PI) / 180), lat.values[i]! - lat.values[i - 1]!) * 180) / Math.PI;
        const off = Math.abs(((((heading.values[i]! - bearing) % 360) + 540) % 360) - 180);
        if (step > 2) assert.ok(off < 60, `heading ${heading.values[i]} vs bearing ${bearing.toFixed(0)}`);
      }
    }
    // 20 minutes at 3-4 m/s on a 2 km loop: 1 to 3 laps completed.
    assert.ok(lapsNearStart >= 1 && lapsNearStart <= 3, `${lapsNearStart} laps`);
  }
});
