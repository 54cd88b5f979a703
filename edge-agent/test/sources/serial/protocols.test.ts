import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SERIAL_PROTOCOLS } from '../../../src/sources/serial/protocols.ts';
import { encodeFrame } from '../../../src/sources/serial/csafe/frame.ts';
import { serialSourceConfig } from '../../../src/sources/serial/config.ts';

test('every serial protocol frames a byte stream into decoded results', () => {
  const csafe = SERIAL_PROTOCOLS.csafe.createFramer();
  const csafeOut = csafe.push(Uint8Array.from([0x00, ...encodeFrame(Uint8Array.of(0x85, 0xb0, 0x01, 0x8c)), 0xf1, 0x85]));
  assert.deepEqual(csafeOut, [{ ok: true, measurements: [{ metric: 'heart_rate', value: 140 }], facts: { machine_state: 'in_use' } }]);
  csafe.push(Uint8Array.of(0xf1, 0x85, 0x00, 0xf2));
  assert.equal(csafe.dropped(), 2, 'the partial frame cut by the new start flag, and the bad checksum');
  csafe.push(Uint8Array.of(0xf1, 0x85));
  csafe.reset();
  // After reset the partial frame is gone: its tail alone is garbage.
  assert.deepEqual(csafe.push(Uint8Array.of(0xb0, 0x01, 0x8c, 0xb8, 0xf2)), []);

  const rower = SERIAL_PROTOCOLS.waterrower.createFramer();
  assert.equal(SERIAL_PROTOCOLS.waterrower.baudRate, 19_200);
  const rowerOut = rower.push(Buffer.from('IDS1A092\r\nBOGUS\r\n', 'ascii'));
  assert.deepEqual(rowerOut[0], { ok: true, measurements: [{ metric: 'heart_rate', value: 146 }] });
  assert.equal(rowerOut[1]?.ok, false);
  rower.push(Buffer.from('X'.repeat(100) + '\r\n', 'ascii'));
  assert.equal(rower.dropped(), 1);

  const gps = SERIAL_PROTOCOLS.nmea.createFramer();
  const gpsOut = gps.push(Buffer.from('$GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000*6D\r\n', 'ascii'));
  assert.equal(gpsOut.length, 1);
  assert.ok(gpsOut[0]?.ok);
});

test('every protocol entry creates its own driver, with its sensor id prefix, kind and the source settings for it', () => {
  const config = serialSourceConfig({ csafe: { pollIntervalMs: 250 }, waterrower: { pollIntervalMs: 1_000 } });
  const made = Object.entries(SERIAL_PROTOCOLS).map(([id, protocol]) => {
    const driver = protocol.createDriver(config);
    return [id, driver.idPrefix, driver.kind, driver.rateHz];
  });
  assert.deepEqual(made, [
    ['csafe', 'serial:csafe:', 'rower', 4],
    ['waterrower', 'serial:waterrower:', 'rower', 1],
    ['nmea', 'gps:nmea:', 'gps', 1],
  ]);
  const a = SERIAL_PROTOCOLS.csafe.createDriver(config);
  assert.notEqual(a, SERIAL_PROTOCOLS.csafe.createDriver(config), 'one driver per port');
});
