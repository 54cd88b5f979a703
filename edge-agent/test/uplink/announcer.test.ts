/** The announcer's status message: each sensor's latest signal comes from the sources' health, in the wire's bounds. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { MAX_STATUS_SIGNALS, decodeJsonMessage, type MessageKind, type StatusMessage } from '@pulsebridge/protocol';
import { SimulatorSource, simulatorConfig } from '../../src/sources/simulator/index.ts';
import { Announcer, sensorSignals, type SourceStatus } from '../../src/uplink/announcer.ts';
import { FakeAir, heartRateStrap } from '../sources/ble/fake-bindings.ts';
import { advertiseUntil, deviceState, rig } from '../sources/ble/harness.ts';
import { RecordingSink } from '../sources/recording-sink.ts';

const T0 = Date.UTC(2025, 0, 6, 18, 0, 0);
const silent = pino({ level: 'silent' });

/** An announcer on a channel that keeps what it publishes; publishes one status and returns it as the hub decodes it. */
function statusOf(sources: () => Record<string, SourceStatus>): StatusMessage {
  const published: { kind: MessageKind; payload: Buffer }[] = [];
  const announcer = new Announcer({
    version: '0.0.0-test',
    inventoryDebounceMs: 0,
    channel: { ready: true, publish: (kind, payload) => published.push({ kind, payload }) > 0 },
    outbox: { stats: () => ({ readings: 0, bytes: 0, oldestAgeMs: 0, dropped: {} }) as never },
    clock: { now: () => T0, mono: () => 1 },
    log: silent,
    sources,
  });
  announcer.publishStatus();
  const status = published.find((p) => p.kind === 'status');
  assert.ok(status, 'a status was published');
  return decodeJsonMessage('status', status.payload);
}

function simulator(t: TestContext): { sim: SimulatorSource; clock: { now: number } } {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const clock = { now: T0 };
  const sim = new SimulatorSource({ ...simulatorConfig({ athletes: 3, seed: 7 }), now: () => clock.now, log: silent });
  t.after(() => sim.stop());
  return { sim, clock };
}

test("the status carries the simulator's signal for every sensor it runs, when each was heard, within -127..20", async (t) => {
  const { sim, clock } = simulator(t);
  await sim.start(new RecordingSink());
  clock.now += 2_000;
  t.mock.timers.tick(2_000);
  const status = statusOf(() => ({ simulator: sim.health() }));
  assert.deepEqual(status.sources, { simulator: { state: 'running' } }, 'the per-sensor detail stays out of sources');
  const ids = sim.sensors().map((s) => s.id);
  assert.deepEqual(
    status.signal?.map((s) => s.id),
    ids,
  );
  for (const signal of status.signal ?? []) {
    assert.ok(Number.isInteger(signal.rssi) && signal.rssi >= -93 && signal.rssi <= -32, `${signal.id}: ${signal.rssi} dBm`);
    assert.ok(signal.at > T0 && signal.at <= clock.now, `${signal.id} heard at ${signal.at}`);
    assert.equal(signal.rssi, sim.signalAt(signal.id, signal.at));
  }
});

test("the simulator's signal is deterministic by seed and drifts a little over time", async (t) => {
  const { sim } = simulator(t);
  const other = new SimulatorSource({ ...simulatorConfig({ athletes: 3, seed: 7 }), now: () => T0, log: silent });
  t.after(() => other.stop());
  await Promise.all([sim.start(new RecordingSink()), other.start(new RecordingSink())]);
  const id = sim.sensors()[0]!.id;
  const times = Array.from({ length: 60 }, (_, i) => T0 + i * 5_000);
  const over = times.map((at) => sim.signalAt(id, at)!);
  assert.deepEqual(
    over,
    times.map((at) => other.signalAt(id, at)),
  );
  assert.ok(new Set(over).size > 1, 'it varies');
  assert.ok(Math.max(...over) - Math.min(...over) <= 6, `it varies by a few dB: ${over.join(' ')}`);
  assert.equal(sim.signalAt('simulator:unknown', T0), undefined);
});

test("the status carries a BLE sensor's last advert signal", async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap('c0:ff:ee:00:00:01', { rssi: -61 }));
  const { source } = await rig(t, { permitJoinSeconds: 60 }, air);
  const id = 'ble:c0-ff-ee-00-00-01';
  await advertiseUntil(air, 'the strap connected', () => deviceState(source, id) === 'connected');
  const status = statusOf(() => ({ ble: source.health() }));
  const lastSeen = source.health().devices?.find((d) => d.id === id)?.lastSeen;
  assert.deepEqual(status.signal, [{ id, rssi: -61, at: lastSeen }]);
});

test('sensorSignals: sensors without a signal or never heard are left out; values are rounded and clamped; at most MAX_STATUS_SIGNALS', () => {
  const devices = [
    { id: 'ant:120:1:1', lastSeen: T0, rssi: null },
    { id: 'serial:csafe:1', lastSeen: T0 },
    { id: 'ble:never-heard', lastSeen: null, rssi: -50 },
    { id: 'ble:not a sensor id', lastSeen: T0, rssi: -50 },
    { id: 'ble:nan', lastSeen: T0, rssi: Number.NaN },
    { id: 'ble:loud', lastSeen: T0 + 0.4, rssi: 127 },
    { id: 'ble:faint', lastSeen: T0, rssi: -200 },
    { id: 'ble:fraction', lastSeen: T0, rssi: -66.6 },
  ];
  assert.deepEqual(sensorSignals({ ant: { state: 'running', devices } }), [
    { id: 'ble:loud', rssi: 20, at: T0 },
    { id: 'ble:faint', rssi: -127, at: T0 },
    { id: 'ble:fraction', rssi: -67, at: T0 },
  ]);
  const many = Array.from({ length: MAX_STATUS_SIGNALS + 10 }, (_, i) => ({ id: `ble:s-${i}`, lastSeen: T0, rssi: -70 }));
  assert.equal(sensorSignals({ a: { state: 'running', devices: many.slice(0, 300) }, b: { state: 'running', devices: many.slice(300) } }).length, MAX_STATUS_SIGNALS);
  assert.deepEqual(sensorSignals({ serial: { state: 'running' } }), []);
});

test('a status without any signal leaves the field out', () => {
  assert.equal(statusOf(() => ({ serial: { state: 'running' } })).signal, undefined);
});
