// Over 500 lines: every HCI scenario runs against one fake controller and shares its setup.
/**
 * The BLE source as a gym box runs it: its default noble loader, noble's unmodified Linux stack, and the
 * fake HCI controller with simulated sensors underneath (test/devices/ble). The fast tests of the source
 * use fake noble bindings; these check that the two halves agree on the real wire: pairing, many sensors,
 * link loss, watchdogs, floods and malformed notifications.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withTimeout } from '@pulsebridge/runtime';
import { Opcode, PacketType } from '../../devices/ble/hci.ts';
import type { SimulatedPeripheral } from '../../devices/ble/peripheral.ts';
import {
  heartRateStrap,
  polarBroadcastStrap,
  powerMeter,
  smartBike,
  speedCadenceSensor,
  stairClimber,
  treadmill,
  CYCLING_POWER_MEASUREMENT_UUID,
  HEART_RATE_MEASUREMENT_UUID,
} from '../../devices/ble/peripherals/index.ts';
import { FakeBleWorld, type Flood } from '../../devices/ble/world.ts';
import { commandsNamed, connected, expectedReadings, exposeGc, hciRig, linkStartsOf, sensorIdOf, sleep, stateOf, until, watchConnectionAttempts } from './hci-rig.ts';

test('permit-join: nothing is admitted before the window, the strap joins during it, a sensor first heard after it does not', { timeout: 20_000 }, async (t) => {
  const world = new FakeBleWorld();
  const strap = world.add(heartRateStrap({ seed: 1, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const { source, sink } = await hciRig(t, world);
  const adapter = world.adapter(0);
  assert.equal(source.health().state, 'running');

  await until('the strap heard but not admitted', () => source.stats().notAdmittedAdverts >= 5);
  assert.equal(source.health().sensors, 0, 'nothing admitted before the window opens');
  assert.equal(adapter.counters.connectionsAttempted, 0, 'no connection attempt before the window opens');

  source.permitJoin(1.5);
  await until('the strap connected', () => connected(source, strap));
  await until('heart rate readings', () => sink.of(sensorIdOf(strap), 'heart_rate').length >= 3);
  await until('the strap in the inventory with its device information', () =>
    sink.lastInventory.some((sensor) => sensor.id === sensorIdOf(strap) && /Pulsebridge Sim/.test(sensor.name ?? '')),
  );
  const info = sink.lastInventory.find((sensor) => sensor.id === sensorIdOf(strap));
  assert.equal(info?.kind, 'heart_rate');
  assert.equal(info?.source, 'ble');
  assert.equal(info?.name, `${strap.name} ${strap.address} (Pulsebridge Sim, HRM-SIM 2, serial 012654435761)`);
  assert.ok(info?.metrics.includes('heart_rate'));

  await until('the window to close', () => !source.joinOpen, 3_000);
  const late = world.add(heartRateStrap({ seed: 2, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const refusedBefore = source.stats().notAdmittedAdverts;
  await until('the late strap heard', () => source.stats().notAdmittedAdverts >= refusedBefore + 10);
  assert.equal(stateOf(source, late), undefined, 'the late strap is not a sensor of this source');
  assert.equal(late.connectionCount, 0);
  assert.equal(adapter.counters.connectionsAttempted, 1, 'only the joined strap was ever connected to');
  assert.deepEqual(source.stats().admission, { allowed: 0, joined: 1, joinRefused: 0 });
  assert.ok(!sink.readings.some((reading) => reading.sensor === sensorIdOf(late)));
  const before = sink.of(sensorIdOf(strap), 'heart_rate').length;
  await until('the joined strap still delivering', () => sink.of(sensorIdOf(strap), 'heart_rate').length >= before + 3);
});

test('a stair climber over the real stack: its data and training status subscribed, floors and elevation gain read, kind stair_climber', { timeout: 20_000 }, async (t) => {
  const world = new FakeBleWorld();
  const climber = world.add(stairClimber({ seed: 3, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const { source, sink } = await hciRig(t, world, { permitJoinSeconds: 60 });
  await until('the climber connected', () => connected(source, climber));
  await until('floors, step rate and elevation gain', () =>
    ['floors', 'cadence', 'elevation_gain', 'elapsed_time'].every((metric) => sink.of(sensorIdOf(climber), metric).length >= 2),
  );
  assert.ok(climber.isSubscribed('2ad0') && climber.isSubscribed('2ad3'), 'data and training status subscribed');
  await until('the inventory names the kind', () => sink.lastInventory.some((sensor) => sensor.id === sensorIdOf(climber) && sensor.kind === 'stair_climber'));
  assert.equal(source.stats().refused, 0);
});

test('ten sensors at once on two adapters: maxConnections per adapter, one connection attempt at a time, every sensor delivers', { timeout: 30_000 }, async (t) => {
  const world = new FakeBleWorld({ adapters: [{ id: 0 }, { id: 1 }] });
  const fast = { notifyIntervalMs: 200, advertisingIntervalMs: 50 };
  const linked: { peripheral: SimulatedPeripheral; metric: string }[] = [
    { peripheral: heartRateStrap({ seed: 11, ...fast }), metric: 'heart_rate' },
    { peripheral: heartRateStrap({ seed: 12, ...fast }), metric: 'heart_rate' },
    { peripheral: heartRateStrap({ seed: 13, ...fast }), metric: 'heart_rate' },
    { peripheral: powerMeter({ seed: 14, ...fast }), metric: 'power' },
    { peripheral: powerMeter({ seed: 15, ...fast }), metric: 'power' },
    { peripheral: speedCadenceSensor({ seed: 16, ...fast }), metric: 'speed' },
    { peripheral: speedCadenceSensor({ seed: 17, ...fast }), metric: 'cadence' },
    { peripheral: treadmill({ seed: 18, ...fast }), metric: 'speed' },
    { peripheral: smartBike({ seed: 19, ...fast }), metric: 'power' },
    { peripheral: smartBike({ seed: 20, ...fast }), metric: 'cadence' },
  ];
  for (const { peripheral } of linked) world.add(peripheral);
  const broadcasters = [
    polarBroadcastStrap({ seed: 21, notifyIntervalMs: 200, advertisingIntervalMs: 50 }),
    polarBroadcastStrap({ seed: 22, notifyIntervalMs: 200, advertisingIntervalMs: 50 }),
  ];
  for (const strap of broadcasters) world.add(strap);
  const attempts = watchConnectionAttempts(world, world.peripherals());

  const maxConnections = 5;
  const { source, sink } = await hciRig(t, world, { adapters: [0, 1], permitJoinSeconds: 60, maxConnections });
  let mostLinks = 0;
  const sampler = setInterval(() => {
    for (const adapter of world.adapters()) mostLinks = Math.max(mostLinks, adapter.activeConnections);
    for (const view of source.stats().adapters) mostLinks = Math.max(mostLinks, view.links);
  }, 5);
  t.after(() => clearInterval(sampler));

  await until('all ten connected', () => linked.every(({ peripheral }) => connected(source, peripheral)), 15_000);
  await until(
    'readings from every sensor',
    () =>
      linked.every(({ peripheral, metric }) => sink.of(sensorIdOf(peripheral), metric).length >= 2) &&
      broadcasters.every((strap) => sink.of(sensorIdOf(strap), 'heart_rate').length >= 2),
    10_000,
  );
  clearInterval(sampler);

  assert.ok(mostLinks <= maxConnections, `at most ${maxConnections} links per adapter, saw ${mostLinks}`);
  assert.deepEqual(
    world.adapters().map((adapter) => adapter.activeConnections),
    [maxConnections, maxConnections],
    'ten links split five and five',
  );
  for (const adapter of world.adapters()) {
    assert.equal(attempts.maxOutstanding.get(adapter.id), 1, `hci${adapter.id}: never two LE Create Connection outstanding`);
    assert.equal(adapter.counters.connectionsAttempted, adapter.counters.connectionsEstablished, `hci${adapter.id}: every attempt connected`);
    assert.equal(commandsNamed(adapter, 'leCreateConnection'), adapter.counters.connectionsEstablished);
    assert.equal(adapter.counters.connectionLimitRejections, 0);
    assert.equal(adapter.counters.aclBufferOverruns, 0, `hci${adapter.id}: host kept ACL flow control`);
  }
  for (const strap of broadcasters) {
    assert.equal(stateOf(source, strap), 'broadcast');
    assert.equal(strap.connectionCount, 0, 'a broadcasting strap is never connected to');
  }
  const stats = source.stats();
  assert.equal(stats.connections, 10);
  assert.equal(stats.connectFailures, 0);
  assert.equal(stats.refused + stats.handlerErrors, 0);
  // Every delivered notification of every sensor became exactly the readings its decoder makes of it.
  for (const { peripheral } of linked) peripheral.silence();
  // A broadcast frame counts as delivered once an advert carried it to a host: stop adverts to settle.
  for (const strap of broadcasters) strap.stopAdvertising();
  const readingsOf = (peripheral: SimulatedPeripheral): number => sink.of(sensorIdOf(peripheral)).filter((reading) => reading.metric !== 'battery').length;
  const expectedCount = (peripheral: SimulatedPeripheral): number => {
    const records = peripheral.deliveredNotifications().filter((record) => record.kind === 'notification');
    return [...expectedReadings(records, linkStartsOf(records)).values()].reduce((sum, n) => sum + n, 0);
  };
  await until(
    'every delivered notification and frame decoded',
    () =>
      linked.every(({ peripheral }) => readingsOf(peripheral) >= expectedCount(peripheral)) &&
      broadcasters.every((strap) => sink.of(sensorIdOf(strap), 'heart_rate').length >= strap.deliveredNotifications('ff').length),
  );
  for (const { peripheral } of linked) {
    const records = peripheral.deliveredNotifications().filter((record) => record.kind === 'notification');
    const expected = expectedReadings(records, linkStartsOf(records));
    const got = new Map<string, number>();
    for (const reading of sink.of(sensorIdOf(peripheral))) got.set(reading.metric, (got.get(reading.metric) ?? 0) + 1);
    // Battery comes from the one read at connection, not from a notification.
    got.delete('battery');
    assert.deepEqual(got, expected, `${peripheral.name}: readings per metric`);
  }
  for (const strap of broadcasters) {
    const frames = strap.deliveredNotifications('ff');
    assert.equal(sink.of(sensorIdOf(strap), 'heart_rate').length, frames.length, `${strap.name}: one reading per broadcast frame heard`);
  }
  const kinds = new Map(sink.lastInventory.map((sensor) => [sensor.id, sensor.kind]));
  assert.equal(kinds.get(sensorIdOf(linked[7]!.peripheral)), 'treadmill');
  assert.equal(kinds.get(sensorIdOf(linked[8]!.peripheral)), 'bike');
  assert.equal(kinds.get(sensorIdOf(linked[3]!.peripheral)), 'bike_power');
  assert.equal(kinds.get(sensorIdOf(linked[5]!.peripheral)), 'speed_cadence');
});

test('link loss and reconnect: readings resume, and every delivered notification became exactly its readings', { timeout: 30_000 }, async (t) => {
  const world = new FakeBleWorld();
  const strap = world.add(heartRateStrap({ seed: 31, notifyIntervalMs: 50, advertisingIntervalMs: 20 }));
  const meter = world.add(powerMeter({ seed: 32, notifyIntervalMs: 50, advertisingIntervalMs: 20 }));
  const { source, sink } = await hciRig(t, world, { allow: [sensorIdOf(strap), sensorIdOf(meter)] });

  await until('both connected', () => connected(source, strap) && connected(source, meter));
  for (const [round, detectAfterMs] of [100, 300, undefined].entries()) {
    const peripheral = round % 2 === 0 ? strap : meter;
    const id = sensorIdOf(peripheral);
    await until(`readings of ${id} before drop ${round}`, () => connected(source, peripheral) && sink.of(id).length >= 5 * (round + 1));
    const losses = source.stats().linkLosses;
    // undefined: the controller notices after the link's own supervision timeout, as with a real sensor.
    peripheral.dropLink(detectAfterMs === undefined ? { returnAfterMs: 200 } : { detectAfterMs, returnAfterMs: 150 });
    await until(`the source to see link loss ${round}`, () => source.stats().linkLosses === losses + 1, 3_000);
    const readingsAtLoss = sink.of(id).length;
    await until(`${id} reconnected after drop ${round}`, () => connected(source, peripheral), 5_000);
    await until(`readings of ${id} after drop ${round}`, () => sink.of(id).length >= readingsAtLoss + 3);
  }
  strap.silence();
  meter.silence();
  await until(
    'every delivered notification decoded',
    () =>
      sink.of(sensorIdOf(strap), 'heart_rate').length >= strap.deliveredNotifications(HEART_RATE_MEASUREMENT_UUID).length &&
      sink.of(sensorIdOf(meter), 'power').length >= meter.deliveredNotifications(CYCLING_POWER_MEASUREMENT_UUID).length,
  );

  const stats = source.stats();
  assert.equal(stats.linkLosses, 3);
  assert.equal(stats.reconnects, 3);
  assert.equal(stats.refused + stats.handlerErrors, 0);
  const lostStrap = strap.notifications.filter((record) => record.deliveries.length === 0).length;
  const lostMeter = meter.notifications.filter((record) => record.deliveries.length === 0).length;
  t.diagnostic(`notifications lost in the air while links were down: strap ${lostStrap}, meter ${lostMeter}`);

  const strapDelivered = strap.deliveredNotifications(HEART_RATE_MEASUREMENT_UUID);
  const strapExpected = expectedReadings(strapDelivered, linkStartsOf(strapDelivered));
  assert.equal(sink.of(sensorIdOf(strap), 'heart_rate').length, strapDelivered.length, 'heart rate is one reading per delivered notification');
  assert.equal(sink.of(sensorIdOf(strap), 'heart_rate').length, strapExpected.get('heart_rate'));
  assert.equal(sink.of(sensorIdOf(strap), 'rr_interval').length, strapExpected.get('rr_interval') ?? 0);
  assert.deepEqual(
    sink.of(sensorIdOf(strap), 'heart_rate').map((reading) => reading.value),
    strapDelivered.map((record) => record.data[1]),
    'the same values in the same order',
  );

  const meterDelivered = meter.deliveredNotifications(CYCLING_POWER_MEASUREMENT_UUID);
  const meterExpected = expectedReadings(meterDelivered, linkStartsOf(meterDelivered));
  assert.equal(sink.of(sensorIdOf(meter), 'power').length, meterDelivered.length);
  assert.equal(sink.of(sensorIdOf(meter), 'power').length, meterExpected.get('power'));
  // Cadence needs two crank events of the same link: the first notification of each link gives none.
  assert.equal(sink.of(sensorIdOf(meter), 'cadence').length, meterExpected.get('cadence') ?? 0);
  assert.ok((meterExpected.get('cadence') ?? 0) > 0);
});

test('a sensor gone for good is not retried until it is heard again; the next sensor on the adapter connects at once', { timeout: 20_000 }, async (t) => {
  const world = new FakeBleWorld();
  const gone = world.add(heartRateStrap({ seed: 35, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const next = heartRateStrap({ seed: 36, notifyIntervalMs: 100, advertisingIntervalMs: 50 });
  const { source, sink } = await hciRig(t, world, { allow: [sensorIdOf(gone), sensorIdOf(next)], connectTimeoutMs: 1_000 });
  const adapter = world.adapter(0);
  await until('the first strap reading', () => sink.of(sensorIdOf(gone)).length >= 2);

  gone.dropLink({ detectAfterMs: 50 });
  await until('the link loss', () => source.stats().linkLosses === 1);
  // Asserts that nothing happens in this window: no attempt while nobody hears the strap.
  await sleep(1_000);
  assert.equal(commandsNamed(adapter, 'leCreateConnection'), 1, 'no attempt at a sensor nobody has heard since the loss');
  assert.equal(stateOf(source, gone), 'backoff');

  const addedAt = performance.now();
  world.add(next);
  await until('the next strap reading', () => sink.of(sensorIdOf(next)).length >= 1, 2_000);
  assert.ok(performance.now() - addedAt < 1_000, 'the next strap did not wait for a connect timeout');
  assert.equal(source.stats().connectTimeouts, 0);
});

test('a reconnect to a sensor that vanishes again times out, is cancelled once, and the next sensor connects', { timeout: 20_000 }, async (t) => {
  const world = new FakeBleWorld();
  const gone = world.add(heartRateStrap({ seed: 37, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const next = heartRateStrap({ seed: 38, notifyIntervalMs: 100, advertisingIntervalMs: 50 });
  const attempts = watchConnectionAttempts(world, [gone, next]);
  const { source, sink } = await hciRig(t, world, { allow: [sensorIdOf(gone), sensorIdOf(next)], connectTimeoutMs: 1_000 });
  const adapter = world.adapter(0);
  await until('the first strap reading', () => sink.of(sensorIdOf(gone)).length >= 2);

  gone.dropLink({ detectAfterMs: 50 });
  await until('the link loss', () => source.stats().linkLosses === 1);
  // The strap is heard once more and then leaves for good just as the source connects: the LE Create
  // Connection stays pending at the controller, as it does for a sensor that stopped advertising.
  const fromHost = adapter.fromHost.bind(adapter);
  adapter.fromHost = (packet, origin) => {
    if (packet[0] === PacketType.command && packet.length >= 3 && packet.readUInt16LE(1) === Opcode.leCreateConnection) gone.stopAdvertising();
    fromHost(packet, origin);
  };
  // Back at once: its backoff holds the attempt until it expires, and the attempt is when it leaves.
  gone.comeBack();
  await until('the reconnect attempt', () => commandsNamed(adapter, 'leCreateConnection') === 2, 2_000);
  adapter.fromHost = fromHost;
  world.add(next);
  await until('the next strap reading', () => sink.of(sensorIdOf(next)).length >= 2, 4_000);

  const stats = source.stats();
  assert.equal(stats.connectTimeouts, 1);
  assert.equal(commandsNamed(adapter, 'leCreateConnectionCancel'), 1, 'the timed-out attempt cancelled exactly once');
  assert.equal(adapter.counters.connectionTimeouts, 0, 'no attempt was left to the controller timeout');
  assert.equal(attempts.maxOutstanding.get(0), 1, 'the next strap waited for the cancel');
  await until('the vanished strap in backoff', () => stateOf(source, gone) === 'backoff');
  assert.match(source.health().devices?.find((device) => device.id === sensorIdOf(gone))?.detail ?? '', /timed out after 1000 ms waiting for connection/);
});

test('a connected sensor no longer advertises: health shows the RSSI read from its link (HCI Read RSSI)', { timeout: 20_000 }, async (t) => {
  const world = new FakeBleWorld();
  const strap = world.add(heartRateStrap({ seed: 39, notifyIntervalMs: 100, advertisingIntervalMs: 50, rssi: -70, rssiJitter: 0 }));
  const { source } = await hciRig(t, world, { allow: [sensorIdOf(strap)] });
  const adapter = world.adapter(0);
  const rssiOf = (): number | null | undefined => source.health().devices?.find((device) => device.id === sensorIdOf(strap))?.rssi;
  await until('the strap connected', () => connected(source, strap));
  assert.equal(rssiOf(), -70, 'from its adverts before the connection');

  strap.setRssi(-48);
  await until('the link RSSI in health', () => rssiOf() === -48, 10_000);
  assert.ok(commandsNamed(adapter, 'readRssi') >= 1);
  assert.ok(connected(source, strap));
});

test('silence watchdog: a silent connected sensor is disconnected and reconnected, and reads again after resume()', { timeout: 20_000 }, async (t) => {
  const world = new FakeBleWorld();
  const strap = world.add(heartRateStrap({ seed: 41, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  // The adapter watchdog has its own test; here only the sensor's silence is under test.
  const { source, sink } = await hciRig(t, world, { allow: [sensorIdOf(strap)], silenceTimeoutMs: 1_500, adapterSilenceMs: 60_000 });
  const adapter = world.adapter(0);
  const id = sensorIdOf(strap);
  await until('strap readings', () => sink.of(id, 'heart_rate').length >= 3);

  strap.silence();
  const silencedAt = performance.now();
  await until('the silence watchdog', () => source.stats().silentSensors >= 1, 4_000);
  const firedAfterMs = performance.now() - silencedAt;
  assert.ok(firedAfterMs >= 1_300, `fired after ${Math.round(firedAfterMs)} ms, not before the 1500 ms silence timeout`);
  await until('the Disconnect command', () => commandsNamed(adapter, 'disconnect') >= 1, 2_000);
  await until('the strap reconnected', () => adapter.counters.connectionsEstablished >= 2 && connected(source, strap), 4_000);
  const readingsBefore = sink.of(id, 'heart_rate').length;

  strap.resume();
  await until('readings after resume()', () => sink.of(id, 'heart_rate').length >= readingsBefore + 3, 3_000);
  assert.equal(source.stats().reconnects, adapter.counters.connectionsEstablished - 1);
  assert.equal(source.stats().adapterResets, 0);
});

test('adapter watchdog: a wedged adapter is reset (HCI Reset), a new stack comes up and the sensors come back', { timeout: 25_000 }, async (t) => {
  const world = new FakeBleWorld();
  const strap = world.add(heartRateStrap({ seed: 51, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const meter = world.add(powerMeter({ seed: 52, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const { source, sink } = await hciRig(t, world, { allow: [sensorIdOf(strap), sensorIdOf(meter)], silenceTimeoutMs: 10_000, adapterSilenceMs: 2_000 });
  const adapter = world.adapter(0);
  await until('both connected and reading', () => sink.of(sensorIdOf(strap)).length >= 2 && sink.of(sensorIdOf(meter)).length >= 2);

  world.wedgeAdapter(0);
  const wedgedAt = performance.now();
  await until('the adapter reset', () => adapter.counters.resets >= 1, 5_000);
  const resetAfterMs = performance.now() - wedgedAt;
  assert.ok(resetAfterMs >= 1_800, `reset after ${Math.round(resetAfterMs)} ms, not before the 2000 ms adapter silence`);
  assert.ok(source.stats().adapterResets >= 1);
  const counts = { strap: sink.of(sensorIdOf(strap)).length, meter: sink.of(sensorIdOf(meter)).length };
  await until('both sensors reading again', () => sink.of(sensorIdOf(strap)).length >= counts.strap + 3 && sink.of(sensorIdOf(meter)).length >= counts.meter + 3, 8_000);
  assert.equal(source.health().state, 'running');
  assert.equal(source.stats().adapters[0]?.state, 'scanning');
  assert.equal(adapter.isWedged, false);
  assert.equal(source.stats().adapterResets, 1, 'one reset cured it');
});

test('a flood of 5000 random-address advertisers: bounded memory, no connection attempt to any of them, the real sensor keeps delivering', { timeout: 60_000 }, async (t) => {
  const world = new FakeBleWorld();
  const strap = world.add(heartRateStrap({ seed: 61, notifyIntervalMs: 100, advertisingIntervalMs: 100 }));
  const capacity = 256;
  // Every advert reaches the source, not only those naming a profile service: the hardest case for memory.
  const { source, sink } = await hciRig(t, world, { permitJoinSeconds: 600, scanAllAdverts: true, seenDevicesCapacity: capacity, adapterSilenceMs: 60_000 });
  const adapter = world.adapter(0);
  const id = sensorIdOf(strap);
  await until('strap readings', () => sink.of(id, 'heart_rate').length >= 3);

  const gc = exposeGc();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const readingsBefore = sink.of(id, 'heart_rate').length;
  // 10 000 advertising events over about two seconds, time-sliced like a real radio delivers them.
  let flood: Flood | undefined = world.flood(5000, { rounds: 2, eventsPerTick: 50, tickMs: 10, seed: 7 });
  await withTimeout(flood.finished, 20_000, 'the flood to finish');
  const advertisingEvents = flood.advertisingEvents;
  // The fake's own 5000 advertisers must not count as the source's memory.
  flood = undefined;
  const deliveredDuringFlood = strap.deliveredNotifications(HEART_RATE_MEASUREMENT_UUID).length;
  await until('the source to hear the whole flood', () => source.stats().adverts >= 10_000, 3_000);
  const stats = source.stats();
  gc();
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  t.diagnostic(`flood: ${advertisingEvents} advertising events, heap growth ${(heapGrowth / 1e6).toFixed(2)} MB, noble holds ${stats.adapters[0]?.noblePeripherals} peripherals`);

  assert.equal(advertisingEvents, 10_000, 'the whole flood was sent');
  assert.ok(stats.adverts >= 10_000, `the source heard the flood (${stats.adverts} adverts)`);
  assert.equal(stats.seenDevices, capacity, 'seen-device memory at its cap');
  assert.ok(stats.forgottenDevices >= 5000 - capacity, `forgot ${stats.forgottenDevices}`);
  assert.ok((stats.adapters[0]?.noblePeripherals ?? Infinity) <= capacity + 1, `noble holds ${stats.adapters[0]?.noblePeripherals} peripherals`);
  // About 1 MB here; without the seen-device memory forgetting, noble alone grows by about 8 MB.
  assert.ok(heapGrowth < 4e6, `heap grew ${(heapGrowth / 1e6).toFixed(1)} MB`);
  assert.equal(source.health().sensors, 1, 'no flood device became a sensor, permit-join open or not');
  assert.equal(adapter.counters.connectionsAttempted, 1, 'zero connection attempts to flood devices');
  assert.equal(stats.connectAttempts, 1);
  assert.ok(
    deliveredDuringFlood >= readingsBefore + 10,
    `the strap kept delivering during the flood (${readingsBefore} readings before, ${deliveredDuringFlood} notifications at its end)`,
  );
  strap.silence();
  await until('every delivered notification decoded', () => sink.of(id, 'heart_rate').length >= strap.deliveredNotifications(HEART_RATE_MEASUREMENT_UUID).length);
  assert.equal(sink.of(id, 'heart_rate').length, strap.deliveredNotifications(HEART_RATE_MEASUREMENT_UUID).length, 'every notification became a reading');
  assert.equal(stats.refused + stats.handlerErrors, 0);
});

test("a flood under the default service filter never reaches noble's device table, and the GAP layer's memory of it is pruned", { timeout: 60_000 }, async (t) => {
  const world = new FakeBleWorld();
  const strap = world.add(heartRateStrap({ seed: 65, notifyIntervalMs: 100, advertisingIntervalMs: 100 }));
  const capacity = 256;
  const { source, sink } = await hciRig(t, world, { permitJoinSeconds: 600, seenDevicesCapacity: capacity, adapterSilenceMs: 60_000 });
  const id = sensorIdOf(strap);
  await until('strap readings', () => sink.of(id, 'heart_rate').length >= 3);
  const flood = world.flood(5000, { rounds: 2, eventsPerTick: 50, tickMs: 10, seed: 9 });
  await withTimeout(flood.finished, 20_000, 'the flood to finish');
  // The watchdog tick prunes.
  await until('the GAP layer pruned', () => source.stats().prunedAdvertisingEntries >= 5000 - capacity, 3_000);
  const stats = source.stats();
  assert.equal(stats.unsupportedAdverts, 0, 'noble filtered the flood before the source');
  assert.equal(stats.adapters[0]?.noblePeripherals, 1, 'noble made an object for the strap only');
  assert.ok(stats.prunedAdvertisingEntries >= 5000 - capacity, `pruned ${stats.prunedAdvertisingEntries} GAP entries`);
  assert.equal(world.adapter(0).counters.connectionsAttempted, 1);
  assert.equal(source.health().sensors, 1);
  assert.ok(sink.of(id, 'heart_rate').length >= 10, 'the strap kept delivering');
});

test('malformed notifications are counted and skipped: refused grows by exactly what was sent, valid readings continue', { timeout: 20_000 }, async (t) => {
  const world = new FakeBleWorld();
  const strap = world.add(heartRateStrap({ seed: 71, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const meter = world.add(powerMeter({ seed: 72, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const { source, sink } = await hciRig(t, world, { allow: [sensorIdOf(strap), sensorIdOf(meter)] });
  await until('both reading', () => sink.of(sensorIdOf(strap), 'heart_rate').length >= 2 && sink.of(sensorIdOf(meter), 'power').length >= 2);

  const malformed: [SimulatedPeripheral, string, number[]][] = [
    [strap, HEART_RATE_MEASUREMENT_UUID, []], // empty
    [strap, HEART_RATE_MEASUREMENT_UUID, [0x01, 0x48]], // 16-bit heart rate flagged, one byte sent
    [strap, HEART_RATE_MEASUREMENT_UUID, [0x80, 0x48]], // reserved flag bit
    [strap, HEART_RATE_MEASUREMENT_UUID, [0x10, 0x48, 0x00]], // RR flagged, odd RR bytes
    [strap, HEART_RATE_MEASUREMENT_UUID, [0x00, 0x48, 0x01, 0x02]], // bytes after the last field
    [meter, CYCLING_POWER_MEASUREMENT_UUID, [0x20]], // shorter than its flags
    [meter, CYCLING_POWER_MEASUREMENT_UUID, [0x20, 0x00, 0xc8, 0x00, 0x01, 0x00]], // crank data flagged, missing
    [meter, CYCLING_POWER_MEASUREMENT_UUID, [0x00, 0x00, 0xc8, 0x00, 0x00]], // one byte too many
    [meter, CYCLING_POWER_MEASUREMENT_UUID, [0x00, 0x80, 0xc8, 0x00]], // reserved flag bits
  ];
  const before = { stats: source.stats(), health: source.health() };
  const valid = { strap: sink.of(sensorIdOf(strap), 'heart_rate').length, meter: sink.of(sensorIdOf(meter), 'power').length };
  for (const [index, [peripheral, uuid, bytes]] of malformed.entries()) {
    const record = peripheral.sendRaw(uuid, Uint8Array.from(bytes));
    assert.equal(record.deliveries.length, 1, `${peripheral.name}: the raw notification went out on the link`);
    await until(`malformed notification ${index} refused`, () => source.stats().refused >= before.stats.refused + index + 1, 3_000);
  }
  await until('every malformed notification refused', () => source.stats().refused >= before.stats.refused + malformed.length, 3_000);
  await until(
    'valid readings after them',
    () => sink.of(sensorIdOf(strap), 'heart_rate').length >= valid.strap + 3 && sink.of(sensorIdOf(meter), 'power').length >= valid.meter + 3,
  );
  // Asserts that nothing happens in this window: no late refusal or link loss after the valid readings.
  await sleep(100);
  const after = { stats: source.stats(), health: source.health() };
  assert.equal(after.stats.refused - before.stats.refused, malformed.length, 'refused grows by exactly the number sent');
  assert.equal(after.health.rejected - before.health.rejected, malformed.length, 'health rejected too');
  assert.equal(after.stats.handlerErrors, 0);
  assert.equal(after.stats.linkLosses, 0, 'no link was dropped over bad data');
  assert.ok(connected(source, strap) && connected(source, meter));
  // Nothing of the malformed payloads leaked into readings: every heart rate matches a well-formed notification.
  const wellFormed = strap.deliveredNotifications(HEART_RATE_MEASUREMENT_UUID).filter((record) => record.kind === 'notification');
  assert.deepEqual(
    sink.of(sensorIdOf(strap), 'heart_rate').map((reading) => reading.value),
    wellFormed.slice(0, sink.of(sensorIdOf(strap), 'heart_rate').length).map((record) => record.data[1]),
  );
});

test('two adapters each hear only their own peripherals, and each sensor is linked through the adapter that hears it', { timeout: 20_000 }, async (t) => {
  const world = new FakeBleWorld({ adapters: [{ id: 0 }, { id: 1 }] });
  const near0 = world.add(heartRateStrap({ seed: 81, notifyIntervalMs: 100, advertisingIntervalMs: 50 }), { adapters: [0] });
  const near1 = world.add(powerMeter({ seed: 82, notifyIntervalMs: 100, advertisingIntervalMs: 50 }), { adapters: [1] });
  const { source, sink } = await hciRig(t, world, { adapters: [0, 1], allow: [sensorIdOf(near0), sensorIdOf(near1)] });
  assert.equal(source.health().state, 'running');
  await until('both reading', () => sink.of(sensorIdOf(near0)).length >= 2 && sink.of(sensorIdOf(near1)).length >= 2);
  const adapterOf = (peripheral: SimulatedPeripheral): string | null | undefined => source.health().devices?.find((device) => device.id === sensorIdOf(peripheral))?.adapter;
  assert.equal(adapterOf(near0), 'hci0');
  assert.equal(adapterOf(near1), 'hci1');
  assert.equal(world.adapter(0).counters.connectionsEstablished, 1);
  assert.equal(world.adapter(1).counters.connectionsEstablished, 1);
  assert.deepEqual(
    world
      .adapter(0)
      .connections()
      .map((link) => link.peripheral),
    [near0],
  );
  assert.deepEqual(
    world
      .adapter(1)
      .connections()
      .map((link) => link.peripheral),
    [near1],
  );
});

test('an adapter the machine does not have: unavailable with the reason, or degraded next to one that works', { timeout: 20_000 }, async (t) => {
  const world = new FakeBleWorld({ adapters: [{ id: 0 }] });
  const strap = world.add(heartRateStrap({ seed: 91, notifyIntervalMs: 100, advertisingIntervalMs: 50 }));
  const { source, sink } = await hciRig(t, world, { adapters: [0, 3], allow: [sensorIdOf(strap)] });
  const health = source.health();
  assert.equal(health.state, 'degraded');
  assert.match(health.detail ?? '', /hci3/);
  const views = source.stats().adapters;
  assert.equal(views[0]?.state, 'scanning');
  assert.equal(views[1]?.state, 'unavailable');
  assert.match(views[1]?.detail ?? '', /Bluetooth unavailable on hci3/);
  await until('the working adapter still reads', () => sink.of(sensorIdOf(strap), 'heart_rate').length >= 2);

  // A second source in the same world: only one world can be started at a time.
  const { source: lonely } = await hciRig(t, world, { adapters: [5] });
  const alone = lonely.health();
  assert.equal(alone.state, 'unavailable');
  assert.match(alone.detail ?? '', /Bluetooth unavailable on hci5/);
  t.diagnostic(alone.detail ?? '');
});
