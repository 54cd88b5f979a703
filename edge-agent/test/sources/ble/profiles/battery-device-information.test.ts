import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batteryLevel } from '../../../../src/sources/ble/profiles/battery.ts';
import { deviceInformationString } from '../../../../src/sources/ble/profiles/device-information.ts';
import { accepted, rejected, values, wire } from './fixtures.ts';

test('battery vectors (Nordic, pycycling): 100, 15, 0 and 42 %', () => {
  assert.deepEqual(values(batteryLevel.decode(wire('64'))), { battery: 100 });
  assert.deepEqual(values(batteryLevel.decode(wire('0F'))), { battery: 15 });
  assert.deepEqual(values(batteryLevel.decode(wire('00'))), { battery: 0 });
  assert.deepEqual(values(batteryLevel.decode(wire('2A'))), { battery: 42 });
  assert.deepEqual(accepted(batteryLevel.decode(wire('2A'))).facts, { battery: 42 }, "the level is also the sensor's battery fact");
});

test('battery: 101 % and a 2-byte value are refused (Nordic), so is nothing', () => {
  rejected(batteryLevel.decode(wire('65')), /101 % above 100/);
  rejected(batteryLevel.decode(wire('64 00')), /2 bytes, expected 1/);
  rejected(batteryLevel.decode(wire('')), /0 bytes, expected 1/);
  rejected(batteryLevel.decode(wire('FF')), /above 100/);
});

const manufacturer = deviceInformationString('manufacturer');

test('device information strings become facts; zero padding and spaces are trimmed', () => {
  const decoded = accepted(manufacturer.decode(new TextEncoder().encode('Polar Electro Oy')));
  assert.deepEqual(decoded, { ok: true, measurements: [], facts: { manufacturer: 'Polar Electro Oy' } });
  const padded = Uint8Array.from([...new TextEncoder().encode('H10 '), 0, 0, 0]);
  assert.deepEqual(accepted(deviceInformationString('model').decode(padded)).facts, { model: 'H10' });
  assert.deepEqual(accepted(manufacturer.decode(new TextEncoder().encode('Wahoo Fítness'))).facts, { manufacturer: 'Wahoo Fítness' });
});

test('device information: empty, blank, invalid UTF-8, control characters and oversize are refused', () => {
  rejected(manufacturer.decode(wire('')), /empty manufacturer/);
  rejected(manufacturer.decode(wire('00 00 20')), /blank/);
  rejected(manufacturer.decode(wire('41 FF 42')), /not valid UTF-8/);
  rejected(manufacturer.decode(wire('41 07 42')), /control characters/);
  rejected(manufacturer.decode(new Uint8Array(513).fill(0x41)), /exceeds 512/);
});
