import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPolarManufacturerData, parsePolarBroadcast } from '../../../../src/sources/ble/profiles/polar-broadcast.ts';
import { parsed, wire } from './fixtures.ts';

function refusedWith(data: Uint8Array, pattern: RegExp): void {
  const result = parsePolarBroadcast(data);
  if (!('ok' in result)) assert.fail(`expected a refusal, got ${JSON.stringify(result)}`);
  assert.match(result.reason, pattern);
}

test('Polar BLE SDK vector (OH1): the typed block is skipped, the 3-byte HR block gives 60 bpm, contact, counter 4', () => {
  const result = parsed(parsePolarBroadcast(wire('6b 00 72 06 7f 44 37 00 00 00 33 00 3c')));
  assert.deepEqual(result, { heartRateBpm: 60, sensorContact: true, frameCounter: 4, blockLength: 3 });
});

test('a 4-byte block shows the slow average and keeps the fast one', () => {
  // flags 0x0c: contact clear, counter 3; kHz code 0; fast 72, slow 70.
  const result = parsed(parsePolarBroadcast(wire('6b 00 0c 00 48 46')));
  assert.deepEqual(result, { heartRateBpm: 70, fastAverageBpm: 72, sensorContact: false, frameCounter: 3, blockLength: 4 });
});

test('the frame counter is bits 2-4 and nothing else', () => {
  for (let counter = 0; counter < 8; counter++) {
    const flags = (counter << 2) | 0x02 | 0x01 | 0x20;
    const result = parsed(parsePolarBroadcast(Uint8Array.from([0x6b, 0x00, flags, 0x00, 0x50, 0x51])));
    assert.equal(result.frameCounter, counter);
    assert.equal(result.sensorContact, true);
  }
});

test('a strap still searching for a pulse sends 0 bpm, which parses (the source drops it)', () => {
  assert.equal(parsed(parsePolarBroadcast(wire('6b 00 00 00 00 00'))).heartRateBpm, 0);
});

test('bytes after the fourth of the HR block are ignored', () => {
  assert.equal(parsed(parsePolarBroadcast(wire('6b 00 04 00 50 52 ff ff'))).heartRateBpm, 0x52);
});

test('malformed data is refused with a reason', () => {
  refusedWith(wire('6b'), /no company id/);
  refusedWith(wire('4c 00 02 15 00 00 00'), /company id 0x004c is not Polar/);
  refusedWith(wire('6b 00'), /no heart rate block/);
  refusedWith(wire('6b 00 72 06 7f 44 37 00 00 00'), /no heart rate block/);
  refusedWith(wire('6b 00 33 00'), /heart rate block at byte 2 is truncated: 2 bytes/);
  refusedWith(wire('6b 00 72'), /truncated before its length/);
  refusedWith(wire('6b 00 72 0a 7f 44 37 00 00 00 33 00 3c'), /claims 10 bytes, only 9 follow/);
  refusedWith(new Uint8Array(0), /no company id/);
});

test('no input throws: every byte string parses or is refused', () => {
  let seed = 7;
  const nextByte = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 24;
  };
  for (let length = 0; length <= 32; length++) {
    for (let i = 0; i < 50; i++) {
      const data = Uint8Array.from({ length }, nextByte);
      if (length >= 2) {
        data[0] = 0x6b;
        data[1] = 0x00;
      }
      const result = parsePolarBroadcast(data);
      if (!('ok' in result)) {
        assert.ok(result.heartRateBpm >= 0 && result.heartRateBpm <= 255);
        assert.ok(result.frameCounter >= 0 && result.frameCounter <= 7);
      }
    }
  }
});

test('isPolarManufacturerData looks only at the company id', () => {
  assert.equal(isPolarManufacturerData(wire('6b 00')), true);
  assert.equal(isPolarManufacturerData(wire('6b 01 00 00 00')), false);
  assert.equal(isPolarManufacturerData(wire('6b')), false);
  assert.equal(isPolarManufacturerData(undefined), false);
});
