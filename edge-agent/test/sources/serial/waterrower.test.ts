import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WaterRowerEncodeError,
  WorkoutUnit,
  createWaterRowerLineReader,
  encodeDistanceWorkout,
  encodeDurationWorkout,
  encodeMemoryRead,
  encodeModelRequest,
  encodeStartSession,
  parseWaterRowerPacket,
} from '../../../src/sources/serial/waterrower/protocol.ts';
import { WATERROWER_POLL, decodeWaterRowerLine } from '../../../src/sources/serial/waterrower/memory.ts';
import type { Decoded } from '../../../src/sources/measurement.ts';

const ascii = (data: Uint8Array): string => Buffer.from(data).toString('ascii');

function valuesOf(decoded: Decoded): Record<string, number> {
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  return Object.fromEntries(decoded.measurements.map((m) => [m.metric, m.value]));
}

test('WR-1: the handshake is USB, and _WR_ answers with hardware type WR', () => {
  assert.equal(ascii(encodeStartSession()), 'USB\r\n');
  assert.deepEqual(parseWaterRowerPacket('_WR_'), { ok: true, packet: { kind: 'hardware', type: 'WR' } });
  const decoded = decodeWaterRowerLine('_WR_');
  assert.ok(decoded.ok);
  assert.deepEqual(decoded.facts, { hardware: 'WR' });
});

test('WR-2: IV? asks for the model; IV50300 is an S5 with firmware 03.00', () => {
  assert.equal(ascii(encodeModelRequest()), 'IV?\r\n');
  assert.deepEqual(parseWaterRowerPacket('IV40200'), { ok: true, packet: { kind: 'model', model: 4, firmware: '02.00' } });
  const s5 = decodeWaterRowerLine('IV50300');
  assert.ok(s5.ok);
  assert.deepEqual(s5.facts, { model: 'S5', firmware: '03.00' });
});

test('WR-3: memory reads encode size and address; addresses outside 000-FFF are refused', () => {
  assert.equal(ascii(encodeMemoryRead(1, 0x001)), 'IRS001\r\n');
  assert.equal(ascii(encodeMemoryRead(2, 0xfff)), 'IRDFFF\r\n');
  assert.equal(ascii(encodeMemoryRead(3, 0x001)), 'IRT001\r\n');
  assert.throws(() => encodeMemoryRead(1, 0x1000), WaterRowerEncodeError);
  assert.throws(() => encodeMemoryRead(1, -1), WaterRowerEncodeError);
});

test('WR-4..WR-6: memory answers, highest address first', () => {
  assert.deepEqual(parseWaterRowerPacket('IDS000FF'), { ok: true, packet: { kind: 'memory', address: 0, size: 1, value: 255, bytes: [255] } });
  assert.deepEqual(parseWaterRowerPacket('IDSFFF00'), { ok: true, packet: { kind: 'memory', address: 0xfff, size: 1, value: 0, bytes: [0] } });
  // Y2 = 01, Y1 = 02: Y1 is the byte at the address.
  assert.deepEqual(parseWaterRowerPacket('IDD0000102'), { ok: true, packet: { kind: 'memory', address: 0, size: 2, value: 0x0102, bytes: [2, 1] } });
  assert.deepEqual(parseWaterRowerPacket('IDT000010203'), { ok: true, packet: { kind: 'memory', address: 0, size: 3, value: 0x010203, bytes: [3, 2, 1] } });
});

test('WR-7: stroke start and end, pulse counts and ping packets parse to their kinds', () => {
  assert.deepEqual(parseWaterRowerPacket('SS'), { ok: true, packet: { kind: 'stroke_start' } });
  assert.deepEqual(parseWaterRowerPacket('SE'), { ok: true, packet: { kind: 'stroke_end' } });
  for (const [text, count] of [
    ['P01', 1],
    ['P10', 16],
    ['PFF', 255],
  ] as const) {
    assert.deepEqual(parseWaterRowerPacket(text), { ok: true, packet: { kind: 'pulses', count } });
  }
  assert.deepEqual(parseWaterRowerPacket('PING'), { ok: true, packet: { kind: 'ping' } });
  assert.deepEqual(valuesOf(decodeWaterRowerLine('SS')), {});
});

test('WR-8: distance and duration workouts encode as WSI/WSU; out-of-range durations are refused', () => {
  assert.equal(ascii(encodeDistanceWorkout(WorkoutUnit.metres, 1000)), 'WSI103E8\r\n');
  assert.equal(ascii(encodeDurationWorkout(1)), 'WSU0001\r\n');
  assert.throws(() => encodeDurationWorkout(0x10000), WaterRowerEncodeError);
});

test('WR-10..WR-12: speed, heart rate, stroke count', () => {
  assert.deepEqual(valuesOf(decodeWaterRowerLine('IDD14A0144')), { speed: 3.24 });
  assert.deepEqual(valuesOf(decodeWaterRowerLine('IDS1A092')), { heart_rate: 146 });
  assert.deepEqual(valuesOf(decodeWaterRowerLine('IDD1400102')), { stroke_count: 258 });
});

test('distance: whole metres, and the PDF reading of the decimal byte', () => {
  assert.deepEqual(valuesOf(decodeWaterRowerLine('IDD0550DF0')), { distance: 0x0df0 });
  assert.deepEqual(valuesOf(decodeWaterRowerLine('IDT0540DF004')), { distance: 3568.4 });
  const centimetres = decodeWaterRowerLine('IDT0540DF063');
  assert.ok(!centimetres.ok);
  assert.match(centimetres.reason, /decimal byte 99 > 9/);
});

test('energy keeps its decimals; a heart rate of 0 gives no reading', () => {
  assert.deepEqual(valuesOf(decodeWaterRowerLine('IDT08A01E240')), { energy: 123.456 });
  assert.deepEqual(valuesOf(decodeWaterRowerLine('IDS1A000')), {});
});

test('unknown or malformed packets are refused with a reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['IDD14A01', /IDD needs 4 hex digits of data, got 2/],
    ['IDS1A0923', /IDS needs 2 hex digits/],
    ['IDX1A092', /unknown WaterRower packet/],
    ['IDS1A0G2', /unknown WaterRower packet/],
    ['P1', /unknown/],
    ['IV60100', /unknown/],
    ['', /unknown/],
  ];
  for (const [line, reason] of cases) {
    const decoded = decodeWaterRowerLine(line);
    assert.ok(!decoded.ok, line);
    assert.match(decoded.reason, reason, line);
  }
  // An answer for a location not in the table is not an error: it decodes to nothing.
  assert.deepEqual(valuesOf(decodeWaterRowerLine('IDS0A914')), {});
});

test('poll list reads every table location but the ambiguous decimal one', () => {
  assert.deepEqual(WATERROWER_POLL.map(ascii), ['IRD055\r\n', 'IRD140\r\n', 'IRD14A\r\n', 'IRS1A0\r\n', 'IRT08A\r\n']);
});

test('line reader: CR LF, split chunks, noise, over-long lines', () => {
  const reader = createWaterRowerLineReader();
  const wire = Buffer.from('_WR_\r\nIDD14A0144\r\n\r\nSS\r\n' + 'X'.repeat(200) + '\r\nSE\r\n', 'ascii');
  const noisy = Buffer.concat([wire.subarray(0, 20), Buffer.from([0x80, 0xff, 0x0d, 0x0a]), wire.subarray(20)]);
  const lines: string[] = [];
  for (let i = 0; i < noisy.length; i += 3) lines.push(...reader.push(noisy.subarray(i, i + 3)));
  assert.deepEqual(lines, ['_WR_', 'IDD14A0144', 'SS', 'SE']);
  assert.equal(reader.counters.tooLong, 1);
  assert.equal(reader.counters.notAscii, 1);
});
