/**
 * The serial protocols the agent speaks, in one table: adding a device kind = a decoder folder, an entry
 * here and its vectors test. Each entry says how to cut the byte stream into frames, how to decode a frame,
 * and creates the driver that holds the conversation with the device (handshake, polling, timeouts); the
 * serial source owns the port and hands the driver what it reads.
 */
import type { Decoded } from '../measurement.ts';
import type { SerialSourceConfig } from './config.ts';
import { decodeCsafeResponse } from './csafe/decode.ts';
import { CsafeFrameReader } from './csafe/frame.ts';
import { CsafeDriver } from './drivers/csafe-driver.ts';
import type { SerialDriver } from './drivers/driver.ts';
import { NmeaDriver } from './drivers/nmea-driver.ts';
import { WaterRowerDriver } from './drivers/waterrower-driver.ts';
import type { AsciiLineReader } from './line-reader.ts';
import { createNmeaLineReader, decodeNmeaSentence } from './nmea/sentence.ts';
import { decodeWaterRowerLine } from './waterrower/memory.ts';
import { WATERROWER_BAUD_RATE, createWaterRowerLineReader } from './waterrower/protocol.ts';

/** Bytes in, decoded frames out; counts what it skipped. */
export interface SerialFramer {
  push(chunk: Uint8Array): Decoded[];
  /** Frames or lines dropped before decoding (bad checksum, bad stuffing, over-long, noise); decoder refusals come back from push(). */
  dropped(): number;
  reset(): void;
}

export interface SerialProtocol {
  description: string;
  /** Default line speed; USB CDC devices ignore it. */
  baudRate: number;
  createFramer(): SerialFramer;
  /** The driver of one port speaking this protocol, with the source's settings for it. */
  createDriver(config: SerialSourceConfig): SerialDriver;
}

export type SerialProtocolId = SerialSourceConfig['ports'][number]['protocol'];

const droppedLines = (reader: AsciiLineReader): number => reader.counters.tooLong + reader.counters.notAscii;

function csafeFramer(): SerialFramer {
  const reader = new CsafeFrameReader();
  return {
    push: (chunk) => reader.push(chunk).map((frame) => decodeCsafeResponse(frame.contents)),
    dropped: () => Object.values(reader.counters.rejected).reduce((sum, count) => sum + count, 0),
    reset: () => reader.reset(),
  };
}

function waterRowerFramer(): SerialFramer {
  const reader = createWaterRowerLineReader();
  return { push: (chunk) => reader.push(chunk).map(decodeWaterRowerLine), dropped: () => droppedLines(reader), reset: () => reader.reset() };
}

function nmeaFramer(): SerialFramer {
  const reader = createNmeaLineReader();
  return { push: (chunk) => reader.push(chunk).map(decodeNmeaSentence), dropped: () => droppedLines(reader), reset: () => reader.reset() };
}

export const SERIAL_PROTOCOLS: Readonly<Record<SerialProtocolId, SerialProtocol>> = {
  csafe: {
    description: 'CSAFE fitness equipment (Concept2 PM and others)',
    baudRate: 9600,
    createFramer: csafeFramer,
    createDriver: (config) => new CsafeDriver(config.csafe, csafeFramer()),
  },
  waterrower: {
    description: 'WaterRower S4/S5 monitor (USB ASCII protocol)',
    baudRate: WATERROWER_BAUD_RATE,
    createFramer: waterRowerFramer,
    createDriver: (config) => new WaterRowerDriver(config.waterrower, waterRowerFramer()),
  },
  nmea: {
    description: 'GPS receiver speaking NMEA 0183 (GGA, RMC)',
    baudRate: 9600,
    createFramer: nmeaFramer,
    // The NMEA driver reads sentences itself: it needs the parsed fix, not only the decoded measurements.
    createDriver: (config) => new NmeaDriver({ track: { maxSpeedMps: config.gps.maxSpeedMps } }),
  },
};
