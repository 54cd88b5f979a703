/**
 * Decode rate of the serial protocol decoders and the GPS track correction, as JSON lines (DESIGN §9):
 *
 *   node --import tsx scripts/bench/serial-decoders.ts [--runs 5] [--frames 200000]
 *
 * Each figure is the median of `--runs` timed loops over `--frames` frames, framing included (bytes in,
 * decoded measurements out), after a warm-up loop.
 */
import { parseArgs } from 'node:util';
import { CsafeFrameReader, encodeFrame } from '../../edge-agent/src/sources/serial/csafe/frame.ts';
import { decodeCsafeResponse } from '../../edge-agent/src/sources/serial/csafe/decode.ts';
import { createWaterRowerLineReader } from '../../edge-agent/src/sources/serial/waterrower/protocol.ts';
import { decodeWaterRowerLine } from '../../edge-agent/src/sources/serial/waterrower/memory.ts';
import { createNmeaLineReader, decodeNmeaSentence, nmeaChecksum } from '../../edge-agent/src/sources/serial/nmea/sentence.ts';
import { correctTrack, type RawFix } from '../../edge-agent/src/sources/gps/track.ts';
import { medianRate, printFigure } from './figures.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' }, frames: { type: 'string', default: '200000' } } });
const RUNS = Math.max(1, Number(args.runs));
const FRAMES = Math.max(1000, Number(args.frames));

/** A chunk holding `perChunk` frames, the way a serial port delivers bursts. */
function repeat(frame: Uint8Array, perChunk: number): Uint8Array {
  const chunk = new Uint8Array(frame.length * perChunk);
  for (let i = 0; i < perChunk; i++) chunk.set(frame, i * frame.length);
  return chunk;
}

/** Items per second of `decodeChunk`, which must decode exactly `perChunk` frames per call. */
function measure(name: string, perChunk: number, decodeChunk: () => number, unit = 'frames/s'): void {
  const chunks = Math.ceil(FRAMES / perChunk);
  for (let i = 0; i < Math.min(chunks, 1000); i++) decodeChunk();
  const rate = medianRate(RUNS, () => {
    let decoded = 0;
    for (let i = 0; i < chunks; i++) decoded += decodeChunk();
    if (decoded !== chunks * perChunk) throw new Error(`${name}: decoded ${decoded} of ${chunks * perChunk} frames`);
    return decoded;
  });
  printFigure(name, Math.round(rate), unit);
}

const PER_CHUNK = 16;

// A full workout poll answer: status, distance, pace, stroke rate, power, heart rate, calories.
const csafeAnswer = encodeFrame(
  Uint8Array.from([0x85, 0xa1, 3, 0xd0, 0x07, 0x24, 0xa6, 3, 0x78, 0x00, 0x39, 0xa7, 3, 30, 0, 0x54, 0xb4, 3, 0x2c, 0x01, 0x58, 0xb0, 1, 150, 0xa3, 2, 0x10, 0x00]),
);
const csafeReader = new CsafeFrameReader();
const csafeChunk = repeat(csafeAnswer, PER_CHUNK);
measure('csafe_decode', PER_CHUNK, () => csafeReader.push(csafeChunk).filter((frame) => decodeCsafeResponse(frame.contents).ok).length);

const rowerReader = createWaterRowerLineReader();
const rowerChunk = Buffer.from(
  ['IDD0550DF0', 'IDD14A0144', 'IDD1400102', 'IDS1A092']
    .map((line) => `${line}\r\n`)
    .join('')
    .repeat(PER_CHUNK / 4),
  'ascii',
);
measure('waterrower_decode', PER_CHUNK, () => rowerReader.push(rowerChunk).filter((line) => decodeWaterRowerLine(line).ok).length);

const nmeaReader = createNmeaLineReader();
const nmeaChunk = Buffer.from(
  ['GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000', 'GNRMC,181031.576,A,3926.276,N,07739.361,W,10.0,18.30,250915,,E,A']
    .map((body) => `$${body}*${nmeaChecksum(body).toString(16).padStart(2, '0')}\r\n`)
    .join('')
    .repeat(PER_CHUNK / 2),
  'ascii',
);
measure('nmea_decode', PER_CHUNK, () => nmeaReader.push(nmeaChunk).filter((line) => decodeNmeaSentence(line).ok).length);

// One hour of 1 Hz fixes on a wobbly line, corrected as a whole: fixes per second of correction.
const hour: RawFix[] = Array.from({ length: 3600 }, (_, i) => ({
  t: i * 1000,
  latitude: 48 + (i * 3.5) / 111_195 + Math.sin(i) * 1e-5,
  longitude: 11 + Math.cos(i * 1.3) * 1e-5,
  hdop: 1,
}));
measure('gps_track_correct', hour.length, () => correctTrack(hour).raw.length, 'fixes/s');
