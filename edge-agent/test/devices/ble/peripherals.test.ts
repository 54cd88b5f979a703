/**
 * The simulated peripherals' bytes: checked against the layouts in shared/reference/sensor-protocols.md by
 * decoding them with the agent's own BLE profile decoders, plus the properties tests rely on (rollover,
 * determinism, the Polar broadcast layout) and the scenario file format.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MetricId } from '@pulsebridge/protocol';
import type { Measurement } from '../../../src/sources/measurement.ts';
import { profileFor } from '../../../src/sources/ble/profiles/index.ts';
import {
  heartRateStrap,
  polarBroadcastStrap,
  powerMeter,
  smartBike,
  speedCadenceSensor,
  stairClimber,
  treadmill,
  PERIPHERAL_KINDS,
  POLAR_COMPANY_ID,
} from './peripherals/index.ts';
import { parseScenario, ScenarioError, startScenario } from './scenario.ts';

/** Decodes a sequence the way the source will: one decoder per characteristic, state handed back. */
function decodeAll(uuid: string, values: Buffer[]): Measurement[][] {
  const profile = profileFor(uuid);
  assert.ok(profile, `a decoder for ${uuid}`);
  let previous: unknown;
  return values.map((value, index) => {
    const decoded = profile.decode(value, { previous });
    assert.ok(decoded.ok, `${uuid} value ${index} (${value.toString('hex')}) refused: ${decoded.ok ? '' : decoded.reason}`);
    previous = decoded.state;
    return decoded.measurements;
  });
}

function valuesOf(measurements: Measurement[][], metric: MetricId): number[] {
  return measurements
    .flat()
    .filter((measurement) => measurement.metric === metric)
    .map((measurement) => measurement.value);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function generate(next: () => Buffer, count: number): Buffer[] {
  return Array.from({ length: count }, () => next());
}

describe('simulated peripherals', () => {
  test('heart-rate strap: valid 0x2A37 values whose RR intervals match the heart rate', () => {
    const strap = heartRateStrap({ seed: 3, heartRate: 120, energyExpended: true });
    const values = generate(() => strap.signal.next(), 120);
    const decoded = decodeAll('2a37', values);
    const heartRates = valuesOf(decoded, 'heart_rate');
    const rr = valuesOf(decoded, 'rr_interval');
    assert.equal(heartRates.length, 120);
    assert.ok(Math.abs(median(heartRates) - 120) <= 10, `median heart rate ${median(heartRates)}`);
    assert.ok(rr.length >= 110 && rr.length <= 250, `about two beats a second: ${rr.length} RR intervals`);
    assert.ok(Math.abs(median(rr) - 500) <= 50, `median RR ${median(rr)} ms at 120 bpm`);
    assert.ok(
      values.every((value) => (value[0] ?? 0) & 0x08),
      'energy expended in every value',
    );

    strap.setSensorContact(false);
    const lost = strap.signal.next();
    assert.equal(lost[0], 0x0c, 'contact supported but not detected, energy present, no RR');
    assert.equal(lost[1], 0);
  });

  test('power meter: valid 0x2A63 crank data that rolls over at 65536', () => {
    const meter = powerMeter({ seed: 4, power: 250, cadence: 90, startCrankRevolutions: 65_530, notifyIntervalMs: 250 });
    const values = generate(() => meter.signal.next(), 200);
    assert.ok(values.every((value) => value.length === 8 && value.readUInt16LE(0) === 0x0020));
    const revolutions = values.map((value) => value.readUInt16LE(4));
    assert.ok(
      revolutions.some((count, index) => index > 0 && count < (revolutions[index - 1] ?? 0)),
      'the crank count wrapped',
    );
    const decoded = decodeAll('2a63', values);
    assert.ok(Math.abs(median(valuesOf(decoded, 'power')) - 250) <= 25);
    assert.ok(Math.abs(median(valuesOf(decoded, 'cadence')) - 90) <= 9, `cadence ${median(valuesOf(decoded, 'cadence'))}`);
  });

  test('speed/cadence sensor: valid 0x2A5B with wheel (2^32), crank (2^16) and event-time rollovers', () => {
    const sensor = speedCadenceSensor({ seed: 5, speedKmh: 36, cadence: 80, wheelCircumferenceM: 2.1 });
    const values = generate(() => sensor.signal.next(), 90);
    const wheel = values.map((value) => value.readUInt32LE(1));
    const wheelTime = values.map((value) => value.readUInt16LE(5));
    const crank = values.map((value) => value.readUInt16LE(7));
    const wrapped = (series: number[]): boolean => series.some((value, index) => index > 0 && value < (series[index - 1] ?? 0));
    assert.ok(wrapped(wheel) && wrapped(crank) && wrapped(wheelTime), 'all three counters wrapped within 90 s');
    const decoded = decodeAll('2a5b', values);
    const speeds = valuesOf(decoded, 'speed').filter((speed) => speed > 0);
    // The decoder uses its default circumference (2.105 m), the sensor turns a 2.1 m wheel.
    assert.ok(Math.abs(median(speeds) - 10) <= 1, `speed ${median(speeds)} m/s for 36 km/h`);
    assert.ok(Math.abs(median(valuesOf(decoded, 'cadence')) - 80) <= 8);
  });

  test('treadmill and smart bike: valid FTMS data, feature and status values', () => {
    const mill = treadmill({ seed: 6, speedKmh: 12, inclinePercent: 2.5 });
    const millValues = generate(() => mill.signal.next(), 60);
    assert.ok(millValues.every((value) => value.length === 13 && value.readUInt16LE(0) === 0x040c));
    const millDecoded = decodeAll('2acd', millValues);
    assert.ok(Math.abs(median(valuesOf(millDecoded, 'speed')) - 12 / 3.6) <= 0.2);
    assert.deepEqual([...new Set(valuesOf(millDecoded, 'incline'))], [2.5]);
    const distances = valuesOf(millDecoded, 'distance');
    assert.ok(
      distances.every((distance, index) => index === 0 || distance >= (distances[index - 1] ?? 0)),
      'distance never goes back',
    );

    const bike = smartBike({ seed: 7, power: 220, cadence: 95 });
    const bikeDecoded = decodeAll(
      '2ad2',
      generate(() => bike.signal.next(), 60),
    );
    assert.ok(Math.abs(median(valuesOf(bikeDecoded, 'power')) - 220) <= 22);
    assert.ok(Math.abs(median(valuesOf(bikeDecoded, 'cadence')) - 95) <= 5);

    for (const peripheral of [mill, bike]) {
      const feature = peripheral.database.characteristic('2acc')?.definition.read?.();
      assert.ok(feature);
      assert.ok(profileFor('2acc')?.decode(feature).ok);
    }
    assert.ok(profileFor('2ada')?.decode(Buffer.from([0x08, 0xfa, 0x00])).ok, 'a status the bike sends after a target power');
  });

  test('stair climber: valid 0x2AD0 values whose floors, elevation and elapsed time only grow; feature and training status decode', () => {
    const climber = stairClimber({ seed: 9, stepRate: 80 });
    const values = generate(() => climber.signal.next(), 120);
    assert.ok(values.every((value) => value.length === 10 && value.readUInt16LE(0) === 0x010a));
    const decoded = decodeAll('2ad0', values);
    assert.ok(Math.abs(median(valuesOf(decoded, 'cadence')) - 80) <= 8);
    for (const metric of ['floors', 'elevation_gain', 'elapsed_time'] as const) {
      const series = valuesOf(decoded, metric);
      assert.equal(series.length, 120, metric);
      assert.ok(
        series.every((value, index) => index === 0 || value >= (series[index - 1] ?? 0)),
        `${metric} never goes back`,
      );
    }
    // 120 s at about 80 steps/min: about 160 steps, 10 floors of 16 steps.
    const floors = valuesOf(decoded, 'floors').at(-1) ?? 0;
    assert.ok(Math.abs(floors - 10) <= 1, `${floors} floors`);
    assert.equal(valuesOf(decoded, 'elapsed_time').at(-1), 120);
    for (const uuid of ['2acc', '2ad3']) {
      const value = climber.database.characteristic(uuid)?.definition.read?.();
      assert.ok(value && profileFor(uuid)?.decode(value).ok, uuid);
    }
  });

  test('Polar-style broadcast: company 0x006B, a skipped 0x72 block, then an HR block whose counter advances', () => {
    const polar = polarBroadcastStrap({ seed: 8, heartRate: 66 });
    const frames = generate(() => polar.signal.next(), 20);
    for (const frame of frames) {
      assert.equal(frame.readUInt16LE(0), POLAR_COMPANY_ID);
      assert.equal(frame[2], 0x72);
      assert.ok(((frame[2] ?? 0) & 0x40) !== 0, 'the first block is a skipped one');
      const blockLength = frame[3] ?? 0;
      const hr = frame.subarray(4 + blockLength);
      assert.equal(hr.length, 4);
      assert.equal((hr[0] ?? 0) & 0x40, 0, 'bit 6 clear: heart-rate data');
      assert.ok(((hr[0] ?? 0) & 0x02) !== 0, 'sensor contact');
      assert.ok(Math.abs((hr[2] ?? 0) - 66) <= 12);
    }
    const counters = frames.map((frame) => ((frame[10] ?? 0) >> 2) & 0x07);
    assert.ok(counters.every((counter, index) => index === 0 || counter === (((counters[index - 1] ?? 0) + 1) & 0x07)));

    const short = polarBroadcastStrap({ seed: 8, heartRate: 60, slowAverage: false });
    const frame = short.signal.frame();
    assert.equal(frame.length, 13, 'the 3-byte HR block of the OH1 capture');
    assert.equal(frame.subarray(0, 10).toString('hex'), '6b0072067f4437000000');
  });

  test('same seed, same bytes; another seed, other bytes', () => {
    const sequence = (seed: number): string[] => {
      const strap = heartRateStrap({ seed });
      return generate(() => strap.signal.next(), 30).map((value) => value.toString('hex'));
    };
    assert.deepEqual(sequence(9), sequence(9));
    assert.notDeepEqual(sequence(9), sequence(10));
    assert.notEqual(heartRateStrap({ seed: 9 }).address, powerMeter({ seed: 9 }).address);
    assert.equal(heartRateStrap({ seed: 9 }).address, heartRateStrap({ seed: 9 }).address);
  });

  test('every kind builds with defaults and fits its advertising data in 31 bytes', () => {
    for (const [name, kind] of Object.entries(PERIPHERAL_KINDS)) {
      const peripheral = kind.create({});
      assert.ok(peripheral.advertisingData().length <= 31, name);
      assert.ok((peripheral.scanResponseData()?.length ?? 0) <= 31, name);
    }
  });
});

describe('scenario files', () => {
  test('a valid scenario starts a world with its adapters, peripherals and settings', (t) => {
    const world = startScenario(
      parseScenario({
        seed: 7,
        adapters: [
          { id: 0, connectionLimit: 3 },
          { id: 1, wedged: true },
        ],
        peripherals: [
          { kind: 'heart-rate-strap', adapters: [0], options: { seed: 1, name: 'HRM-A' } },
          { kind: 'smart-bike', options: { seed: 2, power: 150 } },
        ],
        floods: [{ count: 10, rounds: 1 }],
      }),
    );
    t.after(() => world.close());
    assert.deepEqual(
      world.adapters().map((adapter) => adapter.id),
      [0, 1],
    );
    assert.equal(world.adapter(1).isWedged, true);
    const [strap, bike] = world.peripherals();
    assert.equal(strap?.name, 'HRM-A');
    assert.match(bike?.name ?? '', /^BIKE-SIM [0-9A-F]{4}$/);
    assert.equal(strap?.isAdvertising(), true, 'the world is started');
  });

  test('every problem in a scenario is reported at once, with its path', () => {
    try {
      parseScenario({
        adapters: [{ id: 0 }, { id: 0, connectionLimit: 0 }],
        peripherals: [{ kind: 'toaster' }, { kind: 'power-meter', adapters: [4], options: { power: 'high', colour: 'red' } }],
        floods: [{ count: -1, adapters: [9] }],
        extra: true,
      });
      assert.fail('the scenario was accepted');
    } catch (error) {
      assert.ok(error instanceof ScenarioError);
      const problems = error.problems.join('\n');
      for (const path of [
        '/adapters/1/connectionLimit',
        '/adapters: an adapter id appears twice',
        '/peripherals/0/kind',
        '/peripherals/1/options/power',
        '/peripherals/1/options/colour',
        '/peripherals/1/adapters: no adapter 4',
        '/floods/0/count',
        '/floods/0/adapters: no adapter 9',
        '/extra',
      ]) {
        assert.ok(problems.includes(path), `reports ${path}:\n${problems}`);
      }
    }
    assert.throws(() => parseScenario('not an object'), ScenarioError);
  });
});
