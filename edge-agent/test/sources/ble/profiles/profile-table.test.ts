import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BLE_PROFILE_TABLE,
  BLE_PROFILES,
  BLE_SCAN_SERVICES,
  isReadOnce,
  kindOfCharacteristics,
  kindOfServices,
  profileFor,
  shortUuid,
} from '../../../../src/sources/ble/profiles/index.ts';
import { values, wire } from './fixtures.ts';

test('the table covers every characteristic of the task, keyed by lower-case 16-bit UUID', () => {
  const expected = ['2a37', '2a19', '2a29', '2a24', '2a25', '2a26', '2a5b', '2a63', '2a53', '2acd', '2ad2', '2ad1', '2ace', '2ad0', '2acc', '2ada', '2ad3', '2ad6', '2ad8'];
  for (const uuid of expected) assert.ok(BLE_PROFILES.has(uuid), `missing ${uuid}`);
  for (const uuid of BLE_PROFILES.keys()) assert.match(uuid, /^[0-9a-f]{4}$/);
  const names = [...BLE_PROFILES.values()].map((profile) => profile.name);
  assert.equal(new Set(names).size, names.length, 'profile names are unique');
  const characteristics = BLE_PROFILE_TABLE.map((entry) => entry.characteristic);
  assert.equal(new Set(characteristics).size, characteristics.length, 'each characteristic has one entry');
});

test('every entry names a 16-bit service, and a characteristic that implies a kind sits in a scanned service', () => {
  for (const entry of BLE_PROFILE_TABLE) {
    assert.match(entry.service.uuid, /^[0-9a-f]{4}$/, entry.characteristic);
    if (entry.kind !== undefined)
      assert.ok(BLE_SCAN_SERVICES.includes(entry.service.uuid), `${entry.characteristic} implies ${entry.kind} but ${entry.service.uuid} is not scanned`);
  }
});

test('the scan services, kinds and read-once set all come from the table', () => {
  assert.deepEqual([...BLE_SCAN_SERVICES].sort(), ['180d', '1814', '1816', '1818', '1826']);
  // Battery and device information are read from sensors found by another service, never scanned for.
  assert.ok(!BLE_SCAN_SERVICES.includes('180f') && !BLE_SCAN_SERVICES.includes('180a'));
  assert.equal(kindOfServices(['180d', '1826']), 'fitness_machine');
  assert.equal(kindOfServices(['180d']), 'heart_rate');
  assert.equal(kindOfServices(['180f']), 'unknown');
  assert.equal(kindOfCharacteristics(['2a37', '2acd']), 'treadmill', 'the most specific characteristic decides');
  assert.equal(kindOfCharacteristics(['2a37', '2a19']), 'heart_rate');
  assert.equal(kindOfCharacteristics(['2ad0', '2ada']), 'stair_climber');
  assert.equal(kindOfCharacteristics(['2ada']), undefined, 'machine status alone says nothing about the machine');
  const readOnce = BLE_PROFILE_TABLE.filter((entry) => isReadOnce(entry.characteristic)).map((entry) => entry.characteristic);
  assert.deepEqual(readOnce.sort(), ['2a19', '2a24', '2a25', '2a26', '2a27', '2a28', '2a29', '2acc', '2ad6', '2ad8']);
  assert.equal(isReadOnce('2a37'), false);
  assert.equal(isReadOnce('ffff'), false);
});

test('UUIDs as noble, Web Bluetooth or people write them resolve to the same profile; vendor UUIDs do not', () => {
  assert.equal(shortUuid('2A37'), '2a37');
  assert.equal(shortUuid('0x2A37'), '2a37');
  assert.equal(shortUuid('00002a37-0000-1000-8000-00805f9b34fb'), '2a37');
  assert.equal(shortUuid('00002A3700001000800000805F9B34FB'), '2a37');
  assert.equal(shortUuid('6e400003-b5a3-f393-e0a9-e50e24dcca9e'), undefined);
  assert.equal(shortUuid('2a3'), undefined);
  assert.equal(profileFor('00002a37-0000-1000-8000-00805f9b34fb'), BLE_PROFILES.get('2a37'));
  assert.equal(profileFor('ffff'), undefined);
  assert.deepEqual(values(profileFor('2A19')!.decode(wire('2A'))), { battery: 42 });
});

test('no profile throws on arbitrary bytes: every input decodes or is refused with a reason', () => {
  // Deterministic pseudo-random frames (LCG) of 0..40 bytes, plus all-zero and all-0xFF frames.
  let seed = 12345;
  const nextByte = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 24;
  };
  const frames: Uint8Array[] = [];
  for (let length = 0; length <= 40; length++) {
    frames.push(new Uint8Array(length), new Uint8Array(length).fill(0xff));
    for (let i = 0; i < 40; i++) frames.push(Uint8Array.from({ length }, nextByte));
  }
  for (const [uuid, profile] of BLE_PROFILES) {
    let previous: unknown;
    for (const frame of frames) {
      const decoded = profile.decode(frame, { previous });
      if (decoded.ok) {
        previous = decoded.state ?? previous;
        for (const m of decoded.measurements) assert.ok(Number.isFinite(m.value), `${uuid}: ${m.metric} ${m.value}`);
      } else {
        assert.ok(decoded.reason.length > 0, `${uuid}: empty reason`);
      }
    }
  }
});
