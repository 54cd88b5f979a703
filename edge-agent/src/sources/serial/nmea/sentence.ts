/**
 * NMEA 0183 GGA and RMC sentences: `$` talker+type `,` fields `*` checksum CR LF. The checksum (XOR of every
 * character between `$` and `*`) is required: a GPS on a noisy UART garbles digits, and a garbled
 * coordinate is worse than none. A fix the receiver marks invalid (RMC status V, GGA quality 0, empty
 * coordinates) is refused even when numbers are present.
 */
import type { Decoded, Measurement } from '../../measurement.ts';
import { refused } from '../../measurement.ts';
import { AsciiLineReader } from '../line-reader.ts';

/** NMEA says 82 characters; some receivers write longer proprietary sentences, which are skipped anyway. */
export const NMEA_MAX_LINE = 120;
const METRES_PER_SECOND_PER_KNOT = 1852 / 3600;

export interface GgaFix {
  type: 'GGA';
  talker: string;
  /** Seconds since UTC midnight. */
  timeOfDaySeconds: number;
  latitude: number;
  longitude: number;
  /** 1 GPS, 2 DGPS, 3 PPS, 4 RTK fixed, 5 RTK float, 6 estimated. */
  quality: number;
  satellites?: number;
  hdop?: number;
  /** Above mean sea level. */
  altitude?: number;
  geoidSeparation?: number;
}

export interface RmcFix {
  type: 'RMC';
  talker: string;
  timeOfDaySeconds: number;
  /** UTC time of the fix in ms, when the date field is present: what a box without a real-time clock needs. */
  utcMs?: number;
  latitude: number;
  longitude: number;
  speed?: number;
  course?: number;
}

export type NmeaSentence = GgaFix | RmcFix | { type: 'other'; talker: string; sentence: string };
export type ParsedSentence = { ok: true; sentence: NmeaSentence } | { ok: false; reason: string };

export function nmeaChecksum(body: string): number {
  let xor = 0;
  for (let i = 0; i < body.length; i++) xor ^= body.charCodeAt(i);
  return xor;
}

const DECIMAL = /^-?\d+(\.\d+)?$/;
const UNSIGNED_DECIMAL = /^\d+(\.\d+)?$/;

function optionalNumber(field: string | undefined, pattern = DECIMAL): number | undefined | string {
  if (field === undefined || field === '') return undefined;
  return pattern.test(field) ? Number(field) : `"${field}" is not a number`;
}

function parseTime(field: string | undefined): number | string {
  const match = /^(\d{2})(\d{2})(\d{2}(\.\d+)?)$/.exec(field ?? '');
  if (!match) return `time "${field ?? ''}" is not hhmmss.ss`;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  const seconds = Number(match[3]);
  // 60 allows a leap second.
  if (hours > 23 || minutes > 59 || seconds >= 61) return `time "${field}" is out of range`;
  return hours * 3600 + minutes * 60 + seconds;
}

/** `ddmm.mmmm` / `dddmm.mmmm` plus hemisphere into signed decimal degrees. */
function parseCoordinate(value: string | undefined, hemisphere: string | undefined, axis: 'latitude' | 'longitude'): number | string {
  const degreeDigits = axis === 'latitude' ? 2 : 3;
  const match = new RegExp(`^(\\d{${degreeDigits}})(\\d{2}(\\.\\d+)?)$`).exec(value ?? '');
  if (!match) return `${axis} "${value ?? ''}" is not ${axis === 'latitude' ? 'ddmm.mmmm' : 'dddmm.mmmm'}`;
  const degrees = Number(match[1]);
  const minutes = Number(match[2]);
  const limit = axis === 'latitude' ? 90 : 180;
  if (minutes >= 60 || degrees + minutes / 60 > limit) return `${axis} "${value}" is out of range`;
  const positive = axis === 'latitude' ? 'N' : 'E';
  const negative = axis === 'latitude' ? 'S' : 'W';
  if (hemisphere !== positive && hemisphere !== negative) return `${axis} hemisphere "${hemisphere ?? ''}" is not ${positive} or ${negative}`;
  const decimal = degrees + minutes / 60;
  return hemisphere === negative ? -decimal : decimal;
}

function position(fields: string[], at: number): { latitude: number; longitude: number } | string {
  if (!fields[at] && !fields[at + 2]) return 'no position (empty coordinates)';
  const latitude = parseCoordinate(fields[at], fields[at + 1], 'latitude');
  if (typeof latitude === 'string') return latitude;
  const longitude = parseCoordinate(fields[at + 2], fields[at + 3], 'longitude');
  if (typeof longitude === 'string') return longitude;
  return { latitude, longitude };
}

function parseGga(talker: string, fields: string[]): GgaFix | string {
  if (fields.length < 14) return `GGA has ${fields.length} fields, needs 14`;
  const time = parseTime(fields[0]);
  if (typeof time === 'string') return time;
  const quality = optionalNumber(fields[5], /^\d$/);
  if (typeof quality !== 'number') return `fix quality "${fields[5] ?? ''}" is not a digit`;
  if (quality === 0) return 'no fix (GGA quality 0)';
  // 7 is a position typed in by hand, 8 a simulator: neither is where the athlete is.
  if (quality > 6) return `fix quality ${quality} is not a measured position`;
  const where = position(fields, 1);
  if (typeof where === 'string') return where;
  const satellites = optionalNumber(fields[6], /^\d+$/);
  const hdop = optionalNumber(fields[7], UNSIGNED_DECIMAL);
  const altitude = optionalNumber(fields[8]);
  const geoidSeparation = optionalNumber(fields[10]);
  for (const [name, value] of [
    ['satellites', satellites],
    ['HDOP', hdop],
    ['altitude', altitude],
    ['geoid separation', geoidSeparation],
  ] as const) {
    if (typeof value === 'string') return `${name}: ${value}`;
  }
  if (altitude !== undefined && fields[9] !== 'M') return `altitude unit "${fields[9] ?? ''}" is not M`;
  const fix: GgaFix = { type: 'GGA', talker, timeOfDaySeconds: time, ...where, quality };
  if (typeof satellites === 'number') fix.satellites = satellites;
  if (typeof hdop === 'number') fix.hdop = hdop;
  if (typeof altitude === 'number') fix.altitude = altitude;
  if (typeof geoidSeparation === 'number') fix.geoidSeparation = geoidSeparation;
  return fix;
}

function parseRmc(talker: string, fields: string[]): RmcFix | string {
  if (fields.length < 11) return `RMC has ${fields.length} fields, needs at least 11`;
  const time = parseTime(fields[0]);
  if (typeof time === 'string') return time;
  if (fields[1] === 'V') return 'void fix (RMC status V)';
  if (fields[1] !== 'A') return `RMC status "${fields[1] ?? ''}" is not A or V`;
  // NMEA 2.3 mode indicator N means "data not valid" even with status A on some receivers.
  if (fields[11] === 'N') return 'no fix (RMC mode N)';
  const where = position(fields, 2);
  if (typeof where === 'string') return where;
  const knots = optionalNumber(fields[6], UNSIGNED_DECIMAL);
  if (typeof knots === 'string') return `speed: ${knots}`;
  const course = optionalNumber(fields[7], UNSIGNED_DECIMAL);
  if (typeof course === 'string') return `course: ${course}`;
  if (course !== undefined && course > 360) return `course ${course} is not in [0, 360]`;
  const fix: RmcFix = { type: 'RMC', talker, timeOfDaySeconds: time, ...where };
  if (knots !== undefined) fix.speed = knots * METRES_PER_SECOND_PER_KNOT;
  if (course !== undefined) fix.course = course === 360 ? 0 : course;
  const date = /^(\d{2})(\d{2})(\d{2})$/.exec(fields[8] ?? '');
  if (date) {
    const day = Number(date[1]);
    const month = Number(date[2]);
    // Two-digit years: receivers in service today were all built after 1980 (GPS epoch).
    const year = 2000 + Number(date[3]) - (Number(date[3]) >= 80 ? 100 : 0);
    const midnight = Date.UTC(year, month - 1, day);
    if (month < 1 || month > 12 || day < 1 || new Date(midnight).getUTCDate() !== day) return `date "${fields[8]}" is not a date`;
    fix.utcMs = midnight + Math.round(time * 1000);
  } else if (fields[8]) return `date "${fields[8]}" is not ddmmyy`;
  return fix;
}

/** One line (with or without CR LF); text before the last `$` is line noise and ignored. */
export function parseNmeaSentence(line: string): ParsedSentence {
  const start = line.lastIndexOf('$');
  if (start < 0) return { ok: false, reason: 'no $ start' };
  const text = line.slice(start).trimEnd();
  const star = text.indexOf('*');
  if (star < 0) return { ok: false, reason: 'no checksum' };
  const body = text.slice(1, star);
  const written = text.slice(star + 1);
  if (!/^[0-9A-Fa-f]{2}$/.test(written)) return { ok: false, reason: `checksum "${written}" is not two hex digits` };
  const computed = nmeaChecksum(body);
  if (Number.parseInt(written, 16) !== computed)
    return { ok: false, reason: `checksum ${written.toUpperCase()} != computed ${computed.toString(16).toUpperCase().padStart(2, '0')}` };
  const [address = '', ...fields] = body.split(',');
  if (!/^(P[A-Z0-9]{3,8}|[A-Z]{2}[A-Z0-9]{3})$/.test(address)) return { ok: false, reason: `address "${address}" is not talker+type` };
  // Proprietary sentences ($P...) have no talker; they are valid but not for us.
  const talker = address.startsWith('P') ? 'P' : address.slice(0, 2);
  const type = address.startsWith('P') ? address.slice(1) : address.slice(2);
  const fix = type === 'GGA' ? parseGga(talker, fields) : type === 'RMC' ? parseRmc(talker, fields) : undefined;
  if (fix === undefined) return { ok: true, sentence: { type: 'other', talker, sentence: type } };
  return typeof fix === 'string' ? { ok: false, reason: `${type}: ${fix}` } : { ok: true, sentence: fix };
}

/**
 * One sentence into catalogue metrics. GGA gives the position and altitude, RMC the position, speed and
 * course; valid sentences of other types decode to nothing.
 */
export function decodeNmeaSentence(line: string): Decoded {
  const parsed = parseNmeaSentence(line);
  if (!parsed.ok) return refused(parsed.reason);
  const { sentence } = parsed;
  if (sentence.type === 'other') return { ok: true, measurements: [] };
  const measurements: Measurement[] = [
    { metric: 'latitude', value: sentence.latitude },
    { metric: 'longitude', value: sentence.longitude },
  ];
  if (sentence.type === 'GGA') {
    if (sentence.altitude !== undefined) measurements.push({ metric: 'altitude', value: sentence.altitude });
  } else {
    if (sentence.speed !== undefined) measurements.push({ metric: 'gps_speed', value: sentence.speed });
    if (sentence.course !== undefined) measurements.push({ metric: 'heading', value: sentence.course });
  }
  return { ok: true, measurements };
}

export function createNmeaLineReader(): AsciiLineReader {
  return new AsciiLineReader({ maxLength: NMEA_MAX_LINE });
}
