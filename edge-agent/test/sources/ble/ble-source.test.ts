/**
 * The BLE source against real noble objects on fake bindings: admission, connections, decoding,
 * broadcast heart rate. Resilience (watchdogs, resets, floods, missing adapters) is in ble-resilience.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '@pulsebridge/runtime';
import { bleConfigProblems, bleSensorId, bleSourceConfig, normalizeBleSensorId } from '../../../src/sources/ble/config.ts';
import { FakeAir, heartRateStrap, polarData, polarStrap, speedCadenceSensor, stairClimber } from './fake-bindings.ts';
import { advertiseUntil, deviceState, rig, sleep, until } from './harness.ts';

const A = 'c0:ff:ee:00:00:01';
const B = 'c0:ff:ee:00:00:02';
const C = 'c0:ff:ee:00:00:03';
const idOf = (address: string): string => `ble:${address.replaceAll(':', '-')}`;

const hr = (bpm: number): Buffer => Buffer.from([0x00, bpm]);

test('sensor ids come from the address, match the protocol pattern, and allowlist spellings normalise', () => {
  assert.equal(bleSensorId('C0:FF:EE:00:00:01', 'c0ffee000001'), 'ble:c0-ff-ee-00-00-01');
  assert.equal(bleSensorId('unknown', '6E400001B5A3F393E0A9E50E24DCCA9E'), 'ble:6e400001b5a3f393e0a9e50e24dcca9e');
  assert.equal(bleSensorId('unknown', 'not/valid'), undefined);
  assert.equal(bleSensorId(undefined, 'x'.repeat(70)), undefined);
  assert.match(bleSensorId('aa:bb:cc:dd:ee:ff', 'aabbccddeeff') ?? '', /^[A-Za-z0-9][A-Za-z0-9:._~-]{0,63}$/);
  assert.equal(normalizeBleSensorId('ble:C0:FF:EE:00:00:01'), 'ble:c0-ff-ee-00-00-01');
  assert.equal(normalizeBleSensorId('ble:c0-ff-ee-00-00-01'), 'ble:c0-ff-ee-00-00-01');
  assert.equal(normalizeBleSensorId('ant:120:1:1'), undefined);
});

test('a bad configuration is refused as a ConfigError with every problem at once', () => {
  assert.throws(
    // Deliberately wrong values, as a hand-written configuration could hold them.
    () => bleSourceConfig({ adapters: [], allow: ['hr strap'], reconnectInitialMs: 500 }),
    (error: unknown) => error instanceof ConfigError && error.code === 'config' && /\/adapters/.test(error.message) && /\/allow\/0/.test(error.message),
  );
});

test('bleConfigProblems: a longest reconnect wait below the first one is a problem at its path', () => {
  const config = bleSourceConfig({ reconnectInitialMs: 500, reconnectMaxMs: 1_000 });
  assert.deepEqual(bleConfigProblems(config, '/sources/ble'), []);
  assert.deepEqual(bleConfigProblems({ ...config, reconnectMaxMs: 100 }, '/sources/ble'), ['/sources/ble/reconnectMaxMs: 100 is below /sources/ble/reconnectInitialMs (500)']);
  assert.throws(
    () => bleSourceConfig({ reconnectInitialMs: 500, reconnectMaxMs: 100 }),
    (error: unknown) => error instanceof ConfigError && error.problems[0] === '/reconnectMaxMs: 100 is below /reconnectInitialMs (500)',
  );
});

test('the allowlist admits only listed sensors: others are never connected, and readings carry catalogue metrics', async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap(A), heartRateStrap(B));
  const { source, sink } = await rig(t, { allow: ['ble:C0:FF:EE:00:00:01'] }, air);
  assert.equal(source.health().state, 'running');
  assert.deepEqual(air.bindings().scanStarts, [{ services: ['1826', '1818', '1816', '1814', '180d'], allowDuplicates: true }]);

  await advertiseUntil(air, 'A connected', () => deviceState(source, idOf(A)) === 'connected');
  const bindings = air.bindings();
  for (let i = 0; i < 20; i++) air.advertise();
  assert.ok(bindings.notifyValue(A, '2a37', Buffer.from([0x10, 72, 0x00, 0x04, 0x00, 0x02])));
  await until('readings of A', () => sink.of(idOf(A), 'heart_rate').length === 1);

  assert.equal(bindings.connectsOf(B), 0, 'B is never connected');
  assert.ok(source.stats().notAdmittedAdverts >= 20);
  const [heartRate] = sink.of(idOf(A), 'heart_rate');
  const rr = sink.of(idOf(A), 'rr_interval');
  assert.equal(heartRate?.value, 72);
  // Two RR intervals of 1000 and 500 ms: the older one ended 500 ms before the notification.
  assert.deepEqual(
    rr.map((r) => [r.value, r.ts - (heartRate?.ts ?? 0)]),
    [
      [1000, -500],
      [500, 0],
    ],
  );
  await until('the inventory', () => sink.lastInventory.some((s) => s.id === idOf(A) && s.metrics.includes('heart_rate')));
  assert.deepEqual(
    sink.lastInventory.map((s) => s.id),
    [idOf(A)],
  );
  const info = sink.lastInventory[0];
  assert.equal(info?.kind, 'heart_rate');
  assert.equal(info?.source, 'ble');
  assert.match(info?.name ?? '', /^HRM Pro c0:ff:ee:00:00:01 \(Acme Sports, HR-9\)$/);
});

test('permit-join admits new sensors and reports them; after the window only they stay admitted', async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap(A), heartRateStrap(B));
  const { source, sink } = await rig(t, {}, air);
  for (let i = 0; i < 5; i++) air.advertise([A]);
  assert.equal(source.health().sensors, 0, 'nothing admitted before the window opens');

  source.permitJoin(0.3);
  assert.equal(source.joinOpen, true);
  await advertiseUntil(air, 'A joined and connected', () => deviceState(source, idOf(A)) === 'connected', [A]);
  await until('A in the inventory', () => sink.lastInventory.some((s) => s.id === idOf(A)));
  await until('the window to close', () => !source.joinOpen, 1_000);

  const advertsBefore = source.stats().adverts;
  for (let i = 0; i < 20; i++) air.advertise([A, B]);
  await until('the 40 adverts handled', () => source.stats().adverts >= advertsBefore + 40);
  assert.equal(air.bindings().connectsOf(B), 0, 'B arrived after the window closed');
  assert.deepEqual(source.stats().admission, { allowed: 0, joined: 1, joinRefused: 0 });
  assert.ok(air.bindings().notifyValue(A, '2a37', hr(80)), 'A stays admitted and connected');
  await until('A reading', () => sink.of(idOf(A), 'heart_rate').length === 1);

  source.permitJoin(-1);
  assert.equal(source.joinOpen, false, 'a negative window is ignored');
});

test('adverts below the RSSI floor neither admit nor connect; a stronger advert does', async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap(A, { rssi: -85 }));
  const { source } = await rig(t, { rssiFloorDbm: -70, permitJoinSeconds: 60 }, air);
  for (let i = 0; i < 30; i++) air.advertise();
  await until('the 30 adverts handled', () => source.stats().adverts >= 30);
  assert.equal(source.health().sensors, 0);
  assert.equal(source.stats().weakAdverts, 30);
  assert.equal(air.bindings().connectCalls.length, 0);

  air.devices.get('c0ffee000001')!.rssi = -60;
  await advertiseUntil(air, 'A connected once its signal is strong enough', () => deviceState(source, idOf(A)) === 'connected');
  assert.equal(source.health().devices?.[0]?.rssi, -60);
});

test('connections: at most maxConnections per adapter, attempts one at a time, a freed slot goes to a waiting sensor', async (t) => {
  const air = new FakeAir();
  const addresses = Array.from({ length: 6 }, (_, i) => `c0:ff:ee:00:01:0${i}`);
  air.add(...addresses.map((a) => heartRateStrap(a, { connect: 15 })));
  const { source } = await rig(t, { allow: addresses.map((a) => `ble:${a}`), maxConnections: 3 }, air);
  const connectedCount = (): number => source.health().devices?.filter((d) => d.state === 'connected').length ?? 0;

  await advertiseUntil(air, 'three connected', () => connectedCount() === 3);
  for (let i = 0; i < 20; i++) {
    air.advertise();
    // Asserts that nothing happens in this window: more adverts connect no fourth sensor.
    await sleep(5);
  }
  const bindings = air.bindings();
  assert.equal(connectedCount(), 3);
  assert.equal(bindings.maxConnected, 3, 'never more than three links');
  assert.equal(bindings.maxInFlightConnects, 1, 'never two connection attempts at once');
  assert.equal(source.stats().adapters[0]?.links, 3);

  const victim = addresses.find((a) => bindings.isConnected(a))!;
  bindings.dropLink(victim);
  await advertiseUntil(
    air,
    'a waiting sensor to take the slot',
    () => bindings.connected.size === 3 && !bindings.isConnected(victim),
    addresses.filter((a) => a !== victim),
  );
  assert.equal(bindings.maxConnected, 3);
  assert.equal(bindings.maxInFlightConnects, 1);
});

test('battery and device information are read once per sensor, across reconnects, into facts', async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap(A));
  const { source, sink } = await rig(t, { allow: [idOf(A)] }, air);
  await advertiseUntil(air, 'connected', () => deviceState(source, idOf(A)) === 'connected');
  const bindings = air.bindings();
  assert.equal(bindings.readsOf(A, '2a19'), 1);
  assert.equal(bindings.readsOf(A, '2a29'), 1);
  assert.equal(bindings.readsOf(A, '2a24'), 1);
  assert.equal(bindings.readsOf(A, '2a38'), 0, 'body sensor location is no profile of ours');
  assert.deepEqual(
    sink.of(idOf(A), 'battery').map((r) => r.value),
    [87],
  );
  assert.ok(bindings.subscribed.get('c0ffee000001')?.has('2a37'));
  assert.equal(bindings.subscribed.get('c0ffee000001')?.has('2a19'), false, 'battery is read, not subscribed');

  for (let round = 0; round < 2; round++) {
    bindings.dropLink(A);
    await until('backoff', () => deviceState(source, idOf(A)) === 'backoff');
    await advertiseUntil(air, 'reconnected', () => deviceState(source, idOf(A)) === 'connected');
  }
  assert.equal(bindings.connectsOf(A), 3);
  assert.equal(bindings.readsOf(A, '2a19'), 1, 'battery read once');
  assert.equal(bindings.readsOf(A, '2a29'), 1, 'manufacturer read once');
  assert.equal(bindings.readsOf(A, '2a24'), 1, 'model read once');
  assert.equal(source.stats().reconnects, 2);
  assert.equal(source.stats().infoReads, 3);
  // Three links later, noble's peripheral carries only the current link's disconnect listener.
  const peripheral = air.peripheral(A);
  assert.equal(peripheral?.listenerCount('disconnect'), 1);
  assert.equal(peripheral?.listenerCount('connect'), 0);
  await source.stop();
  assert.equal(peripheral?.listenerCount('disconnect'), 0);
});

test('a stair climber: its data and training status are subscribed, its feature and supported ranges read once, its readings emitted', async (t) => {
  const air = new FakeAir();
  air.add(stairClimber(A));
  const { source, sink } = await rig(t, { allow: [idOf(A)] }, air);
  await advertiseUntil(air, 'connected', () => deviceState(source, idOf(A)) === 'connected');
  const bindings = air.bindings();
  const subscribed = bindings.subscribed.get('c0ffee000001');
  for (const uuid of ['2ad0', '2ad3', '2ada']) assert.ok(subscribed?.has(uuid), `${uuid} subscribed`);
  for (const uuid of ['2acc', '2ad6', '2ad8']) {
    assert.equal(bindings.readsOf(A, uuid), 1, `${uuid} read once`);
    assert.equal(subscribed?.has(uuid), false, `${uuid} not subscribed`);
  }
  assert.equal(source.stats().infoReads, 3);
  assert.equal(source.stats().refused, 0, 'the feature and both ranges decode');

  // Floors 12, 60 steps/min, 36 m climbed, HR 128, 600 s elapsed.
  assert.ok(bindings.notifyValue(A, '2ad0', Buffer.from([0x4a, 0x01, 0x0c, 0x00, 0x3c, 0x00, 0x24, 0x00, 0x80, 0x58, 0x02])));
  assert.ok(bindings.notifyValue(A, '2ad3', Buffer.from([0x01, 0x02, ...Buffer.from('Warm up')])));
  await until('the stair climber readings', () => sink.of(idOf(A)).length === 5);
  const byMetric = Object.fromEntries(sink.of(idOf(A)).map((r) => [r.metric, r.value]));
  assert.deepEqual(byMetric, { floors: 12, cadence: 60, elevation_gain: 36, heart_rate: 128, elapsed_time: 600 });
  await until('the inventory names the kind', () => sink.lastInventory.some((s) => s.id === idOf(A) && s.kind === 'stair_climber'));
  assert.equal(source.stats().refused, 0);
});

test('a machine that bends the spec: trailing bytes and reserved bits are counted as quirks per sensor, its readings kept; short records refused', async (t) => {
  const air = new FakeAir();
  air.add(stairClimber(A));
  const { source, sink } = await rig(t, { allow: [idOf(A)] }, air);
  await advertiseUntil(air, 'connected', () => deviceState(source, idOf(A)) === 'connected');
  const bindings = air.bindings();
  const quirksOf = (): number | undefined => source.health().devices.find((d) => d.id === idOf(A))?.quirks;
  assert.equal(quirksOf(), 0);
  // Floors 12 and one byte the flags do not announce (as a Concept2 PM5 sends).
  bindings.notifyValue(A, '2ad0', Buffer.from([0x00, 0x00, 0x0c, 0x00, 0xaa]));
  // Reserved bit 10 set, floors 13.
  bindings.notifyValue(A, '2ad0', Buffer.from([0x00, 0x04, 0x0d, 0x00]));
  // Floors announced but missing: refused.
  bindings.notifyValue(A, '2ad0', Buffer.from([0x00, 0x00, 0x0e]));
  bindings.notifyValue(A, '2ad0', Buffer.from([0x00, 0x00, 0x0f, 0x00]));
  await until('every good record decoded', () => sink.of(idOf(A), 'floors').length === 3);
  assert.deepEqual(
    sink.of(idOf(A), 'floors').map((r) => r.value),
    [12, 13, 15],
  );
  assert.equal(quirksOf(), 2);
  assert.equal(source.stats().quirks, 2);
  assert.equal(source.stats().refused, 1);
  assert.equal(source.health().rejected, 1, 'quirks are not rejections');
});

test('link loss: backoff, reconnect, decoder state reset, every notification decoded exactly once', async (t) => {
  const air = new FakeAir();
  air.add(speedCadenceSensor(A));
  const { source, sink } = await rig(t, { allow: [idOf(A)], reconnectInitialMs: 80 }, air);
  await advertiseUntil(air, 'connected', () => deviceState(source, idOf(A)) === 'connected');
  const bindings = air.bindings();
  const csc = (revs: number, time: number): Buffer => {
    const data = Buffer.alloc(7);
    data[0] = 0x01;
    data.writeUInt32LE(revs, 1);
    data.writeUInt16LE(time, 5);
    return data;
  };
  bindings.notifyValue(A, '2a5b', csc(100, 1024));
  bindings.notifyValue(A, '2a5b', csc(102, 2048));
  await until('first speed', () => sink.of(idOf(A), 'speed').length === 1);
  assert.ok(Math.abs((sink.of(idOf(A), 'speed')[0]?.value ?? 0) - 2 * 2.105) < 1e-9);

  bindings.dropLink(A);
  const lostAt = performance.now();
  await until('backoff', () => deviceState(source, idOf(A)) === 'backoff');
  assert.equal(bindings.notifyValue(A, '2a5b', csc(104, 3072)), false, 'nothing arrives while disconnected');
  await advertiseUntil(air, 'reconnected', () => deviceState(source, idOf(A)) === 'connected');
  assert.ok(performance.now() - lostAt >= 80 * 0.8 - 5, 'waited its backoff before reconnecting');

  // The sensor restarted its counters on reconnect: 8 revolutions in 2 s against the old state would be a
  // plausible but false 8.4 m/s.
  bindings.notifyValue(A, '2a5b', csc(110, 4096));
  bindings.notifyValue(A, '2a5b', csc(111, 5120));
  await until('speed after the reconnect', () => sink.of(idOf(A), 'speed').length === 2);
  await until('all four notifications handled', () => source.stats().notifications === 4);
  assert.deepEqual(
    sink.of(idOf(A), 'speed').map((r) => Math.round(r.value * 1000) / 1000),
    [4.21, 2.105],
  );
  assert.equal(source.stats().notifications, 4);
  assert.equal(source.stats().linkLosses, 1);
  assert.equal(source.stats().staleNotifications, 0);
});

test('malformed notifications are counted and skipped; a throwing sink is counted and does not stop the source', async (t) => {
  const air = new FakeAir();
  air.add(heartRateStrap(A));
  const { source, sink } = await rig(t, { allow: [idOf(A)] }, air);
  await advertiseUntil(air, 'connected', () => deviceState(source, idOf(A)) === 'connected');
  const bindings = air.bindings();
  const rejectedBefore = source.health().rejected;
  bindings.notifyValue(A, '2a37', Buffer.from([]));
  bindings.notifyValue(A, '2a37', Buffer.from([0xe0, 70]));
  bindings.notifyValue(A, '2a37', Buffer.from([0x10, 70]));
  bindings.notifyValue(A, '2a37', Buffer.from([0x00, 255, 255, 255]));
  bindings.notifyValue(A, '2a37', hr(71));
  await until('the good notification', () => sink.of(idOf(A), 'heart_rate').length === 1);
  assert.equal(source.health().rejected - rejectedBefore, 4);
  assert.equal(source.stats().refused, 4);

  sink.throwOnReading = 1;
  bindings.notifyValue(A, '2a37', hr(72));
  bindings.notifyValue(A, '2a37', hr(73));
  await until('the reading after the failure', () => sink.of(idOf(A), 'heart_rate').length === 2);
  assert.equal(source.stats().handlerErrors, 1);
  assert.equal(deviceState(source, idOf(A)), 'connected');
  assert.deepEqual(
    sink.of(idOf(A), 'heart_rate').map((r) => r.value),
    [71, 73],
  );
});

test('broadcast heart rate from Polar adverts, without connecting: one reading per new frame counter', async (t) => {
  const air = new FakeAir();
  air.add(polarStrap(A, 70, 1));
  const { source, sink } = await rig(t, { allow: [idOf(A)] }, air);
  for (let i = 0; i < 15; i++) air.advertise();
  await until('the 15 adverts handled', () => source.stats().adverts >= 15);
  assert.deepEqual(
    sink.of(idOf(A), 'heart_rate').map((r) => r.value),
    [70],
  );
  air.advertise([A], [0], { manufacturerData: polarData(72, 2) });
  air.advertise([A], [0], { manufacturerData: polarData(72, 2) });
  air.advertise([A], [0], { manufacturerData: polarData(0, 3) });
  air.advertise([A], [0], { manufacturerData: polarData(74, 4, { contact: false }) });
  assert.deepEqual(
    sink.of(idOf(A), 'heart_rate').map((r) => r.value),
    [70, 72, 74],
    '0 bpm (searching) is no reading',
  );
  assert.equal(air.bindings().connectCalls.length, 0, 'a broadcast strap is never connected to');
  assert.equal(deviceState(source, idOf(A)), 'broadcast');
  const stats = source.stats();
  assert.equal(stats.broadcastAdverts, 19);
  assert.equal(stats.broadcastRepeats, 15);
  await until('the inventory', () => sink.lastInventory.some((s) => s.id === idOf(A)));
  assert.equal(sink.lastInventory[0]?.kind, 'heart_rate');

  // A malformed block from an admitted strap is refused and counted.
  air.advertise([A], [0], { manufacturerData: Buffer.from([0x6b, 0x00, 0x72, 0x09, 0x00]) });
  assert.equal(source.stats().refused, 1);
});

test('a Polar strap that stops broadcasting heart rate is connected to instead, without counting refusals', async (t) => {
  const air = new FakeAir();
  air.add(polarStrap(A, 66, 1));
  const { source, sink } = await rig(t, { allow: [idOf(A)] }, air);
  air.advertise();
  assert.equal(deviceState(source, idOf(A)), 'broadcast');
  // Broadcasting switched off in the strap's settings: Polar data without a heart-rate block.
  air.devices.get('c0ffee000001')!.manufacturerData = Buffer.from([0x6b, 0x00, 0x72, 0x01, 0x00]);
  await advertiseUntil(air, 'connected over GATT', () => deviceState(source, idOf(A)) === 'connected');
  assert.ok(air.bindings().notifyValue(A, '2a37', hr(67)));
  await until('the GATT reading', () => sink.of(idOf(A), 'heart_rate').length === 2);
  assert.deepEqual(
    sink.of(idOf(A), 'heart_rate').map((r) => r.value),
    [66, 67],
  );
  assert.equal(source.stats().refused, 0);
});

test('older 3-byte Polar straps give at most one reading a second', async (t) => {
  const air = new FakeAir();
  air.add(polarStrap(B, 65, 0, { manufacturerData: polarData(65, 0, { oldStrap: true }) }));
  const { sink } = await rig(t, { allow: [idOf(B)] }, air);
  const started = performance.now();
  // Readings are due at 0 and 1 s; a third would need 2 s.
  while (performance.now() - started < 1_500) {
    air.advertise();
    // Real time passes on purpose: the source spaces old straps' readings by performance.now(), which mock timers do not move.
    await sleep(20);
  }
  assert.equal(sink.of(idOf(B), 'heart_rate').length, 2);
  const [first, second] = sink.of(idOf(B), 'heart_rate');
  assert.ok((second?.ts ?? 0) - (first?.ts ?? 0) >= 995);
});

test('a class of straps broadcasting needs no connection; a connectable sensor next to them still connects', async (t) => {
  const air = new FakeAir();
  const straps = Array.from({ length: 40 }, (_, i) => `c0:ff:ee:00:02:${i.toString(16).padStart(2, '0')}`);
  air.add(...straps.map((a, i) => polarStrap(a, 60 + i, 1)), speedCadenceSensor(C));
  const { source, sink } = await rig(t, { permitJoinSeconds: 60 }, air);
  await advertiseUntil(air, 'the CSC sensor connected', () => deviceState(source, idOf(C)) === 'connected');
  assert.equal(source.health().sensors, 41);
  assert.deepEqual(air.bindings().connectCalls, ['c0ffee000003']);
  assert.equal(new Set(sink.readings.filter((r) => r.metric === 'heart_rate').map((r) => r.sensor)).size, 40);
});
