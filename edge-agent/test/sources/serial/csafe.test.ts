import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CsafeFrameReader, encodeFrame, parseFrame, unstuff, CsafeEncodeError } from '../../../src/sources/serial/csafe/frame.ts';
import { CsafeCommand, PmCommand, encodeCommands, longCommand, pmCommands, setHorizontal, shortCommand, WORKOUT_POLL } from '../../../src/sources/serial/csafe/commands.ts';
import { parseResponse, parseStatus } from '../../../src/sources/serial/csafe/response.ts';
import { decodeCsafeResponse } from '../../../src/sources/serial/csafe/decode.ts';
import type { Decoded } from '../../../src/sources/measurement.ts';

const bytes = (hex: string): Uint8Array =>
  Uint8Array.from(
    hex
      .trim()
      .split(/\s+/)
      .map((byte) => Number.parseInt(byte, 16)),
  );
const toHex = (data: Uint8Array): string => [...data].map((byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(' ');

function contentsOf(wire: string): Uint8Array {
  const frame = parseFrame(bytes(wire));
  assert.ok(typeof frame !== 'string', `frame ${wire} refused: ${String(frame)}`);
  return frame.contents;
}

function valuesOf(decoded: Decoded): Record<string, number> {
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  return Object.fromEntries(decoded.measurements.map((m) => [m.metric, m.value]));
}

test('CS-1: GetStatus encodes to F1 80 80 F2', () => {
  assert.equal(toHex(encodeCommands(shortCommand(CsafeCommand.getStatus))), 'F1 80 80 F2');
});

test('CS-2 / CS-3: frames with a matching checksum give their contents; a wrong checksum is refused', () => {
  assert.deepEqual(contentsOf('F1 00 F2'), new Uint8Array(0));
  assert.equal(toHex(contentsOf('F1 DE AD BE EF 22 F2')), 'DE AD BE EF');
  assert.equal(parseFrame(bytes('F1 DE AD BE EF 00 F2')), 'bad_checksum');
});

test('CS-4 / CS-5: real PM GetID and GetSerial behind a HID report id', () => {
  const reader = new CsafeFrameReader();
  const frames = reader.push(bytes('01 F1 81 92 05 30 30 30 30 30 26 F2 01 F1 81 94 09 34 33 30 32 32 38 35 32 35 21 F2'));
  assert.equal(frames.length, 2);
  assert.equal(reader.counters.discardedBytes, 2, 'the two report ids are outside frames');
  const id = decodeCsafeResponse((frames[0] as { contents: Uint8Array }).contents);
  assert.ok(id.ok);
  assert.deepEqual(id.facts, { machine_state: 'ready', user_id: '00000' });
  const serial = decodeCsafeResponse((frames[1] as { contents: Uint8Array }).contents);
  assert.ok(serial.ok);
  assert.equal(serial.facts?.serial_number, '430228525');
  const status = parseStatus(0x81);
  assert.deepEqual(status, { toggle: 1, previousFrame: 'ok', state: 'ready' });
});

test('CS-7: PM proprietary answers inside the 0x1A wrapper', () => {
  const contents = contentsOf('F1 81 1A 0A A3 05 00 00 00 00 00 89 01 08 B7 F2');
  const parsed = parseResponse(contents);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.response.entries, []);
  assert.deepEqual(
    parsed.response.pmEntries.map((entry) => entry.id),
    [0xa3, 0x89],
  );
  const decoded = decodeCsafeResponse(contents);
  assert.deepEqual(valuesOf(decoded), { distance: 0 });
  assert.ok(decoded.ok);
  assert.equal(decoded.facts?.workout_type, 8);
});

test('PM work distance: 0.1 m units plus fraction, little-endian', () => {
  // 12345.6 m = 123456 (0x01E240) tenths, fraction 0.
  const decoded = decodeCsafeResponse(Uint8Array.from([0x85, 0x1a, 0x07, 0xa3, 0x05, 0x40, 0xe2, 0x01, 0x00, 0x00]));
  assert.equal(valuesOf(decoded).distance, 12345.6);
});

test('CS-8: response status with previous frame rejected', () => {
  const parsed = parseResponse(bytes('93 AB 02 00 F2'));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.response.status, { toggle: 1, previousFrame: 'rejected', state: 'have_id' });
  assert.deepEqual(parsed.response.entries, [{ id: 0xab, data: bytes('00 F2') }]);
  const decoded = decodeCsafeResponse(bytes('93 AB 02 00 F2'));
  assert.ok(!decoded.ok);
  assert.match(decoded.reason, /rejected/);
});

test('CS-9: several commands in one frame', () => {
  assert.equal(toHex(encodeCommands(shortCommand(0xa1))), 'F1 A1 A1 F2');
  assert.equal(toHex(encodeCommands(shortCommand(0xa6))), 'F1 A6 A6 F2');
  assert.equal(toHex(encodeCommands(shortCommand(0xb0))), 'F1 B0 B0 F2');
  assert.equal(toHex(encodeCommands(shortCommand(0xa1), shortCommand(0xa6), shortCommand(0xb0))), 'F1 A1 A6 B0 B7 F2');
});

test('CS-10..CS-13: polled values into catalogue metrics', () => {
  assert.deepEqual(valuesOf(decodeCsafeResponse(contentsOf('F1 85 A1 03 D0 07 24 D4 F2'))), { distance: 2000 });
  const pace = contentsOf('F1 85 A6 03 F3 00 00 39 E9 F2');
  assert.equal(toHex(pace), '85 A6 03 F0 00 39', 'F3 00 unstuffs to F0');
  assert.deepEqual(valuesOf(decodeCsafeResponse(pace)), { speed: 1000 / 240 });
  assert.deepEqual(valuesOf(decodeCsafeResponse(contentsOf('F1 85 B0 01 8C B8 F2'))), { heart_rate: 140 });
  assert.deepEqual(valuesOf(decodeCsafeResponse(contentsOf('F1 85 A7 03 1C 00 54 69 F2'))), { stroke_rate: 28 });
  assert.deepEqual(valuesOf(decodeCsafeResponse(contentsOf('F1 85 B4 03 C8 00 58 A2 F2'))), { power: 200 });
  const state = decodeCsafeResponse(contentsOf('F1 85 B4 03 C8 00 58 A2 F2'));
  assert.ok(state.ok);
  assert.equal(state.facts?.machine_state, 'in_use');
});

test('CS-15: a PM work-distance request is wrapped as 1A 01 A3', () => {
  assert.equal(toHex(encodeCommands(pmCommands(shortCommand(PmCommand.getWorkDistance)))), 'F1 1A 01 A3 B8 F2');
});

test('a whole poll answer decodes to every metric at once', () => {
  const answer = Uint8Array.from([0x85, 0xa1, 3, 0xd0, 0x07, 0x24, 0xa6, 3, 0x78, 0x00, 0x39, 0xa7, 3, 30, 0, 0x54, 0xb4, 3, 0x2c, 0x01, 0x58, 0xb0, 1, 150, 0xa3, 2, 0x10, 0x00]);
  const reader = new CsafeFrameReader();
  const [frame] = reader.push(encodeFrame(answer));
  assert.ok(frame);
  assert.deepEqual(valuesOf(decodeCsafeResponse(frame.contents)), { distance: 2000, speed: 1000 / 120, stroke_rate: 30, power: 300, heart_rate: 150, energy: 16 });
  assert.equal(WORKOUT_POLL.length, 7, 'the work time and the odometer are scheduled by the driver, not in the fixed poll');
});

test('stuffing: every flag byte in contents and checksum round-trips', () => {
  for (const contents of [[0xf0, 0xf1, 0xf2, 0xf3], [0x85, 0xa6, 0x03, 0xf0, 0x00, 0x39], [0xf1], [0x01, 0xf0], [0x70, 0x83]]) {
    const wire = encodeFrame(Uint8Array.from(contents));
    const inner = wire.subarray(1, -1);
    assert.ok(!inner.some((byte) => byte === 0xf0 || byte === 0xf1 || byte === 0xf2), `no flag inside ${toHex(wire)}`);
    assert.deepEqual(contentsOf(toHex(wire)), Uint8Array.from(contents));
  }
  // 0x70 ^ 0x83 = 0xF3: the checksum itself must be stuffed (PYROW appends it raw).
  assert.equal(toHex(encodeFrame(Uint8Array.from([0x70, 0x83]))), 'F1 70 83 F3 03 F2');
});

test('unstuff refuses an escape that is not followed by 00..03', () => {
  assert.equal(unstuff(bytes('F3 04')), undefined);
  assert.equal(unstuff(bytes('85 F3')), undefined);
  assert.equal(parseFrame(bytes('F1 85 F3 07 F2')), 'bad_stuffing');
});

test('reader: resyncs on garbage, counts bad frames, handles chunk boundaries', () => {
  const reader = new CsafeFrameReader();
  const good = encodeFrame(bytes('85 B0 01 8C'));
  const stream = Uint8Array.from([
    0x00,
    0x13,
    0x37, // noise
    ...bytes('F1 DE AD BE EF 00 F2'), // bad checksum
    ...bytes('F1 85 A1'), // lost stop flag: a new start flag follows
    ...good,
    ...bytes('F1 F3 09 00 F2'), // bad stuffing
    ...bytes('F1 F2'), // no checksum byte
    ...good,
    0,
    0,
    0, // HID zero padding
  ]);
  const frames = [];
  // Byte by byte: frames split across any chunk boundary.
  for (const byte of stream) frames.push(...reader.push(Uint8Array.of(byte)));
  assert.equal(frames.length, 2);
  for (const frame of frames) assert.equal(toHex(frame.contents), '85 B0 01 8C');
  assert.deepEqual(reader.counters.rejected, { bad_checksum: 1, bad_stuffing: 1, truncated: 1, too_long: 0, empty: 1 });
  assert.equal(reader.counters.discardedBytes, 6);
});

test('reader: over-long frame is dropped and the next frame still decodes', () => {
  const reader = new CsafeFrameReader();
  const junk = new Uint8Array(1000).fill(0x55);
  const frames = reader.push(Uint8Array.from([0xf1, ...junk, 0xf2, ...encodeFrame(bytes('81'))]));
  assert.equal(reader.counters.rejected.too_long, 1);
  assert.equal(frames.length, 1);
  assert.equal(reader.counters.frames, 1);
});

test('reader: extended frame carries its addresses', () => {
  const reader = new CsafeFrameReader();
  // dst 0x02, src 0x01, contents 85 B0 01 8C (CHK 0xB8 over the contents).
  const [frame] = reader.push(bytes('F0 02 01 85 B0 01 8C B8 F2'));
  assert.ok(frame);
  assert.deepEqual(frame.address, { destination: 2, source: 1 });
  assert.equal(toHex(frame.contents), '85 B0 01 8C');
});

test('response decoder refuses malformed contents with a reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /no status byte/],
    ['84', /unknown machine state 4/],
    ['C5', /reserved bit 6/],
    ['85 A1', /no byte count/],
    ['85 A1 03 D0 07', /claims 3 bytes, 2 left/],
    ['85 A1 02 D0 07', /GetHorizontal: expected 3 data bytes, got 2/],
    ['85 A1 03 D0 07 99', /GetHorizontal: unsupported unit 0x99/],
    ['85 A6 03 78 00 24', /GetPace: unsupported unit 0x24/],
    ['85 B0 02 8C 00', /GetHRCur: expected 1/],
    ['85 1A 03 A3 05 00', /PM wrapper 0x1A: entry 0xa3 claims 5 bytes/],
    ['85 1A 03 A3 01 00', /PM_GET_WORKDISTANCE: expected 5/],
    ['85 92 02 30 07', /GetID: byte 0x07 is not printable/],
    ['A5 B0 01 8C', /previous frame bad/],
    ['B5 B0 01 8C', /previous frame not_ready/],
  ];
  for (const [contents, reason] of cases) {
    const decoded = decodeCsafeResponse(contents ? bytes(contents) : new Uint8Array(0));
    assert.ok(!decoded.ok, `${contents} should be refused`);
    assert.match(decoded.reason, reason, contents);
  }
});

test('special values: no heart rate, standing flywheel, kilometres, miles', () => {
  assert.deepEqual(valuesOf(decodeCsafeResponse(bytes('85 B0 01 00'))), {});
  assert.deepEqual(valuesOf(decodeCsafeResponse(bytes('85 A6 03 00 00 39'))), { speed: 0 });
  assert.deepEqual(valuesOf(decodeCsafeResponse(bytes('85 A1 03 05 00 21'))), { distance: 5000 });
  assert.equal(valuesOf(decodeCsafeResponse(bytes('85 A6 03 E0 01 3A'))).speed, 1609.344 / 480);
  // Answers without a decoder (GetVersion) are skipped, not errors: the driver asked for them.
  assert.deepEqual(valuesOf(decodeCsafeResponse(bytes('85 91 03 00 01 02 B0 01 64'))), { heart_rate: 100 });
});

test('command encoders reject what cannot be sent', () => {
  assert.throws(() => shortCommand(0x21), CsafeEncodeError);
  assert.throws(() => longCommand(0xa1, [1]), CsafeEncodeError);
  assert.throws(() => longCommand(0x21, [256]), CsafeEncodeError);
  assert.throws(() => setHorizontal(70_000), CsafeEncodeError);
  assert.equal(toHex(encodeCommands(setHorizontal(2000))), 'F1 21 03 D0 07 24 D1 F2');
  assert.equal(CsafeCommand.pmWrapper, 0x1a);
});

test('GetOdometer: uint32 and a unit byte: 1 234 567 m, kilometres scaled, other units and lengths refused', () => {
  assert.deepEqual(valuesOf(decodeCsafeResponse(contentsOf('F1 85 9B 05 87 D6 12 00 24 7C F2'))), { odometer: 1_234_567 });
  assert.deepEqual(valuesOf(decodeCsafeResponse(bytes('85 9B 05 0C 00 00 00 21'))), { odometer: 12_000 });
  const watts = decodeCsafeResponse(bytes('85 9B 05 0C 00 00 00 58'));
  assert.ok(!watts.ok);
  assert.match(watts.reason, /GetOdometer: unsupported unit 0x58/);
  const short = decodeCsafeResponse(bytes('85 9B 03 0C 00 24'));
  assert.ok(!short.ok);
  assert.match(short.reason, /GetOdometer: expected 5 data bytes, got 3/);
});

test('GetTWork: hours, minutes, seconds into elapsed_time; 60 minutes is not a time', () => {
  assert.deepEqual(valuesOf(decodeCsafeResponse(contentsOf('F1 85 A0 03 01 02 03 26 F2'))), { elapsed_time: 3_723 });
  const bad = decodeCsafeResponse(bytes('85 A0 03 00 3C 00'));
  assert.ok(!bad.ok);
  assert.match(bad.reason, /GetTWork: 0:60:0 is not a time/);
  assert.ok(!decodeCsafeResponse(bytes('85 A0 02 00 01')).ok, 'two data bytes are refused');
});

test('PM work time: 0.01 s units plus fraction: 10000 + 50 hundredths is 100.5 s', () => {
  assert.deepEqual(valuesOf(decodeCsafeResponse(contentsOf('F1 85 1A 07 A0 05 10 27 00 00 32 38 F2'))), { elapsed_time: 100.5 });
  assert.ok(!decodeCsafeResponse(bytes('85 1A 04 A0 02 10 27')).ok, 'a short PM work time is refused');
});
