/**
 * The BLE source when things go wrong: no Bluetooth, adapters off or silent, sensors that hang or go
 * quiet, floods of forged adverts, several adapters, and a stop that leaves nothing running.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { BleSource } from '../../../src/sources/ble/ble-source.ts';
import { bleSourceConfig } from '../../../src/sources/ble/config.ts';
import { FakeAir, heartRateStrap, type FakeDevice } from './fake-bindings.ts';
import { FAST, RecordingSink, advertiseUntil, deviceState, rig, silentLog, sleep, until } from './harness.ts';

const A = 'c0:ff:ee:00:00:01';
const B = 'c0:ff:ee:00:00:02';
const idOf = (address: string): string => `ble:${address.replaceAll(':', '-')}`;
const hr = (bpm: number): Buffer => Buffer.from([0x00, bpm]);

function addressFor(i: number): string {
  // Random static addresses have the two top bits set.
  const bytes = [0xc0 | ((i >> 24) & 0x3f), 0x11, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 0x42];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

test('no Bluetooth: the loader throws, start resolves, health says unavailable with the reason', async (t) => {
  const eafnosupport = Object.assign(new Error('EAFNOSUPPORT, Address family not supported by protocol'), { code: 'EAFNOSUPPORT' });
  const { source } = await rig(t, { allow: [idOf(A)] }, new FakeAir(), {
    createNoble: () => {
      throw eafnosupport;
    },
  });
  assert.deepEqual(source.health(), {
    state: 'unavailable',
    detail: 'Bluetooth unavailable on hci0: EAFNOSUPPORT, Address family not supported by protocol',
    sensors: 0,
    readings: 0,
    rejected: 0,
    devices: [],
  });
  await source.stop();
  assert.equal(source.health().state, 'stopped');
});

const hasBluetooth = ((): boolean => {
  try {
    return readdirSync('/sys/class/bluetooth').length > 0;
  } catch {
    return false;
  }
})();

test(
  'the real noble loader on this machine reports unavailable instead of throwing',
  { skip: hasBluetooth ? 'a Bluetooth adapter is present; this test does not touch real radios' : false },
  async (t) => {
    const source = new BleSource({ ...bleSourceConfig(FAST), now: Date.now, log: silentLog });
    t.after(() => source.stop());
    await source.start(new RecordingSink());
    const health = source.health();
    assert.equal(health.state, 'unavailable');
    assert.match(health.detail ?? '', /^Bluetooth unavailable on hci0: /);
  },
);

test('bindings that fail to initialise make that adapter unavailable; the other one runs and the source is degraded', async (t) => {
  const air = new FakeAir();
  air.initError = (deviceId) => (deviceId === 1 ? new Error('ENODEV, No such device') : undefined);
  air.add(heartRateStrap(A));
  const { source } = await rig(t, { adapters: [0, 1], allow: [idOf(A)] }, air);
  assert.deepEqual({ state: source.health().state, detail: source.health().detail }, { state: 'degraded', detail: 'Bluetooth unavailable on hci1: ENODEV, No such device' });
  await advertiseUntil(air, 'A connected through hci0', () => deviceState(source, idOf(A)) === 'connected');
});

test('noble states other than poweredOn: unauthorized is unavailable, poweredOff degraded until it powers on', async (t) => {
  const unauthorized = new FakeAir();
  unauthorized.initialState = () => 'unauthorized';
  const first = await rig(t, {}, unauthorized);
  assert.equal(first.source.health().state, 'unavailable');
  assert.match(first.source.health().detail ?? '', /not permitted to use hci0/);

  const air = new FakeAir();
  air.initialState = () => 'poweredOff';
  air.add(heartRateStrap(A));
  const { source } = await rig(t, { allow: [idOf(A)] }, air);
  assert.deepEqual({ state: source.health().state, detail: source.health().detail }, { state: 'degraded', detail: 'hci0 is powered off (rfkill, or the interface is down)' });
  air.bindings().emit('stateChange', 'poweredOn');
  await until('running', () => source.health().state === 'running');
  await advertiseUntil(air, 'connected', () => deviceState(source, idOf(A)) === 'connected');

  // Powered off under a live link: the link is gone, the sensor waits, and comes back after power returns.
  air.bindings().emit('stateChange', 'poweredOff');
  assert.equal(source.health().state, 'degraded');
  assert.equal(deviceState(source, idOf(A)), 'backoff');
  assert.equal(source.stats().adapters[0]?.links, 0);
  air.bindings().connected.clear();
  air.bindings().emit('stateChange', 'poweredOn');
  await until('scanning again', () => source.health().state === 'running');
  await advertiseUntil(air, 'reconnected after power returned', () => deviceState(source, idOf(A)) === 'connected');
  assert.equal(source.stats().connectFailures, 0, 'noble did not refuse the reconnect as "already connected"');
});

test('a flood of 5000 random addresses: seen-device memory stays at its cap, noble is pruned, nothing is connected', async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap(A));
  const { source } = await rig(t, { allow: [idOf(A)], seenDevicesCapacity: 64, scanAllAdverts: true }, air);
  await advertiseUntil(air, 'the allowed strap connected', () => deviceState(source, idOf(A)) === 'connected');
  const bindings = air.bindings();
  const listenersBefore = bindings
    .eventNames()
    .map((name) => bindings.listenerCount(name))
    .reduce((a, b) => a + b, 0);

  for (let i = 0; i < 5_000; i++) {
    const offersHeartRate = i % 2 === 0;
    const device: FakeDevice = {
      address: addressFor(i),
      addressType: 'random',
      advertisedServices: offersHeartRate ? ['180d'] : [],
      manufacturerData: Buffer.from([0x4c, 0x00, 0x10, 0x05, i & 0xff]),
    };
    bindings.advertise(device);
    if (i % 500 === 0) assert.ok(source.stats().seenDevices <= 64);
  }
  const stats = source.stats();
  assert.equal(stats.seenDevices, 64);
  assert.equal(stats.unsupportedAdverts, 2_500);
  assert.equal(stats.notAdmittedAdverts, 2_500);
  assert.equal(stats.ignoredDevices, 5_000);
  assert.ok(stats.forgottenDevices >= 5_000 - 64);
  assert.ok((stats.adapters[0]?.noblePeripherals ?? Infinity) <= 64 + 1, `noble holds ${stats.adapters[0]?.noblePeripherals} peripherals`);
  assert.deepEqual(bindings.connectCalls, ['c0ffee000001'], 'no connection attempt to any flood device');
  const listenersAfter = bindings
    .eventNames()
    .map((name) => bindings.listenerCount(name))
    .reduce((a, b) => a + b, 0);
  assert.equal(listenersAfter, listenersBefore);

  // The allowed strap kept its link and its noble objects through the flood.
  assert.ok(bindings.notifyValue(A, '2a37', hr(90)));
  assert.equal(deviceState(source, idOf(A)), 'connected');
  await until('the GAP layer memory pruned', () => Object.keys(bindings._gap._discoveries).length <= 64);
  assert.ok('c0:ff:ee:00:00:01' in bindings._gap._discoveries, 'a sensor of ours is kept');
});

test('adverts filtered out below noble do not grow the GAP layer memory without bound either', async (t) => {
  const air = new FakeAir();
  const { source } = await rig(t, { seenDevicesCapacity: 64, silenceTimeoutMs: 200 }, air);
  const bindings = air.bindings();
  for (let i = 0; i < 3_000; i++) bindings.advertise({ address: addressFor(i), addressType: 'random', advertisedServices: ['fe9f'] });
  assert.equal(source.stats().adverts, 0, 'the service filter kept them from noble');
  await until('pruned', () => Object.keys(bindings._gap._discoveries).length <= 64);
  assert.equal(source.stats().prunedAdvertisingEntries, 3_000);
});

test('a flood during an open join window joins at most maxJoined devices', async (t) => {
  const air = new FakeAir();
  const { source } = await rig(t, { permitJoinSeconds: 60, maxJoined: 10, seenDevicesCapacity: 32, maxConnections: 2 }, air);
  const bindings = air.bindings();
  for (let i = 0; i < 2_000; i++) bindings.advertise({ address: addressFor(i), addressType: 'random', advertisedServices: ['180d'] });
  const stats = source.stats();
  assert.equal(source.health().sensors, 10);
  assert.equal(stats.admission.joined, 10);
  assert.equal(stats.admission.joinRefused, 1_990);
  assert.ok(stats.seenDevices <= 32);
});

test('a connection that never completes times out naming what it waited for, is cancelled, and does not block the next', async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap(A, { connect: 'hang' }), heartRateStrap(B));
  const { source } = await rig(t, { allow: [idOf(A), idOf(B)], connectTimeoutMs: 60 }, air);
  // noble's hci-socket bindings send LE Create Connection Cancel for every call, whatever is pending then.
  const bindings = air.bindings();
  const cancels: string[] = [];
  const cancelConnect = bindings.cancelConnect.bind(bindings);
  bindings.cancelConnect = (uuid) => {
    cancels.push(uuid);
    cancelConnect(uuid);
  };
  air.advertise([A]);
  await until('A in backoff', () => deviceState(source, idOf(A)) === 'backoff');
  assert.deepEqual(cancels, ['c0ffee000001'], 'cancelled exactly once');
  const device = source.health().devices?.find((d) => d.id === idOf(A));
  assert.equal(device?.detail, 'timed out after 60 ms waiting for connection to ble:c0-ff-ee-00-00-01 on hci0');
  assert.equal(source.stats().connectTimeouts, 1);
  assert.equal(air.bindings().inFlightConnects, 0, 'the attempt was cancelled');
  await advertiseUntil(air, 'B connected', () => deviceState(source, idOf(B)) === 'connected', [B]);
});

test('watchdog: a connected sensor that goes silent is disconnected and reconnected', async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap(A));
  const { source, sink } = await rig(t, { allow: [idOf(A)], silenceTimeoutMs: 250 }, air);
  await advertiseUntil(air, 'connected', () => deviceState(source, idOf(A)) === 'connected');
  const bindings = air.bindings();
  // Talking keeps it connected.
  for (let i = 0; i < 10; i++) {
    bindings.notifyValue(A, '2a37', hr(60 + i));
    // Asserts that nothing happens in this window: 300 ms of talk, longer than the 250 ms silence timeout.
    await sleep(30);
  }
  assert.equal(source.stats().silentSensors, 0);
  await until('the watchdog', () => source.stats().silentSensors === 1, 1_000);
  assert.deepEqual(bindings.disconnectCalls, ['c0ffee000001']);
  await advertiseUntil(air, 'reconnected', () => deviceState(source, idOf(A)) === 'connected' && bindings.connectsOf(A) === 2);
  assert.equal(sink.of(idOf(A), 'heart_rate').length, 10);
});

test('adapter silence: the noble instance is disposed of (after an HCI reset) and a new one scans and reconnects', async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap(A));
  const { source, sink } = await rig(t, { allow: [idOf(A)], adapterSilenceMs: 250 }, air);
  await advertiseUntil(air, 'connected', () => deviceState(source, idOf(A)) === 'connected');
  const old = air.bindings();
  // Notifications count as signs of life.
  for (let i = 0; i < 8; i++) {
    old.notifyValue(A, '2a37', hr(70));
    // Asserts that nothing happens in this window: 320 ms of notifications, longer than the 250 ms adapter silence.
    await sleep(40);
  }
  assert.equal(source.stats().adapterResets, 0);

  await until('a new noble instance', () => (air.created.get(0)?.length ?? 0) === 2, 1_000);
  assert.equal(source.stats().adapterResets, 1);
  assert.equal(old.resets, 1, 'HCI reset sent through the old instance');
  assert.equal(old.eventNames().length, 0, 'the old bindings have no listeners left');
  assert.equal(deviceState(source, idOf(A)), 'backoff');
  await until('scanning on the new instance', () => source.health().state === 'running');
  const fresh = air.bindings();
  assert.notEqual(fresh, old);
  old.connected.clear();
  await advertiseUntil(air, 'reconnected through the new instance', () => deviceState(source, idOf(A)) === 'connected');
  assert.equal(fresh.connectsOf(A), 1);
  assert.ok(fresh.notifyValue(A, '2a37', hr(75)));
  await until('a reading after the reset', () => sink.of(idOf(A), 'heart_rate').some((r) => r.value === 75));
  // The old instance's events reach no one.
  assert.equal(old.notifyValue(A, '2a37', hr(99)), false);
  assert.equal(sink.of(idOf(A), 'heart_rate').filter((r) => r.value === 99).length, 0);
});

test('two adapters: each keeps its own connection cap, and a sensor is connected through one adapter only', async (t) => {
  const air = new FakeAir();
  const addresses = Array.from({ length: 4 }, (_, i) => `c0:ff:ee:00:03:0${i}`);
  air.add(...addresses.map((a) => heartRateStrap(a, { connect: 10 })));
  const { source } = await rig(t, { adapters: [0, 1], maxConnections: 2, allow: addresses.map((a) => `ble:${a}`) }, air);
  await advertiseUntil(air, 'all four connected', () => source.health().devices?.filter((d) => d.state === 'connected').length === 4, undefined, [0, 1]);
  for (let i = 0; i < 20; i++) {
    air.advertise(undefined, [0, 1]);
    // Asserts that nothing happens in this window: more adverts on both adapters connect nothing more.
    await sleep(5);
  }
  const hci0 = air.bindings(0);
  const hci1 = air.bindings(1);
  assert.equal(hci0.connected.size, 2);
  assert.equal(hci1.connected.size, 2);
  assert.ok(hci0.maxConnected <= 2 && hci1.maxConnected <= 2);
  assert.ok(hci0.maxInFlightConnects <= 1 && hci1.maxInFlightConnects <= 1);
  for (const address of addresses) assert.equal(Number(hci0.isConnected(address)) + Number(hci1.isConnected(address)), 1, `${address} on exactly one adapter`);
  const adapters = new Set(source.health().devices?.map((d) => d.adapter));
  assert.deepEqual([...adapters].sort(), ['hci0', 'hci1']);
});

test('stop() ends links, cancels attempts in flight and leaves no timer behind', async (t) => {
  const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const air = new FakeAir();
  air.add(heartRateStrap(A), heartRateStrap(B, { connect: 'hang' }));
  const started = performance.now();
  const source = new BleSource({
    ...bleSourceConfig({ ...FAST, allow: [idOf(A), idOf(B)], connectTimeoutMs: 10_000 }),
    now: Date.now,
    log: silentLog,
    createNoble: air.createNoble,
  });
  t.after(() => air.close());
  await source.start(new RecordingSink());
  await advertiseUntil(air, 'A connected', () => deviceState(source, idOf(A)) === 'connected', [A]);
  air.advertise([B]);
  await until('B connecting', () => deviceState(source, idOf(B)) === 'connecting');
  const bindings = air.bindings();

  const stopping = performance.now();
  await source.stop();
  assert.ok(performance.now() - stopping < 500, `stop took ${Math.round(performance.now() - stopping)} ms`);
  assert.deepEqual(bindings.disconnectCalls, ['c0ffee000001']);
  assert.equal(bindings.inFlightConnects, 0, 'the hanging attempt was cancelled');
  assert.equal(bindings.eventNames().length, 0, 'noble let go of its bindings');
  assert.equal(source.health().state, 'stopped');
  air.close();
  const activeTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  // The polling step's own timer has fired whenever the condition is evaluated.
  await until('the timers of the stopped source to end', () => activeTimers() <= timersBefore, 1_000);
  assert.ok(activeTimers() <= timersBefore, `timers: ${timersBefore} before, ${activeTimers()} after`);
  assert.ok(performance.now() - started < 3_000);
});
