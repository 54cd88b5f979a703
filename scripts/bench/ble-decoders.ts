/**
 * Throughput of every BLE profile decoder in the table, and of the Polar broadcast advert parser, one JSON
 * line each (DESIGN §9):
 *   {"name": "<profile>_decode", "value": <frames per second>, "unit": "frames/s"}
 * Median of 5 runs of a fixed number of frames. Stateful decoders get a moving sequence of frames with the
 * previous state handed back, so the rate path is what gets measured, not the first-sample path.
 *
 *   node --import tsx scripts/bench/ble-decoders.ts [--frames 100000]
 */
import { parseArgs } from 'node:util';
import { BLE_PROFILES } from '../../edge-agent/src/sources/ble/profiles/index.ts';
import { parsePolarBroadcast } from '../../edge-agent/src/sources/ble/profiles/polar-broadcast.ts';

const { values: args } = parseArgs({ options: { frames: { type: 'string', default: '100000' } } });
const FRAMES = Number(args.frames);
const RUNS = 5;

const bytes = (text: string): Uint8Array => Uint8Array.from(text.split(' ').map((b) => parseInt(b, 16)));
const utf8 = (text: string): Uint8Array[] => [new TextEncoder().encode(text)];

/** CSC/CP samples one revolution and one second apart, wrapping like the real counters. */
function revolutionFrames(build: (i: number) => number[]): Uint8Array[] {
  return Array.from({ length: 64 }, (_, i) => Uint8Array.from(build(i)));
}
const le16 = (v: number): number[] => [v & 0xff, (v >> 8) & 0xff];
const le32 = (v: number): number[] => [...le16(v), ...le16(v >>> 16)];

const SAMPLES: Record<string, Uint8Array[]> = {
  '2a37': [bytes('16 48 54 01 EC 02'), bytes('1E 55 32 00 21 00')],
  '2a19': [bytes('64')],
  '2a29': utf8('Polar Electro Oy'),
  '2a24': utf8('H10'),
  '2a25': utf8('C9A1B2C3'),
  '2a26': utf8('5.0.0'),
  '2a27': utf8('00760690.03'),
  '2a28': utf8('1.2.3'),
  '2a5b': revolutionFrames((i) => [0x03, ...le32(1000 + 2 * i), ...le16((i * 1024) & 0xffff), ...le16(500 + i), ...le16((i * 700) & 0xffff)]),
  '2a63': revolutionFrames((i) => [
    0x34,
    0x00,
    ...le16(250),
    ...le16((i * 64) & 0xffff),
    ...le32(1000 + 2 * i),
    ...le16((i * 2048) & 0xffff),
    ...le16(500 + i),
    ...le16((i * 700) & 0xffff),
  ]),
  '2a53': [bytes('07 00 03 12 56 00 01 00 00 00'), bytes('00 80 02 B4')],
  '2acd': [bytes('02 01 E2 04 B0 04 9B'), bytes('09 00 19 00 F1 FF')],
  '2ad2': [bytes('54 08 E2 06 7E 00 BB 00 00 4D 00 00 00'), bytes('64 02 C1 08 00 00 14 00 1C 00 00')],
  '2ad1': [bytes('00 02 3C 96 00 8C'), bytes('05 00 01 02 04')],
  '2ace': [bytes('00 88 00 DC 05 A0')],
  '2ad0': [bytes('4A 01 0C 00 3C 00 24 00 80 58 02'), bytes('00 00 0C 00')],
  '2acc': [bytes('03 40 00 00 0C 60 00 00')],
  '2ad3': [bytes('00 01'), bytes('01 0D 51 75 69 63 6B')],
  '2ad6': [bytes('0A 00 C8 00 05 00')],
  '2ad8': [bytes('19 00 90 01 05 00')],
  '2ada': [bytes('12 00 00 5E 01 21 22'), bytes('08 60 00')],
};

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

let failed = false;
for (const [uuid, profile] of BLE_PROFILES) {
  const frames = SAMPLES[uuid];
  if (frames === undefined) {
    console.error(`no sample frames for ${uuid} (${profile.name})`);
    failed = true;
    continue;
  }
  const rates: number[] = [];
  let refusedCount = 0;
  for (let run = 0; run < RUNS; run++) {
    let previous: unknown;
    const started = process.hrtime.bigint();
    for (let i = 0; i < FRAMES; i++) {
      const decoded = profile.decode(frames[i % frames.length]!, { previous });
      if (decoded.ok) previous = decoded.state;
      else refusedCount++;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rates.push(FRAMES / seconds);
  }
  if (refusedCount > 0) {
    // A benchmark of the refusal path would flatter the decoder.
    console.error(`${profile.name}: ${refusedCount} sample frames were refused`);
    failed = true;
  }
  console.log(JSON.stringify({ name: `${profile.name}_decode`, value: Math.round(median(rates)), unit: 'frames/s' }));
}
// Manufacturer data of a Polar OH1 advert: a skipped 0x72 block, then the heart-rate block.
const polarAdvert = bytes('6B 00 72 06 7F 44 37 00 00 00 33 00 3C');
const polarRates: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < FRAMES; i++) {
    if ('ok' in parsePolarBroadcast(polarAdvert)) {
      console.error('polar broadcast: the sample advert was refused');
      process.exit(1);
    }
  }
  polarRates.push(FRAMES / (Number(process.hrtime.bigint() - started) / 1e9));
}
console.log(JSON.stringify({ name: 'polar_broadcast_advert_decode', value: Math.round(median(polarRates)), unit: 'frames/s' }));
process.exit(failed ? 1 : 0);
