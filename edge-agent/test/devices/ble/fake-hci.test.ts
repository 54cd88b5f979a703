/**
 * noble's real Linux stack (lib/hci-socket/*.js, unmodified) against the fake HCI controller: adapter
 * bring-up, scanning, connections, GATT, notifications, link loss, per-adapter limits and floods. Recovery,
 * FTMS, broadcast straps and whole processes are in fake-hci-recovery.test.ts.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Peripheral } from '@abandonware/noble';
import { FakeHciSocket } from './hci-socket.ts';
import Module from 'node:module';
import { HCI_SOCKET_MODULE, install, isInstalled } from './install.ts';
import { until, withTimeout } from '@pulsebridge/runtime';
import { byAddress, createNoble, discover, poweredOn, sleep, untilSettled, waitFor, type Noble } from './noble-harness.ts';
import { heartRateStrap, powerMeter, smartBike, speedCadenceSensor, treadmill } from './peripherals/index.ts';
import { cachedCharacteristics, characteristic, connectAndDiscover, here, subscribedToStrap, worldFor } from './fake-hci-fixtures.ts';

// Every noble instance adds process 'exit' and 'SIGINT' listeners; this file creates more than ten.
process.setMaxListeners(40);

const requireCjs = createRequire(import.meta.url);

before(() => install());

describe('fake HCI controller under noble', () => {
  test('the redirected module is the fake socket and noble powers on through it', { timeout: 10_000 }, async (t) => {
    assert.equal(requireCjs.resolve(HCI_SOCKET_MODULE), join(here, 'hci-socket.cts'));
    assert.equal(requireCjs(HCI_SOCKET_MODULE), FakeHciSocket);
    const resolver = (Module as unknown as { _resolveFilename: unknown })._resolveFilename;
    install();
    assert.equal((Module as unknown as { _resolveFilename: unknown })._resolveFilename, resolver, 'a second install() changes nothing');
    assert.equal(isInstalled(), true);

    const world = worldFor(t, { adapters: [{ id: 0, address: '00:1a:7d:da:71:aa' }] }).start();
    const noble = createNoble(0);
    const address = waitFor<[string]>(noble, 'addressChange', 'the adapter address', 3000).catch(() => undefined);
    await poweredOn(noble);
    await address;
    assert.equal(noble.address, '00:1a:7d:da:71:aa');
    const sent = world.adapter(0).commandLog.map((entry) => entry.name);
    for (const name of [
      'setEventMask',
      'leSetEventMask',
      'readLocalVersion',
      'writeLeHostSupported',
      'readLeHostSupported',
      'leReadBufferSize',
      'readBdAddr',
      'leSetScanParameters',
    ]) {
      assert.ok(sent.includes(name), `noble sent ${name} (sent: ${sent.join(', ')})`);
    }
    assert.equal(world.adapter(0).counters.unknownCommands, 0);
  });

  test('scanning reports name, service UUIDs, manufacturer and service data, address type and RSSI', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t);
    const strap = world.add(heartRateStrap({ seed: 11, rssi: -67, rssiJitter: 2, advertisingIntervalMs: 20 }));
    const meter = world.add(powerMeter({ seed: 12, rssi: -80, advertisingIntervalMs: 20 }));
    const csc = world.add(speedCadenceSensor({ seed: 13, advertisingIntervalMs: 20 }));
    const mill = world.add(treadmill({ seed: 14, advertisingIntervalMs: 20 }));
    world.start();
    const noble = createNoble(0);
    await poweredOn(noble);

    const seen = new Map<string, Peripheral>();
    noble.on('discover', (peripheral: Peripheral) => seen.set(peripheral.address, peripheral));
    await noble.startScanningAsync([], false);
    await until('all four scan responses', () => [strap, meter, csc, mill].every((p) => seen.get(p.address)?.advertisement.localName !== undefined), 3000);
    await noble.stopScanningAsync();

    const s = seen.get(strap.address);
    assert.ok(s);
    assert.equal(s.advertisement.localName, strap.name);
    assert.deepEqual(s.advertisement.serviceUuids, ['180d', '180f']);
    assert.equal(s.addressType, 'random');
    assert.equal(s.connectable, true);
    assert.ok(s.rssi >= -69 && s.rssi <= -65, `strap RSSI ${s.rssi} within -67 ± 2`);
    const m = seen.get(meter.address);
    assert.ok(m);
    assert.equal(m.addressType, 'public');
    assert.deepEqual(m.advertisement.serviceUuids, ['1818']);
    assert.ok(m.rssi <= -78 && m.rssi >= -82);
    assert.deepEqual(seen.get(csc.address)?.advertisement.manufacturerData, Buffer.from([0x59, 0x00, 0x43, 0x53, 0x01]));
    assert.deepEqual(seen.get(mill.address)?.advertisement.serviceData, [{ uuid: '1826', data: Buffer.from([0x01, 0x01, 0x00]) }]);
  });

  test('duplicate filtering is honoured: one report per PDU type until scanning restarts, every advert without it', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t);
    world.add(heartRateStrap({ seed: 21, advertisingIntervalMs: 10 }));
    world.start();
    const adapter = world.adapter(0);
    const noble = createNoble(0);
    await poweredOn(noble);

    await noble.startScanningAsync([], false);
    await until('the first advertising reports', () => adapter.counters.advertisingReports >= 2, 1_000);
    // Asserts that nothing happens in this window: the duplicate filter lets no further report through.
    await sleep(300);
    await noble.stopScanningAsync();
    const filtered = adapter.counters.advertisingReports;
    assert.equal(filtered, 2, 'ADV_IND and SCAN_RSP once each');

    await noble.startScanningAsync([], true);
    await until('reports of every advertising event', () => adapter.counters.advertisingReports - filtered >= 20, 2_000);
    await noble.stopScanningAsync();
    const unfiltered = adapter.counters.advertisingReports - filtered;
    assert.ok(unfiltered >= 20, `about 30 advertising events x 2 reports without the filter, got ${unfiltered}`);
  });

  test('connect, discover GATT, read battery and device information, write the control point', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t);
    const strap = world.add(heartRateStrap({ seed: 31, battery: 42, rssi: -55, rssiJitter: 0 }));
    world.start();
    const noble = createNoble(0);
    await poweredOn(noble);
    const peripheral = await discover(noble, byAddress(strap.address), 'the heart-rate strap');
    const characteristics = await connectAndDiscover(peripheral);

    assert.deepEqual(
      peripheral.services.map((service) => service.uuid),
      ['1800', '1801', '180d', '180f', '180a'],
    );
    assert.deepEqual(await characteristic(characteristics, '2a19').readAsync(), Buffer.from([42]));
    assert.equal((await characteristic(characteristics, '2a29').readAsync()).toString(), 'Pulsebridge Sim');
    assert.equal((await characteristic(characteristics, '2a24').readAsync()).toString(), 'HRM-SIM 2');
    assert.match((await characteristic(characteristics, '2a25').readAsync()).toString(), /^01\d{10}$/);
    assert.equal((await characteristic(characteristics, '2a26').readAsync()).toString(), '3.1.4');
    assert.equal((await characteristic(characteristics, '2a00').readAsync()).toString(), strap.name);
    assert.deepEqual(await characteristic(characteristics, '2a38').readAsync(), Buffer.from([0x01]));

    await withTimeout(characteristic(characteristics, '2a39').writeAsync(Buffer.from([0x01]), false), 1000, 'control point write');
    assert.deepEqual(
      strap.writes.map((write) => ({ uuid: write.uuid, data: write.data.toString('hex'), withResponse: write.withResponse })),
      [{ uuid: '2a39', data: '01', withResponse: true }],
    );
    assert.equal(await withTimeout(peripheral.updateRssiAsync(), 1000, 'RSSI read'), -55);
    strap.setRssi(-90);
    assert.equal(await withTimeout(peripheral.updateRssiAsync(), 1000, 'RSSI read after the strap moved away'), -90);

    const [link] = world.adapter(0).connections();
    assert.equal(link?.att.mtu, 247, 'noble asks for 256, the strap offers 247');

    const disconnected = waitFor<[number]>(peripheral, 'disconnect', 'disconnect', 1000);
    await peripheral.disconnectAsync();
    const [reason] = await disconnected;
    assert.equal(reason, 0x16, 'local host terminated');
    assert.equal(strap.connectionCount, 0);
    assert.equal(strap.isAdvertising(), true);
    const { aclBufferOverruns, aclOversizedPackets, protocolErrors } = world.adapter(0).counters;
    assert.deepEqual({ aclBufferOverruns, aclOversizedPackets, protocolErrors }, { aclBufferOverruns: 0, aclOversizedPackets: 0, protocolErrors: 0 });
  });

  test('every notification the strap sent reaches noble once, byte-identical', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t, { adapters: [{ id: 0, aclPacketCount: 2 }] });
    const strap = world.add(heartRateStrap({ seed: 41, notifyIntervalMs: 10, energyExpended: true, heartRate: 150 }));
    world.start();
    const { measurement, received } = await subscribedToStrap(strap);
    await until('60 heart-rate notifications', () => received.length >= 60, 5000);
    await measurement.unsubscribeAsync();
    await until('every delivered notification received', () => received.length >= strap.deliveredNotifications('2a37').length, 1_000);

    const sent = strap.deliveredNotifications('2a37');
    assert.equal(received.length, sent.length);
    assert.deepEqual(
      received.map((data) => data.toString('hex')),
      sent.map((record) => record.data.toString('hex')),
    );
    assert.ok(sent.every((record) => record.deliveries.length === 1 && record.deliveries[0]?.adapterId === 0));
    assert.ok(
      sent.some((record) => ((record.data[0] ?? 0) & 0x10) !== 0),
      'some carry RR intervals',
    );
    assert.equal(strap.isSubscribed('2a37'), false);
    assert.equal(world.adapter(0).counters.aclBufferOverruns, 0);
  });

  test('dropLink() gives noble a disconnect with 0x08 after the supervision timeout, and the strap comes back', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t);
    const strap = world.add(heartRateStrap({ seed: 51, notifyIntervalMs: 20, advertisingIntervalMs: 20 }));
    world.start();
    const { noble, peripheral, received } = await subscribedToStrap(strap);
    await until('first notifications', () => received.length >= 3, 2000);

    const disconnected = waitFor<[number]>(peripheral, 'disconnect', 'disconnect after the link dropped', 3000);
    const droppedAt = Date.now();
    strap.dropLink({ returnAfterMs: 600 });
    const countAtDrop = received.length;
    const [reason] = await disconnected;
    const detectedAfterMs = Date.now() - droppedAt;
    assert.equal(reason, 0x08);
    assert.ok(detectedAfterMs >= 400, `noticed after the 420 ms supervision timeout noble asked for, took ${detectedAfterMs} ms`);
    assert.ok(received.length <= countAtDrop + 1, 'nothing gets through a lost link');
    assert.equal(strap.isAdvertising(), false, 'out of range');

    const again = await discover(noble, byAddress(strap.address), 'the strap back in range', { timeoutMs: 3000 });
    await withTimeout(again.connectAsync(), 2000, 'reconnection');
    assert.equal(strap.connectionCount, 1);
  });

  test('silence() keeps the link but sends nothing; resume() and sendRaw() deliver again', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t);
    const strap = world.add(heartRateStrap({ seed: 61, notifyIntervalMs: 20 }));
    world.start();
    const { peripheral, received } = await subscribedToStrap(strap);
    await until('first notifications', () => received.length >= 3, 2000);

    strap.silence();
    await untilSettled('notifications sent before the silence to arrive', () => received.length);
    const atSilence = received.length;
    // Asserts that nothing happens in this window: a silenced sensor sends nothing.
    await sleep(250);
    assert.equal(received.length, atSilence, 'a silenced sensor sends nothing');
    assert.equal(peripheral.state, 'connected');
    assert.deepEqual(await characteristic(cachedCharacteristics(peripheral), '2a19').readAsync(), Buffer.from([87]), 'still answers reads');

    const malformed = Buffer.from([0x17, 0x01, 0x01]);
    strap.sendRaw('2a37', malformed);
    await until('the raw notification', () => received.length === atSilence + 1, 1000);
    assert.deepEqual(received.at(-1), malformed);

    strap.resume();
    await until('notifications after resume()', () => received.length >= atSilence + 4, 2000);
  });

  test('each adapter hears only its own peripherals and enforces its own connection limit', { timeout: 15_000 }, async (t) => {
    const world = worldFor(t, { adapters: [{ id: 0 }, { id: 1, connectionLimit: 1 }] });
    const onlyZero = world.add(heartRateStrap({ seed: 71, advertisingIntervalMs: 20 }), { adapters: [0] });
    const firstOnOne = world.add(heartRateStrap({ seed: 72, advertisingIntervalMs: 20 }), { adapters: [1] });
    const secondOnOne = world.add(powerMeter({ seed: 73, advertisingIntervalMs: 20 }), { adapters: [1] });
    const both = world.add(smartBike({ seed: 74, advertisingIntervalMs: 20 }));
    world.start();
    const noble0 = createNoble(0);
    const noble1 = createNoble(1);
    await Promise.all([poweredOn(noble0), poweredOn(noble1)]);

    const heard = async (noble: Noble): Promise<Set<string>> => {
      const addresses = new Set<string>();
      const listener = (peripheral: Peripheral): void => void addresses.add(peripheral.address);
      noble.on('discover', listener);
      await noble.startScanningAsync([], true);
      // Asserts that nothing happens in this window: an adapter hears no device outside its range.
      await sleep(400);
      await noble.stopScanningAsync();
      noble.removeListener('discover', listener);
      return addresses;
    };
    const [heard0, heard1] = await Promise.all([heard(noble0), heard(noble1)]);
    assert.deepEqual([...heard0].sort(), [onlyZero.address, both.address].sort());
    assert.deepEqual([...heard1].sort(), [firstOnOne.address, secondOnOne.address, both.address].sort());

    const first = await discover(noble1, byAddress(firstOnOne.address), 'first peripheral on hci1');
    await withTimeout(first.connectAsync(), 2000, 'first connection on hci1');
    const second = await discover(noble1, byAddress(secondOnOne.address), 'second peripheral on hci1');
    const refused = await withTimeout(
      second.connectAsync().then(
        () => undefined,
        (error: Error) => error,
      ),
      2000,
      'the refused connection',
    );
    assert.ok(refused instanceof Error, 'connect beyond the limit fails');
    assert.match(refused.message, /Connection Limit Exceeded \(0x9\)/);
    assert.equal(world.adapter(1).counters.connectionLimitRejections, 1);

    const zero = await discover(noble0, byAddress(onlyZero.address), 'the peripheral on hci0');
    await withTimeout(zero.connectAsync(), 2000, 'connection on hci0 while hci1 is full');
    assert.equal(world.adapter(0).activeConnections, 1);
    assert.equal(world.adapter(1).activeConnections, 1);
  });

  test('past the connection limit noble gets a connect error, and a freed slot can be used again', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t, { adapters: [{ id: 0, connectionLimit: 2 }] });
    const straps = [81, 82, 83].map((seed) => world.add(heartRateStrap({ seed, advertisingIntervalMs: 20 })));
    world.start();
    const noble = createNoble(0);
    await poweredOn(noble);
    const peripherals: Peripheral[] = [];
    for (const strap of straps) peripherals.push(await discover(noble, byAddress(strap.address), `strap ${strap.name}`));
    const [a, b, c] = peripherals;
    assert.ok(a && b && c);
    await withTimeout(a.connectAsync(), 2000, 'connection 1');
    await withTimeout(b.connectAsync(), 2000, 'connection 2');
    const error = await withTimeout(
      c.connectAsync().then(
        () => undefined,
        (failure: Error) => failure,
      ),
      2000,
      'connection 3',
    );
    assert.match(String(error), /Connection Limit Exceeded/);
    await a.disconnectAsync();
    await withTimeout(c.connectAsync(), 2000, 'connection 3 after a slot was freed');
    assert.equal(world.adapter(0).counters.connectionsEstablished, 3);
  });

  test('a connection to a silent peripheral fails when the kernel timeout passes; cancelConnect ends one early', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t, { adapters: [{ id: 0, connectTimeoutMs: 300 }] });
    const strap = world.add(heartRateStrap({ seed: 91, advertisingIntervalMs: 20 }));
    world.start();
    const noble = createNoble(0);
    await poweredOn(noble);
    const peripheral = await discover(noble, byAddress(strap.address), 'the strap');
    strap.stopAdvertising();
    const started = Date.now();
    const error = await withTimeout(
      peripheral.connectAsync().then(
        () => undefined,
        (failure: Error) => failure,
      ),
      2000,
      'the timed-out connection',
    );
    assert.match(String(error), /Unknown Connection Identifier \(0x2\)/);
    assert.ok(Date.now() - started >= 290);
    assert.equal(world.adapter(0).counters.connectionTimeouts, 1);

    const canceled = waitFor<[Error | undefined]>(peripheral, 'connect', 'the canceled connect', 1000);
    // noble fails the connect at once; the controller confirms the cancel with LE Connection Complete 0x02.
    const confirmed = waitFor<[Error | undefined]>(peripheral, 'connect', 'the controller confirming the cancel', 1000, (error) => /\(0x2\)/.test(String(error)));
    const attempted = world.adapter(0).counters.connectionsAttempted;
    peripheral.connect();
    await until('the connection attempt at the controller', () => world.adapter(0).counters.connectionsAttempted > attempted, 1_000);
    peripheral.cancelConnect();
    const [cancelError] = await canceled;
    assert.ok(cancelError instanceof Error);
    // The confirmation clears noble's pending slot.
    await confirmed;
    strap.startAdvertising();
    await withTimeout(peripheral.connectAsync(), 2000, 'a connection after the cancel');
    assert.equal(strap.connectionCount, 1);
  });

  test('a flood of 5000 advertisers is time-sliced; noble sees every one without its event loop stalling', { timeout: 30_000 }, async (t) => {
    const world = worldFor(t);
    const strap = world.add(heartRateStrap({ seed: 101, advertisingIntervalMs: 50 }));
    world.start();
    const noble = createNoble(0);
    await poweredOn(noble);
    const addresses = new Set<string>();
    noble.on('discover', (peripheral: Peripheral) => addresses.add(peripheral.address));

    let worstGapMs = 0;
    let last = performance.now();
    const monitor = setInterval(() => {
      const now = performance.now();
      worstGapMs = Math.max(worstGapMs, now - last);
      last = now;
    }, 10);
    t.after(() => clearInterval(monitor));

    await noble.startScanningAsync([], false);
    const started = performance.now();
    const flood = world.flood(5000, { eventsPerTick: 250, tickMs: 10 });
    await withTimeout(flood.finished, 15_000, 'the flood to finish');
    await until('noble to report every advertiser', () => addresses.size >= 5001, 5000);
    const elapsedMs = performance.now() - started;
    await noble.stopScanningAsync();
    clearInterval(monitor);

    assert.ok(addresses.has(strap.address));
    assert.ok(flood.advertisers.every((advertiser) => addresses.has(advertiser.address)));
    assert.ok(elapsedMs < 10_000, `5000 advertisers took ${Math.round(elapsedMs)} ms`);
    assert.ok(worstGapMs < 200, `the event loop stalled for ${Math.round(worstGapMs)} ms`);
    t.diagnostic(`flood of 5000: ${Math.round(elapsedMs)} ms, worst event-loop gap ${Math.round(worstGapMs)} ms`);

    // With a service filter, the flood is parsed but none of it reaches the application.
    const wanted = new Set<string>();
    const listener = (peripheral: Peripheral): void => void wanted.add(peripheral.address);
    noble.on('discover', listener);
    await noble.startScanningAsync(['180d'], true);
    await world.flood(2000, { eventsPerTick: 250, tickMs: 10, seed: 5 }).finished;
    await noble.stopScanningAsync();
    assert.deepEqual([...wanted], [strap.address]);
  });
});
