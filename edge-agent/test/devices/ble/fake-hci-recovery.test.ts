/**
 * noble's real Linux stack against the fake HCI controller, continued: a wedged or downed adapter and its
 * recovery, extended mode, FTMS control, broadcast straps, and the preload path a whole agent process uses.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Peripheral } from '@abandonware/noble';
import { install } from './install.ts';
import { settlesWithin, until, withTimeout } from '@pulsebridge/runtime';
import { byAddress, createNoble, discover, poweredOn, sleep, untilSettled, waitFor } from './noble-harness.ts';
import { heartRateStrap, polarBroadcastStrap, smartBike, POLAR_COMPANY_ID } from './peripherals/index.ts';
import { characteristic, collect, connectAndDiscover, here, runChild, subscribedToStrap, worldFor } from './fake-hci-fixtures.ts';

// Every noble instance adds process 'exit' and 'SIGINT' listeners; this file creates more than ten.
process.setMaxListeners(40);

before(() => install());

describe('fake HCI controller under noble: recovery, FTMS, processes', () => {
  test('a wedged adapter delivers nothing until noble.reset(); then scanning, reconnecting and notifications work', { timeout: 15_000 }, async (t) => {
    const world = worldFor(t);
    const strap = world.add(heartRateStrap({ seed: 111, notifyIntervalMs: 20, advertisingIntervalMs: 20 }));
    world.start();
    const adapter = world.adapter(0);
    const { noble, peripheral, received } = await subscribedToStrap(strap);
    await until('first notifications', () => received.length >= 3, 2000);

    world.wedgeAdapter(0);
    await untilSettled('notifications sent before the wedge to arrive', () => received.length);
    const atWedge = received.length;
    const lostBefore = strap.notifications.length;
    // Asserts that nothing happens in this window: the strap keeps sending, nothing reaches the host.
    await sleep(300);
    assert.equal(received.length, atWedge, 'nothing arrives from a wedged adapter');
    assert.ok(strap.notifications.length > lostBefore, 'the strap kept sending');
    assert.ok(
      strap.notifications.slice(lostBefore).every((record) => record.deliveries.length === 0),
      'and all of it was lost',
    );
    const scanRequests = adapter.counters.commandsIgnoredWhileWedged;
    noble.startScanning([], false);
    await until('the scan commands swallowed', () => adapter.counters.commandsIgnoredWhileWedged > scanRequests, 1_000);
    assert.ok(adapter.counters.commandsIgnoredWhileWedged > scanRequests, 'commands are swallowed');

    noble.reset();
    await until('the HCI Reset', () => adapter.counters.resets === 1 && !adapter.isWedged, 1000);
    assert.equal(strap.connectionCount, 0, 'the reset dropped the link without telling the host');
    assert.equal(peripheral.state, 'connected', 'noble never hears about a link lost to a reset');

    await noble.stopScanningAsync();
    const back = await discover(noble, byAddress(strap.address), 'the strap after the reset');
    assert.equal(back, peripheral, 'noble keeps the same Peripheral object');
    // disconnect() on the stale handle only gets Command Status 0x02, but it moves noble's state off 'connected'.
    peripheral.disconnect();
    const again = characteristic(await connectAndDiscover(peripheral), '2a37');
    const after = collect(again);
    await again.subscribeAsync();
    await until('notifications after recovery', () => after.length >= 5, 2000);
    const delivered = strap.deliveredNotifications('2a37').slice(-after.length);
    assert.deepEqual(
      after.map((data) => data.toString('hex')),
      delivered.map((record) => record.data.toString('hex')),
    );
  });

  test('a new noble instance on a wedged adapter never powers on until it resets the adapter', { timeout: 15_000 }, async (t) => {
    const world = worldFor(t);
    const strap = world.add(heartRateStrap({ seed: 121, advertisingIntervalMs: 20 }));
    world.start();
    world.wedgeAdapter(0);
    const noble = createNoble(0);
    const states: string[] = [];
    noble.on('stateChange', (state: string) => states.push(state));
    // Asserts that nothing happens in this window: past noble's 1 s device-up poll, still no state.
    await sleep(1300);
    assert.deepEqual(states, [], 'no answer to the init commands, not even poweredOff');

    noble.reset();
    await poweredOn(noble, 2000);
    const found = await discover(noble, byAddress(strap.address), 'the strap after the reset');
    await withTimeout(found.connectAsync(), 2000, 'connection after the reset');
    // noble reads the LE buffer size only during its first init, and the wedged adapter swallowed that
    // command: this instance never sends ACL data, so GATT requests hang. The source therefore resets the
    // old instance first and only then builds a new one.
    const discovery = found.discoverServicesAsync([]).then(() => 'done');
    discovery.catch(() => undefined);
    assert.equal(await settlesWithin(discovery, 500), false, 'service discovery hangs');
    assert.equal(world.adapter(0).counters.aclPacketsFromHost, 0);
  });

  test('recovering with a new instance works once the old one reset the adapter and its socket is stopped', { timeout: 15_000 }, async (t) => {
    const world = worldFor(t);
    const strap = world.add(heartRateStrap({ seed: 125, notifyIntervalMs: 20, advertisingIntervalMs: 20 }));
    world.start();
    const old = createNoble(0);
    await poweredOn(old);
    const peripheral = await discover(old, byAddress(strap.address), 'the strap');
    const measurement = characteristic(await connectAndDiscover(peripheral), '2a37');
    await measurement.subscribeAsync();
    world.wedgeAdapter(0);

    // The old instance resets the controller, then stops listening: raw HCI sockets all see every event,
    // so a second live instance on the same adapter would answer the new one's connections too.
    old.reset();
    old.removeAllListeners();
    (old as unknown as { _bindings: { _hci: { _socket: { stop(): void } } } })._bindings._hci._socket.stop();
    const replacement = createNoble(0);
    await poweredOn(replacement);
    assert.equal(world.adapter(0).isWedged, false);
    const again = await discover(replacement, byAddress(strap.address), 'the strap from the new instance');
    const fresh = characteristic(await connectAndDiscover(again), '2a37');
    const received = collect(fresh);
    await fresh.subscribeAsync();
    await until('notifications on the new instance', () => received.length >= 5, 2000);
  });

  test('an adapter taken down and up again: noble goes poweredOff, then re-initialises to poweredOn', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t);
    const strap = world.add(heartRateStrap({ seed: 131, advertisingIntervalMs: 20 }));
    world.start();
    const noble = createNoble(0);
    await poweredOn(noble);
    const peripheral = await discover(noble, byAddress(strap.address), 'the strap');
    await withTimeout(peripheral.connectAsync(), 2000, 'connection');

    const off = waitFor<[string]>(noble, 'stateChange', 'poweredOff', 3000, (state) => state === 'poweredOff');
    world.adapter(0).setPowered(false);
    await off;
    assert.equal(strap.connectionCount, 0);
    const on = waitFor<[string]>(noble, 'stateChange', 'poweredOn again', 3000, (state) => state === 'poweredOn');
    world.adapter(0).setPowered(true);
    await on;
    const found = await discover(noble, byAddress(strap.address), 'the strap after the power cycle');
    assert.equal(found.address, strap.address);
  });

  test('noble in extended mode uses the extended scan and connection commands', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t);
    const bike = world.add(smartBike({ seed: 141, advertisingIntervalMs: 20 }));
    world.start();
    const noble = createNoble(0, { extended: true });
    await poweredOn(noble);
    const peripheral = await discover(noble, (p) => p.advertisement.localName === bike.name, 'the bike by name');
    const characteristics = await connectAndDiscover(peripheral);
    assert.equal((await characteristic(characteristics, '2a24').readAsync()).toString(), 'BIKE-SIM S');
    const sent = new Set(world.adapter(0).commandLog.map((entry) => entry.name));
    for (const name of ['leSetDefaultPhy', 'leSetExtendedScanParameters', 'leSetExtendedScanEnable', 'leExtendedCreateConnection']) {
      assert.ok(sent.has(name), `extended mode sent ${name}`);
    }
  });

  test('FTMS: control point indications after taking control, status notifications, bike data', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t);
    const bike = world.add(smartBike({ seed: 151, notifyIntervalMs: 20 }));
    world.start();
    const noble = createNoble(0);
    await poweredOn(noble);
    const peripheral = await discover(noble, byAddress(bike.address), 'the bike');
    const characteristics = await connectAndDiscover(peripheral);
    const controlPoint = characteristic(characteristics, '2ad9');
    const status = characteristic(characteristics, '2ada');
    const data = characteristic(characteristics, '2ad2');
    const indications = collect(controlPoint);
    const statuses = collect(status);
    const bikeData = collect(data);
    await Promise.all([controlPoint.subscribeAsync(), status.subscribeAsync(), data.subscribeAsync()]);

    await controlPoint.writeAsync(Buffer.from([0x05, 0xfa, 0x00]), false);
    await until('the refusal', () => indications.length === 1, 1000);
    assert.deepEqual(indications[0], Buffer.from([0x80, 0x05, 0x05]), 'control not permitted before request control');
    await controlPoint.writeAsync(Buffer.from([0x00]), false);
    await controlPoint.writeAsync(Buffer.from([0x05, 0xfa, 0x00]), false);
    await until('the answers', () => indications.length === 3 && statuses.length >= 1, 1000);
    assert.deepEqual(indications.slice(1), [Buffer.from([0x80, 0x00, 0x01]), Buffer.from([0x80, 0x05, 0x01])]);
    assert.deepEqual(statuses[0], Buffer.from([0x08, 0xfa, 0x00]), 'target power changed to 250 W');
    await until('indoor bike data', () => bikeData.length >= 3, 1000);
    assert.ok(bikeData.every((value) => value.length === 8 && value.readUInt16LE(0) === 0x0044));
  });

  test('the Polar-style strap broadcasts heart rate in manufacturer data without a connection', { timeout: 10_000 }, async (t) => {
    const world = worldFor(t);
    const polar = world.add(polarBroadcastStrap({ seed: 161, notifyIntervalMs: 50, advertisingIntervalMs: 20, heartRate: 64 }));
    world.start();
    const noble = createNoble(0);
    await poweredOn(noble);
    const frames: Buffer[] = [];
    noble.on('discover', (peripheral: Peripheral) => {
      const data = peripheral.advertisement.manufacturerData;
      if (peripheral.address === polar.address && data !== undefined) frames.push(Buffer.from(data));
    });
    await noble.startScanningAsync([], true);
    await until('five distinct frames', () => new Set(frames.map((frame) => frame.toString('hex'))).size >= 5, 3000);
    await noble.stopScanningAsync();

    for (const frame of frames) {
      assert.equal(frame.readUInt16LE(0), POLAR_COMPANY_ID);
      assert.equal(frame.length, 14);
    }
    const distinct = [...new Set(frames.map((frame) => frame.toString('hex')))];
    const recorded = new Set(polar.deliveredNotifications('ff').map((record) => record.data.toString('hex')));
    assert.ok(
      distinct.every((frame) => recorded.has(frame)),
      'every frame noble saw is one the strap recorded as delivered',
    );
    assert.equal(world.adapter(0).counters.connectionsAttempted, 0);
  });

  test('install() refuses to run after the real socket module was loaded', { timeout: 20_000 }, async () => {
    const script = `
      try { require('@abandonware/noble'); } catch (error) { console.log('real socket: ' + error.code); }
      import(${JSON.stringify(join(here, 'install.ts'))}).then(
        ({ install }) => { install(); console.log('installed'); },
        (error) => console.log('install: ' + error.code),
      ).catch((error) => console.log('install: ' + error.code));
    `;
    const result = await runChild(['--import', 'tsx', '-e', script], {}, 15_000);
    assert.equal(result.timedOut, false, result.stderr);
    assert.match(result.stdout, /install: NOBLE_ALREADY_LOADED/);
  });

  test('world.close() lets a process that used noble exit on its own', { timeout: 20_000 }, async (t) => {
    const directory = mkdtempSync(join(tmpdir(), 'fake-ble-exit-'));
    t.after(() => rmSync(directory, { recursive: true, force: true }));
    const script = join(directory, 'exits.mts');
    writeFileSync(
      script,
      `
      import { install } from ${JSON.stringify(join(here, 'install.ts'))};
      import { FakeBleWorld } from ${JSON.stringify(join(here, 'world.ts'))};
      import { heartRateStrap } from ${JSON.stringify(join(here, 'peripherals', 'index.ts'))};
      import { until } from ${JSON.stringify(join(here, '..', '..', '..', '..', 'runtime', 'src', 'index.ts'))};
      import { createNoble, discover, poweredOn } from ${JSON.stringify(join(here, 'noble-harness.ts'))};
      install();
      const world = new FakeBleWorld();
      const strap = world.add(heartRateStrap({ seed: 171, notifyIntervalMs: 20 }));
      world.start();
      const noble = createNoble(0);
      await poweredOn(noble);
      const peripheral = await discover(noble, (p) => p.address === strap.address, 'strap');
      await peripheral.connectAsync();
      const [measurement] = (await peripheral.discoverSomeServicesAndCharacteristicsAsync(['180d'], ['2a37'])).characteristics;
      let count = 0;
      measurement.on('data', () => count++);
      await measurement.subscribeAsync();
      await until('notifications', () => count >= 3, 2000);
      world.close();
      console.log('closed after ' + count + ' notifications');
      `,
    );
    const result = await runChild(['--import', 'tsx', script], {}, 15_000);
    assert.equal(result.timedOut, false, `the child did not exit by itself: ${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /closed after \d+ notifications/);
  });

  test('the preload starts the scenario file in PB_FAKE_BLE_SCENARIO for a whole process', { timeout: 20_000 }, async (t) => {
    const directory = mkdtempSync(join(tmpdir(), 'fake-ble-preload-'));
    t.after(() => rmSync(directory, { recursive: true, force: true }));
    const scenario = join(directory, 'scenario.json');
    writeFileSync(
      scenario,
      JSON.stringify({
        adapters: [{ id: 0 }, { id: 1, connectionLimit: 2 }],
        peripherals: [
          { kind: 'heart-rate-strap', adapters: [1], options: { seed: 5, name: 'HRM-PRELOAD', battery: 66, advertisingIntervalMs: 20 } },
          { kind: 'polar-broadcast-strap', adapters: [0], options: { seed: 6 } },
        ],
        floods: [{ count: 50, adapters: [1] }],
      }),
    );
    // The agent's way in: the default noble export, adapter chosen by NOBLE_HCI_DEVICE_ID.
    const script = `
      const noble = require('@abandonware/noble');
      noble.on('stateChange', (state) => { if (state === 'poweredOn') noble.startScanning([], false); });
      noble.on('discover', async (peripheral) => {
        if (peripheral.advertisement.localName !== 'HRM-PRELOAD') return;
        noble.stopScanning();
        await peripheral.connectAsync();
        const { characteristics } = await peripheral.discoverSomeServicesAndCharacteristicsAsync(['180f'], ['2a19']);
        const battery = await characteristics[0].readAsync();
        console.log(JSON.stringify({ name: peripheral.advertisement.localName, uuids: peripheral.advertisement.serviceUuids, battery: battery[0] }));
        process.exit(0);
      });
    `;
    const preload = join(here, 'preload.ts');
    const result = await runChild(['--import', 'tsx', '--import', preload, '-e', script], { PB_FAKE_BLE_SCENARIO: scenario, NOBLE_HCI_DEVICE_ID: '1' }, 15_000);
    assert.equal(result.timedOut, false, `the child hung: ${result.stderr}`);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim()), { name: 'HRM-PRELOAD', uuids: ['180d', '180f'], battery: 66 });

    const broken = join(directory, 'broken.json');
    writeFileSync(
      broken,
      JSON.stringify({ adapters: [{ id: 0 }], peripherals: [{ kind: 'toaster' }, { kind: 'heart-rate-strap', adapters: [3], options: { heartRate: 'fast' } }] }),
    );
    const refused = await runChild(['--import', 'tsx', '--import', preload, '-e', 'console.log("should not run")'], { PB_FAKE_BLE_SCENARIO: broken }, 15_000);
    assert.notEqual(refused.code, 0);
    assert.doesNotMatch(refused.stdout, /should not run/);
    assert.match(refused.stderr, /invalid fake BLE scenario/);
    assert.match(refused.stderr, /\/peripherals\/0\/kind/);
    assert.match(refused.stderr, /\/peripherals\/1\/options\/heartRate/);
    assert.match(refused.stderr, /\/peripherals\/1\/adapters: no adapter 3/);
  });
});
