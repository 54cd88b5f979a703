import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { compileValidator, SensorInfo } from '@pulsebridge/protocol';
import { SimulatorSource, simulatorConfig, type SimulatorConfig } from '../../../src/sources/simulator/index.ts';
import { ConfigError } from '@pulsebridge/runtime';

const silent = pino({ level: 'silent' });

function simulator(config: Partial<SimulatorConfig> = {}): SimulatorSource {
  return new SimulatorSource({ ...simulatorConfig(config), now: () => 0, log: silent });
}

function countKinds(sim: SimulatorSource): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of sim.sensors()) counts[s.kind] = (counts[s.kind] ?? 0) + 1;
  return counts;
}

test('defaults: 20 athletes, seed 1, a mix of equipment, a start point', () => {
  const config = simulatorConfig();
  assert.equal(config.athletes, 20);
  assert.equal(config.seed, 1);
  assert.equal(config.tickMs, 50);
  assert.equal(config.rrIntervals, true);
  assert.equal(config.sensorRateHz, undefined);
  assert.equal(config.maxReadings, undefined);
  assert.deepEqual(config.equipment, { bike: 0.5, treadmill: 0.2, rower: 0.2, outdoor: 0.1 });
  assert.equal(typeof config.outdoor.latitude, 'number');
  assert.equal(typeof config.outdoor.longitude, 'number');
  assert.deepEqual(countKinds(simulator()), { heart_rate: 20, bike: 10, treadmill: 4, rower: 4, gps: 2 });
});

test('a partial nested object keeps the other defaults', () => {
  const config = simulatorConfig({ equipment: { rower: 1 } });
  assert.deepEqual(config.equipment, { bike: 0.5, treadmill: 0.2, rower: 1, outdoor: 0.1 });
});

test('every configuration problem is reported at once, with its path', () => {
  const bad = { athletes: -1, seed: 'one', sensorRateHz: 0, maxReadings: 1.5, colour: 'red', equipment: { bike: -1, unicycle: 1 } };
  assert.throws(
    () => simulatorConfig(bad),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'config');
      for (const path of ['/athletes', '/seed', '/sensorRateHz', '/maxReadings', '/colour', '/equipment/bike', '/equipment/unicycle']) {
        assert.match(err.message, new RegExp(`${path}:`), `message names ${path}`);
      }
      return true;
    },
  );
});

test('the config checks refuse a rate above 100 Hz and a fractional athlete count, each with its path', () => {
  assert.throws(
    () => simulatorConfig({ sensorRateHz: 1_000 }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('/sensorRateHz: ')),
  );
  assert.throws(
    () => simulatorConfig({ athletes: 1.5 }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('/athletes: ')),
  );
});

test('the equipment mix follows the weights; all zero means straps only', () => {
  assert.deepEqual(countKinds(simulator({ athletes: 7, equipment: { bike: 0, treadmill: 0, rower: 1, outdoor: 0 } })), { heart_rate: 7, rower: 7 });
  assert.deepEqual(countKinds(simulator({ athletes: 5, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } })), { heart_rate: 5 });
  assert.deepEqual(countKinds(simulator({ athletes: 9, equipment: { bike: 1, treadmill: 1, rower: 1, outdoor: 0 } })), { heart_rate: 9, bike: 3, treadmill: 3, rower: 3 });
  assert.deepEqual(countKinds(simulator({ athletes: 0 })), {});
});

const ID_SHAPES: Record<string, RegExp> = {
  heart_rate: /^ble:c4-7f-51(-[0-9a-f]{2}){3}$/,
  bike: /^ant:17:\d+:\d+$/,
  treadmill: /^ble:[c-f][0-9a-f](-[0-9a-f]{2}){5}$/,
  rower: /^serial:csafe:43\d{7}$/,
  gps: /^gps:nmea:\d+$/,
};

test('sensor ids look like the radios own, are unique, and never contain a slash', () => {
  const sensors = simulator({ athletes: 1_000, equipment: { bike: 1, treadmill: 1, rower: 1, outdoor: 1 } }).sensors();
  assert.equal(sensors.length, 2_000);
  assert.equal(new Set(sensors.map((s) => s.id)).size, sensors.length, 'ids are unique');
  for (const s of sensors) {
    assert.ok(!s.id.includes('/'), s.id);
    // Also nothing MQTT treats specially (+ #) and nothing a URL would need to escape.
    assert.match(s.id, /^[a-z0-9:-]+$/);
    assert.ok(s.id.length <= 64);
    assert.match(s.id, ID_SHAPES[s.kind]!, `${s.kind} id ${s.id}`);
    if (s.kind === 'bike') {
      const deviceNumber = Number(s.id.split(':')[2]);
      assert.ok(deviceNumber >= 1 && deviceNumber <= 0xfffff, 'ANT device numbers are 20 bits, 0 is the wildcard');
    }
  }
});

test('ids are deterministic from the seed and differ between seeds', () => {
  const ids = (seed: number) =>
    simulator({ seed })
      .sensors()
      .map((s) => s.id);
  assert.deepEqual(ids(42), ids(42));
  const other = new Set(ids(43));
  assert.ok(
    ids(42).every((id) => !other.has(id)),
    'two seeds share no id',
  );
});

test('an athlete is the same person whatever the size of the class', () => {
  const small = simulator({ athletes: 3 })
    .athletes()
    .map((a) => ({ ...a.profile, equipment: null }));
  const large = simulator({ athletes: 30 })
    .athletes()
    .slice(0, 3)
    .map((a) => ({ ...a.profile, equipment: null }));
  assert.deepEqual(small, large);
});

test('sensor inventory is valid protocol SensorInfo with real rates, or the override', () => {
  const validator = compileValidator(SensorInfo);
  const expected: Record<string, number> = { heart_rate: 1, bike: 4, treadmill: 2, rower: 2, gps: 1 };
  for (const info of simulator().sensors()) {
    validator.check(info);
    assert.equal(info.source, 'simulator');
    assert.equal(info.rateHz, expected[info.kind]);
    assert.ok(info.name && info.name.length > 0);
  }
  for (const info of simulator({ sensorRateHz: 4 }).sensors()) assert.equal(info.rateHz, 4);
  const strap = simulator({ rrIntervals: false })
    .sensors()
    .find((s) => s.kind === 'heart_rate');
  assert.deepEqual(strap?.metrics, ['heart_rate', 'battery']);
});

test('athletes() pairs every athlete with a strap and at most one piece of equipment', () => {
  const athletes = simulator().athletes();
  assert.equal(athletes.length, 20);
  for (const { profile, sensors } of athletes) {
    assert.equal(sensors[0]?.kind, 'heart_rate');
    assert.equal(sensors.length, profile.equipment === null ? 1 : 2);
    assert.ok(profile.restHr >= 40 && profile.restHr < profile.maxHr - 80, `rest ${profile.restHr} max ${profile.maxHr}`);
    assert.ok(profile.maxHr >= 150 && profile.maxHr <= 205);
    assert.ok(profile.ftpW >= 90 && profile.ftpW <= 450, `ftp ${profile.ftpW}`);
    assert.ok(profile.tauUpS >= 20 && profile.tauUpS <= 40 && profile.tauDownS > profile.tauUpS);
  }
});
