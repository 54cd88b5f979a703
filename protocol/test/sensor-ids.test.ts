import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError, canonicalSensorId, decodeJsonMessage, encodeJsonMessage } from '../src/index.ts';

test('canonicalSensorId writes every accepted spelling in the one canonical form', () => {
  const cases: [string, string | undefined][] = [
    ['ble:AA:BB:CC:DD:EE:FF', 'ble:aa-bb-cc-dd-ee-ff'],
    ['ble:aa-bb-cc-dd-ee-ff', 'ble:aa-bb-cc-dd-ee-ff'],
    ['BLE:C0-FF-EE-00-00-01', 'ble:c0-ff-ee-00-00-01'],
    [' ble:c0:ff:ee:00:00:01 ', 'ble:c0-ff-ee-00-00-01'],
    // A platform that hides addresses gives an opaque id: lower-cased, kept.
    ['ble:5F3A9B2C', 'ble:5f3a9b2c'],
    ['ant:17:12345:5', 'ant:17:12345:5'],
    ['ant:017:012345:05', 'ant:17:12345:5'],
    ['ANT:120:1:0', 'ant:120:1:0'],
    ['ant:120:1', undefined],
    ['ant:120:x:1', undefined],
    ['ant:1234:1:1', undefined],
    ['ant:256:1:1', undefined],
    ['ant:1:1048576:1', undefined],
    ['ant:1:1048575:255', 'ant:1:1048575:255'],
    ['ble:AABBCCDDEEFF', 'ble:aa-bb-cc-dd-ee-ff'],
    ['ble:aa:bb:cc:dd:ee', undefined],
    ['ble:zz:bb:cc:dd:ee:01', undefined],
    ['ble:nope', undefined],
    ['ble:', undefined],
    ['sim:', undefined],
    ['nosource', undefined],
    ['ble:1c2f3e4d-5a6b-7c8d-9e0f-a1b2c3d4e5f6', 'ble:1c2f3e4d-5a6b-7c8d-9e0f-a1b2c3d4e5f6'],
    ['ble:aa bb cc dd ee ff', undefined],
    ['serial:csafe:430123456', 'serial:csafe:430123456'],
    ['serial:waterrower:ttyUSB0', 'serial:waterrower:ttyusb0'],
    ['gps:nmea:ttyACM0~corrected', 'gps:nmea:ttyacm0~corrected'],
    ['', undefined],
    ['-lead', undefined],
    ['has space:1', undefined],
    ['ble:aa/bb', undefined],
    [`x:${'a'.repeat(70)}`, undefined],
  ];
  for (const [input, expected] of cases) assert.equal(canonicalSensorId(input), expected, input);
});

test('a canonical id is its own canonical form', () => {
  for (const id of ['ble:aa-bb-cc-dd-ee-ff', 'ant:17:12345:5', 'serial:csafe:1', 'gps:nmea:ttyacm0~corrected']) assert.equal(canonicalSensorId(id), id);
});

test('pairing, window and nearby messages are validated against their schemas', () => {
  const pairing = { version: 3, allow: ['ble:aa-bb-cc-dd-ee-ff', 'ant:17:1:5'], updatedAt: 1_700_000_000_000 };
  assert.deepEqual(decodeJsonMessage('pairing', encodeJsonMessage('pairing', pairing)), pairing);
  const window = { type: 'window' as const, until: 1_700_000_030_000, permitJoin: false, discover: true };
  assert.deepEqual(decodeJsonMessage('cmd', encodeJsonMessage('cmd', window)), window);
  const nearby = {
    sensors: [
      { id: 'ble:aa-bb-cc-dd-ee-ff', kind: 'heart_rate', rssi: -48 },
      { id: 'ant:120:7:1', kind: 'heart_rate' },
    ],
  };
  assert.deepEqual(decodeJsonMessage('nearby', encodeJsonMessage('nearby', nearby)), nearby);
  const bad: [Parameters<typeof decodeJsonMessage>[0], unknown][] = [
    ['pairing', { version: -1, allow: [], updatedAt: 0 }],
    ['pairing', { version: 1, allow: ['has space'], updatedAt: 0 }],
    ['pairing', { version: 1, allow: Array.from({ length: 4097 }, (_, i) => `s:${i}`), updatedAt: 0 }],
    ['cmd', { type: 'window', until: 5, permitJoin: 'yes', discover: true }],
    ['nearby', { sensors: Array.from({ length: 65 }, (_, i) => ({ id: `s:${i}`, kind: 'heart_rate' })) }],
    ['nearby', { sensors: [{ id: 's:1', kind: 'heart_rate', rssi: 500 }] }],
  ];
  for (const [kind, value] of bad) assert.throws(() => decodeJsonMessage(kind, Buffer.from(JSON.stringify(value))), ProtocolError, JSON.stringify(value).slice(0, 80));
});
