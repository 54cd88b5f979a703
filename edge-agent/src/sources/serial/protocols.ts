/**
 * The serial protocols the agent speaks, in one table: adding a device kind = a decoder folder, a line here
 * and its vectors test. Each entry says how to cut the byte stream into frames and how to decode a frame;
 * the serial source owns the port, the polling and the timeouts.
 */
import type { Decoded } from '../measurement.ts';
import { CsafeFrameReader } from './csafe/frame.ts';
import type { AsciiLineReader } from './line-reader.ts';
import { decodeCsafeResponse } from './csafe/decode.ts';
import { createNmeaLineReader, decodeNmeaSentence } from './nmea/sentence.ts';
import { WATERROWER_BAUD_RATE, createWaterRowerLineReader } from './waterrower/protocol.ts';
import { decodeWaterRowerLine } from './waterrower/memory.ts';

/** Bytes in, decoded frames out; counts what it skipped. */
export interface SerialFramer {
  push(chunk: Uint8Array): Decoded[];
  /** Frames or lines dropped before decoding (bad checksum, bad stuffing, over-long, noise); decoder refusals come back from push(). */
  dropped(): number;
  reset(): void;
}

const droppedLines = (reader: AsciiLineReader): number => reader.counters.tooLong + reader.counters.notAscii;

export interface SerialProtocol {
  description: string;
  /** Default line speed; USB CDC devices ignore it. */
  baudRate: number;
  createFramer(): SerialFramer;
}

export type SerialProtocolId = 'csafe' | 'waterrower' | 'nmea';

export const SERIAL_PROTOCOLS: Readonly<Record<SerialProtocolId, SerialProtocol>> = {
  csafe: {
    description: 'CSAFE fitness equipment (Concept2 PM and others)',
    baudRate: 9600,
    createFramer: () => {
      const reader = new CsafeFrameReader();
      return {
        push: (chunk) => reader.push(chunk).map((frame) => decodeCsafeResponse(frame.contents)),
        dropped: () => Object.values(reader.counters.rejected).reduce((sum, count) => sum + count, 0),
        reset: () => reader.reset(),
      };
    },
  },
  waterrower: {
    description: 'WaterRower S4/S5 monitor (USB ASCII protocol)',
    baudRate: WATERROWER_BAUD_RATE,
    createFramer: () => {
      const reader = createWaterRowerLineReader();
      return { push: (chunk) => reader.push(chunk).map(decodeWaterRowerLine), dropped: () => droppedLines(reader), reset: () => reader.reset() };
    },
  },
  nmea: {
    description: 'GPS receiver speaking NMEA 0183 (GGA, RMC)',
    baudRate: 9600,
    createFramer: () => {
      const reader = createNmeaLineReader();
      return { push: (chunk) => reader.push(chunk).map(decodeNmeaSentence), dropped: () => droppedLines(reader), reset: () => reader.reset() };
    },
  },
};
