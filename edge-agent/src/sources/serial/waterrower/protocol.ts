/**
 * WaterRower S4/S5 USB protocol ("Water Rower S4 & S5 USB Protocol Issue 1.04"): ASCII packets ending in
 * CR LF, at most 50 bytes including the ending, over a CDC serial port opened at 19 200 baud 8N1.
 * The agent sends `USB` to start a session (the monitor answers `_WR_`), then polls memory locations with
 * `IRS`/`IRD`/`IRT` (1, 2 or 3 bytes); the monitor also sends unsolicited stroke and pulse packets.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';
import { AsciiLineReader } from '../line-reader.ts';

export const WATERROWER_BAUD_RATE = 19_200;
/** 50 bytes per packet including CR LF. */
export const WATERROWER_MAX_LINE = 48;
/** The monitor wants at least this long between two packets from the PC. */
export const WATERROWER_MIN_SEND_INTERVAL_MS = 25;

/** Raised by encoders for arguments our own code got wrong; decoding never throws. */
export class WaterRowerEncodeError extends PulsebridgeError<'invalid_argument'> {}

export type MemorySize = 1 | 2 | 3;
const READ_PREFIX: Record<MemorySize, string> = { 1: 'IRS', 2: 'IRD', 3: 'IRT' };
const DATA_PREFIX: Record<string, MemorySize> = { IDS: 1, IDD: 2, IDT: 3 };

const CRLF = '\r\n';
const line = (text: string): Uint8Array => Buffer.from(text + CRLF, 'ascii');

function hexDigits(value: number, digits: number, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value >= 16 ** digits) throw new WaterRowerEncodeError('invalid_argument', `${what} ${value} does not fit ${digits} hex digits`);
  return value.toString(16).toUpperCase().padStart(digits, '0');
}

export const encodeStartSession = (): Uint8Array => line('USB');
export const encodeExit = (): Uint8Array => line('EXIT');
export const encodeReset = (): Uint8Array => line('RESET');
export const encodeModelRequest = (): Uint8Array => line('IV?');
export const encodeMemoryRead = (size: MemorySize, address: number): Uint8Array => line(READ_PREFIX[size] + hexDigits(address, 3, 'address'));

/** Distance units for a single distance workout. */
export const WorkoutUnit = { metres: 1, miles: 2, kilometres: 3, strokes: 4 } as const;
export const encodeDistanceWorkout = (unit: number, distance: number): Uint8Array => line(`WSI${hexDigits(unit, 1, 'unit')}${hexDigits(distance, 4, 'distance')}`);
export const encodeDurationWorkout = (seconds: number): Uint8Array => line(`WSU${hexDigits(seconds, 4, 'duration')}`);

export type WaterRowerPacket =
  | { kind: 'hardware'; type: string }
  | { kind: 'ok' | 'error' | 'ping' | 'stroke_start' | 'stroke_end' }
  | { kind: 'model'; model: 4 | 5; firmware: string }
  | { kind: 'memory'; address: number; size: MemorySize; value: number; bytes: number[] }
  | { kind: 'pulses'; count: number };

export type ParsedPacket = { ok: true; packet: WaterRowerPacket } | { ok: false; reason: string };

const SIMPLE: Record<string, WaterRowerPacket> = {
  OK: { kind: 'ok' },
  ERROR: { kind: 'error' },
  PING: { kind: 'ping' },
  SS: { kind: 'stroke_start' },
  SE: { kind: 'stroke_end' },
};

const MEMORY = /^(ID[SDT])([0-9A-F]{3})([0-9A-F]+)$/;
const MODEL = /^IV([45])(\d{2})(\d{2})$/;
const PULSES = /^P([0-9A-F]{2})$/;

export function parseWaterRowerPacket(text: string): ParsedPacket {
  const simple = SIMPLE[text];
  if (simple) return { ok: true, packet: simple };
  if (text === '_WR_') return { ok: true, packet: { kind: 'hardware', type: 'WR' } };
  const memory = MEMORY.exec(text);
  if (memory) {
    const [, prefix, addressHex, dataHex] = memory as unknown as [string, string, string, string];
    const size = DATA_PREFIX[prefix] as MemorySize;
    if (dataHex.length !== size * 2) return { ok: false, reason: `${prefix} needs ${size * 2} hex digits of data, got ${dataHex.length}: ${text}` };
    // The monitor sends the highest address first: the last byte on the wire is the one at `address`.
    const bytes: number[] = [];
    for (let i = size - 1; i >= 0; i--) bytes.push(Number.parseInt(dataHex.slice(i * 2, i * 2 + 2), 16));
    const value = bytes.reduce((sum, byte, index) => sum + byte * 256 ** index, 0);
    return { ok: true, packet: { kind: 'memory', address: Number.parseInt(addressHex, 16), size, value, bytes } };
  }
  const model = MODEL.exec(text);
  if (model) {
    const [, modelDigit, high, low] = model as unknown as [string, string, string, string];
    return { ok: true, packet: { kind: 'model', model: modelDigit === '4' ? 4 : 5, firmware: `${high}.${low}` } };
  }
  const pulses = PULSES.exec(text);
  if (pulses) return { ok: true, packet: { kind: 'pulses', count: Number.parseInt(pulses[1] as string, 16) } };
  return { ok: false, reason: `unknown WaterRower packet: ${JSON.stringify(text.slice(0, WATERROWER_MAX_LINE))}` };
}

export function createWaterRowerLineReader(): AsciiLineReader {
  return new AsciiLineReader({ maxLength: WATERROWER_MAX_LINE });
}
