import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNmeaLineReader, decodeNmeaSentence, nmeaChecksum, parseNmeaSentence } from '../../../src/sources/serial/nmea/sentence.ts';
import type { Decoded } from '../../../src/sources/measurement.ts';

const NM1 = '$GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000*6D';
const KNOT = 1852 / 3600;

function valuesOf(decoded: Decoded): Record<string, number> {
  assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  return Object.fromEntries(decoded.measurements.map((m) => [m.metric, m.value]));
}

/** A sentence with a correct checksum around `body`. */
const sentence = (body: string): string => `$${body}*${nmeaChecksum(body).toString(16).toUpperCase().padStart(2, '0')}`;

function refusedWith(line: string, reason: RegExp): void {
  const decoded = decodeNmeaSentence(line);
  assert.ok(!decoded.ok, `${line} should be refused`);
  assert.match(decoded.reason, reason, line);
}

test('NM-1: a GGA sentence parses to its time, position, fix quality, satellites, hdop and altitude', () => {
  const parsed = parseNmeaSentence(NM1);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.sentence, {
    type: 'GGA',
    talker: 'GP',
    timeOfDaySeconds: 18 * 3600 + 43 * 60 + 53.07,
    latitude: -19.484083333333334,
    longitude: 24.1751,
    quality: 1,
    satellites: 4,
    hdop: 2.6,
    altitude: 100,
    geoidSeparation: -33.9,
  });
  assert.deepEqual(valuesOf(decodeNmeaSentence(NM1 + '\r\n')), { latitude: -19.484083333333334, longitude: 24.1751, altitude: 100 });
});

test('NM-2: a wrong, missing or malformed checksum is refused with the reason', () => {
  refusedWith(NM1.replace('*6D', '*00'), /checksum 00 != computed 6D/);
  refusedWith(NM1.replace('1929.045', '1929.046'), /checksum/);
  refusedWith(NM1.replace('*6D', ''), /no checksum/);
  refusedWith(NM1.replace('*6D', '*6'), /not two hex digits/);
});

test('NM-4: void RMC fix is refused', () => {
  refusedWith('$GPRMC,181031.576,V,3926.276,N,07739.361,W,99.7,18.30,250915,,E*79', /void fix/);
});

test('NM-5: fix quality 0 and empty coordinates mean no position', () => {
  refusedWith('$GPGGA,181032.576,3926.276,N,07739.361,W,0,00,,,M,,M,,*5F', /no fix \(GGA quality 0\)/);
  refusedWith('$GPGGA,201716.684,,,,,0,00,,,M,0.0,M,,0000*5F', /no fix/);
  refusedWith(sentence('GPGGA,201716.684,,,,,1,04,1.0,,M,0.0,M,,0000'), /no position/);
});

test('RMC valid: speed in m/s, course, UTC time for the clock', () => {
  const line = sentence('GNRMC,181031.576,A,3926.276,N,07739.361,W,10.0,18.30,250915,,E,A');
  const parsed = parseNmeaSentence(line);
  assert.ok(parsed.ok && parsed.sentence.type === 'RMC');
  assert.equal(parsed.sentence.talker, 'GN');
  assert.equal(parsed.sentence.utcMs, Date.UTC(2015, 8, 25, 18, 10, 31, 576));
  const values = valuesOf(decodeNmeaSentence(line));
  assert.equal(values.latitude, 39 + 26.276 / 60);
  assert.equal(values.longitude, -(77 + 39.361 / 60));
  assert.equal(values.gps_speed, 10 * KNOT);
  assert.equal(values.heading, 18.3);
});

test('RMC edge cases: mode N, empty speed and course, bad date', () => {
  refusedWith(sentence('GPRMC,181031.576,A,3926.276,N,07739.361,W,0.0,,250915,,E,N'), /mode N/);
  assert.deepEqual(Object.keys(valuesOf(decodeNmeaSentence(sentence('GPRMC,181031.576,A,3926.276,N,07739.361,W,,,250915,,')))), ['latitude', 'longitude']);
  refusedWith(sentence('GPRMC,181031.576,A,3926.276,N,07739.361,W,0.0,,310215,,'), /not a date/);
  refusedWith(sentence('GPRMC,181031.576,X,3926.276,N,07739.361,W,0.0,,250915,,'), /status "X"/);
});

test('impossible values are refused', () => {
  const cases: Array<[string, RegExp]> = [
    ['GPGGA,184353.07,1969.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000', /latitude "1969.045" is out of range/],
    ['GPGGA,184353.07,9100.000,N,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000', /latitude .* out of range/],
    ['GPGGA,184353.07,1929.045,Q,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000', /hemisphere "Q"/],
    ['GPGGA,184353.07,1929.045,S,2410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000', /longitude "2410.506" is not dddmm/],
    ['GPGGA,254353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000', /time .* out of range/],
    ['GPGGA,184353.07,1929.045,S,02410.506,E,8,04,2.6,100.00,M,-33.9,M,,0000', /quality 8 is not a measured position/],
    ['GPGGA,184353.07,1929.045,S,02410.506,E,1,04,x,100.00,M,-33.9,M,,0000', /HDOP/],
    ['GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,F,-33.9,M,,0000', /altitude unit "F"/],
    ['GPGGA,184353.07,1929.045,S', /GGA has 3 fields/],
    ['GPRMC,181031.576,A,3926.276,N,07739.361,W,-1,18.30,250915,,E', /speed/],
    ['GPRMC,181031.576,A,3926.276,N,07739.361,W,1,400,250915,,E', /course 400/],
    ['gpgga,1', /address/],
  ];
  for (const [body, reason] of cases) refusedWith(sentence(body), reason);
});

test('other valid sentences decode to nothing; noise before $ is ignored', () => {
  assert.deepEqual(valuesOf(decodeNmeaSentence(sentence('GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1'))), {});
  assert.deepEqual(valuesOf(decodeNmeaSentence(sentence('PUBX,00,1'))), {});
  assert.equal(valuesOf(decodeNmeaSentence('\x00garbage$$' + NM1.slice(1))).altitude, 100);
  refusedWith('', /no \$ start/);
  refusedWith('GPGGA,1*00', /no \$ start/);
});

test('line reader: split chunks, noise and an over-long line', () => {
  const reader = createNmeaLineReader();
  const wire = Buffer.from(`${NM1}\r\n${'$GPXXX,' + '9'.repeat(300)}\r\nnoise$GPG\xff\r\n${NM1}\n`, 'latin1');
  const decoded: Decoded[] = [];
  for (let i = 0; i < wire.length; i += 7) decoded.push(...reader.push(wire.subarray(i, i + 7)).map(decodeNmeaSentence));
  assert.equal(decoded.length, 2);
  assert.ok(decoded.every((d) => d.ok));
  assert.equal(reader.counters.tooLong, 1);
  assert.equal(reader.counters.notAscii, 1);
});
