import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { groupReadings, isMetricId, METRICS, type Reading } from '@pulsebridge/protocol';
import { SimulatorError, SimulatorSource, simulatorConfig, type SimulatorConfig } from '../../../src/sources/simulator/index.ts';

const silent = pino({ level: 'silent' });
/** A Monday evening; arbitrary but fixed. */
const T0 = Date.UTC(2025, 0, 6, 18, 0, 0);
const MINUTE = 60_000;

function simulator(config: Partial<SimulatorConfig> = {}): SimulatorSource {
  return new SimulatorSource({ ...simulatorConfig(config), now: () => T0, log: silent });
}

test('same seed and same time give the same readings; another seed differs', () => {
  const a = simulator({ seed: 7 }).generate(T0, T0 + 2 * MINUTE);
  const b = simulator({ seed: 7 }).generate(T0, T0 + 2 * MINUTE);
  assert.ok(a.length > 1_000);
  assert.deepEqual(a, b);
  const c = simulator({ seed: 8 }).generate(T0, T0 + 2 * MINUTE);
  assert.notDeepEqual(
    c.map((r) => [r.metric, r.value]),
    a.map((r) => [r.metric, r.value]),
  );
});

test('readings depend on the time only, not on how the range is split or what ran before', () => {
  const sim = simulator();
  const whole = sim.generate(T0, T0 + 90_000);
  // Odd split points, and the second half asked first.
  const late = sim.generate(T0 + 33_337, T0 + 90_000);
  const early = sim.generate(T0, T0 + 33_337);
  assert.deepEqual([...early, ...late], whole);
  const fresh = simulator().generate(T0 + 33_337, T0 + 90_000);
  assert.deepEqual(fresh, late);
});

test('generate returns readings in time order, within [from, to)', () => {
  const readings = simulator().generate(T0 + 0.5, T0 + 10_000.5);
  assert.ok(readings.length > 0);
  for (let i = 1; i < readings.length; i++) assert.ok(readings[i]!.ts >= readings[i - 1]!.ts);
  assert.ok(readings[0]!.ts >= T0 + 1);
  assert.ok(readings.at(-1)!.ts <= T0 + 10_000);
  assert.deepEqual(simulator().generate(T0, T0), []);
});

test('generate refuses a reversed or non-finite range', () => {
  const sim = simulator();
  assert.throws(
    () => sim.generate(T0 + 1, T0),
    (err: unknown) => err instanceof SimulatorError && err.code === 'invalid_range',
  );
  assert.throws(() => sim.generate(Number.NaN, T0), { code: 'invalid_range' });
  assert.throws(() => sim.generate(T0, Number.POSITIVE_INFINITY), { code: 'invalid_range' });
});

function checkSeries(readings: readonly Reading[], sensorMetrics: Map<string, readonly string[]>): void {
  for (const r of readings) {
    assert.ok(isMetricId(r.metric), r.metric);
    assert.ok(sensorMetrics.get(r.sensor)?.includes(r.metric), `${r.sensor} announces ${r.metric}`);
    const spec = METRICS[r.metric];
    assert.ok(Number.isFinite(r.value), `${r.sensor} ${r.metric} ${r.value}`);
    assert.ok(r.value >= spec.min && r.value <= spec.max, `${r.sensor} ${r.metric} ${r.value} outside the catalogue`);
    const scaled = r.value * 10 ** spec.decimals;
    assert.ok(Math.abs(scaled - Math.round(scaled)) < 1e-6, `${r.metric} ${r.value} at the wire resolution`);
    assert.ok(Number.isInteger(r.ts));
  }
  for (const series of groupReadings(readings)) {
    for (let i = 1; i < series.ts.length; i++) {
      assert.ok(series.ts[i]! > series.ts[i - 1]!, `${series.sensor} ${series.metric}: ${series.ts[i - 1]} then ${series.ts[i]}`);
    }
  }
}

test('over a whole class: values inside the catalogue, timestamps strictly increasing per series', () => {
  const sim = simulator({ athletes: 16, equipment: { bike: 1, treadmill: 1, rower: 1, outdoor: 1 } });
  const metrics = new Map(sim.sensors().map((s) => [s.id, s.metrics]));
  // 65 minutes: longer than a session, so every athlete crosses into the next one.
  checkSeries(sim.generate(T0, T0 + 65 * MINUTE), metrics);
});

test('strictly increasing timestamps hold at the fastest allowed rate too', () => {
  const sim = simulator({ athletes: 8, sensorRateHz: 100, equipment: { bike: 1, treadmill: 1, rower: 1, outdoor: 1 } });
  const metrics = new Map(sim.sensors().map((s) => [s.id, s.metrics]));
  const readings = sim.generate(T0, T0 + 20_000);
  checkSeries(readings, metrics);
  const hr = groupReadings(readings).find((s) => s.metric === 'heart_rate');
  assert.equal(hr?.ts.length, 2_000);
});

function samplesPerSeries(readings: readonly Reading[]): Map<string, number> {
  const kindOf = new Map<string, number>();
  for (const s of groupReadings(readings)) kindOf.set(`${s.sensor} ${s.metric}`, s.ts.length);
  return kindOf;
}

test('each sensor reports at its real rate', () => {
  const sim = simulator({ equipment: { bike: 1, treadmill: 1, rower: 1, outdoor: 1 } });
  const perSecond: Record<string, number> = { heart_rate: 1, bike: 4, treadmill: 2, rower: 2, gps: 1 };
  const seconds = 600;
  const counts = samplesPerSeries(sim.generate(T0, T0 + seconds * 1000));
  for (const info of sim.sensors()) {
    for (const metric of info.metrics) {
      const n = counts.get(`${info.id} ${metric}`) ?? 0;
      if (metric === 'battery') assert.ok(n >= 9 && n <= 11, `battery every minute, got ${n}`);
      else if (metric === 'rr_interval') assert.ok(n > seconds * 1.5 && n < seconds * 3.4, `one rr per beat, got ${n}`);
      else assert.ok(Math.abs(n - perSecond[info.kind]! * seconds) <= 1, `${info.kind} ${metric}: ${n} in ${seconds} s`);
    }
  }
});

test('sensorRateHz drives every sensor at that rate; 100 sensors at 4 Hz give 400 samples/s', () => {
  const sim = simulator({ athletes: 50, sensorRateHz: 4 });
  const sensors = sim.sensors();
  assert.equal(sensors.length, 100);
  const seconds = 60;
  const readings = sim.generate(T0, T0 + seconds * 1000);
  const samples = new Set(readings.filter((r) => r.metric !== 'rr_interval' && r.metric !== 'battery').map((r) => `${r.sensor} ${r.ts}`));
  assert.ok(Math.abs(samples.size - 400 * seconds) <= 100, `${samples.size} samples`);
  const counts = samplesPerSeries(readings);
  for (const info of sensors) {
    for (const metric of info.metrics) {
      if (metric === 'rr_interval' || metric === 'battery') continue;
      assert.ok(Math.abs((counts.get(`${info.id} ${metric}`) ?? 0) - 4 * seconds) <= 1);
    }
  }
});

test('100 heart-rate straps at 4 Hz without RR give about 400 readings/s', () => {
  const sim = simulator({ athletes: 100, sensorRateHz: 4, rrIntervals: false, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } });
  const seconds = 60;
  const readings = sim.generate(T0, T0 + seconds * 1000);
  const perSecond = readings.length / seconds;
  // 400 heart rates plus a battery level per strap and minute.
  assert.ok(perSecond >= 400 && perSecond <= 403, `${perSecond} readings/s`);
});
