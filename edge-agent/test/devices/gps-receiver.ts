/**
 * A GPS receiver on a serial port: replays a generated run of laps around a 400 m athletics track as GGA
 * and RMC sentences, one fix per second of receiver time, with seeded Gaussian jitter, injected multipath
 * outliers and a dropout (no sentences at all). `--speedup 20` sends 20 fixes per wall second; the
 * sentences still carry 1 s steps, as a replayed log would.
 *
 * stdout: one JSON `start` event with the true track length (the path through the true positions of the
 * fixes that are sent, and the arc length run), then `done` after the last fix.
 *
 * Usage: node --import tsx edge-agent/test/devices/gps-receiver.ts --port <path> [--laps 2] [--speedup 1]
 *          [--outliers 30,90,170] [--dropout-start 130 --dropout-seconds 8] [--jitter 1.5] [--seed 7]
 */
import { haversineM } from '../../src/sources/gps/local-frame.ts';
import { LocalFrame } from '../../src/sources/gps/local-frame.ts';
import { nmeaChecksum } from '../../src/sources/serial/nmea/sentence.ts';
import { flags, numberFlag, openDevicePort, report } from './device-port.ts';

const values = flags({
  laps: { type: 'string' },
  speedup: { type: 'string' },
  outliers: { type: 'string' },
  'dropout-start': { type: 'string' },
  'dropout-seconds': { type: 'string' },
  jitter: { type: 'string' },
  seed: { type: 'string' },
  'start-delay-ms': { type: 'string' },
  'garbage-at': { type: 'string' },
});
const laps = numberFlag(values, 'laps', 2);
const speedup = numberFlag(values, 'speedup', 1);
const outliers = new Set(
  String(values['outliers'] ?? '30,90,170')
    .split(',')
    .filter(Boolean)
    .map(Number),
);
const dropoutStart = numberFlag(values, 'dropout-start', 130);
const dropoutSeconds = numberFlag(values, 'dropout-seconds', 8);
const jitterM = numberFlag(values, 'jitter', 1.5);
const startDelayMs = numberFlag(values, 'start-delay-ms', 300);
/** At this fix a sentence with a wrong checksum and a burst of line noise go out before the good sentences. */
const garbageAt = numberFlag(values, 'garbage-at', 50);
let seed = numberFlag(values, 'seed', 7) >>> 0;

const TRACK_M = 400;
const STRAIGHT_M = 84.39;
const RADIUS_M = (TRACK_M - 2 * STRAIGHT_M) / (2 * Math.PI);
const SPEED_MPS = 4;
const ORIGIN = { latitude: 52.5145, longitude: 13.3501 };
const ALTITUDE_M = 35;
const START_UTC = Date.UTC(2025, 0, 6, 12, 0, 0);
const frame = new LocalFrame(ORIGIN.latitude, ORIGIN.longitude);

/** Mulberry32: the same seed gives the same jitter in every run. */
function random(): number {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** Position (east, north) and course at distance `s` along the oval, counter-clockwise, starting on the east straight. */
function trackPoint(s: number): { east: number; north: number; course: number } {
  const d = ((s % TRACK_M) + TRACK_M) % TRACK_M;
  const half = STRAIGHT_M / 2;
  const bend = Math.PI * RADIUS_M;
  if (d < STRAIGHT_M) return { east: RADIUS_M, north: -half + d, course: 0 };
  if (d < STRAIGHT_M + bend) {
    const angle = (d - STRAIGHT_M) / RADIUS_M;
    return { east: RADIUS_M * Math.cos(angle), north: half + RADIUS_M * Math.sin(angle), course: (360 - (angle * 180) / Math.PI) % 360 };
  }
  if (d < 2 * STRAIGHT_M + bend) return { east: -RADIUS_M, north: half - (d - STRAIGHT_M - bend), course: 180 };
  const angle = (d - 2 * STRAIGHT_M - bend) / RADIUS_M;
  return { east: -RADIUS_M * Math.cos(angle), north: -half - RADIUS_M * Math.sin(angle), course: (180 - (angle * 180) / Math.PI + 360) % 360 };
}

function coordinate(value: number, axis: 'lat' | 'lon'): string {
  const absolute = Math.abs(value);
  const degrees = Math.floor(absolute);
  const minutes = (absolute - degrees) * 60;
  const hemisphere = axis === 'lat' ? (value >= 0 ? 'N' : 'S') : value >= 0 ? 'E' : 'W';
  return `${String(degrees).padStart(axis === 'lat' ? 2 : 3, '0')}${minutes.toFixed(5).padStart(8, '0')},${hemisphere}`;
}

const sentence = (body: string): string => `$${body}*${nmeaChecksum(body).toString(16).toUpperCase().padStart(2, '0')}\r\n`;

function hhmmss(utc: Date): string {
  return [utc.getUTCHours(), utc.getUTCMinutes(), utc.getUTCSeconds()].map((n) => String(n).padStart(2, '0')).join('') + '.00';
}

const fixes = Math.floor((laps * TRACK_M) / SPEED_MPS) + 1;
const sent: Array<{ latitude: number; longitude: number }> = [];
const lines: string[] = [];
for (let i = 0; i < fixes; i++) {
  if (i >= dropoutStart && i < dropoutStart + dropoutSeconds) {
    lines.push('');
    continue;
  }
  const truth = trackPoint(i * SPEED_MPS);
  sent.push(frame.toGeodetic(truth.east, truth.north));
  let east = truth.east + jitterM * gaussian();
  let north = truth.north + jitterM * gaussian();
  if (outliers.has(i)) {
    // Multipath off a grandstand: one fix tens of metres away.
    east += 60 + 40 * random();
    north += 40 + 40 * random();
  }
  const { latitude, longitude } = frame.toGeodetic(east, north);
  const utc = new Date(START_UTC + i * 1000);
  const time = hhmmss(utc);
  const altitude = (ALTITUDE_M + 0.5 * gaussian()).toFixed(1);
  const date = [utc.getUTCDate(), utc.getUTCMonth() + 1, utc.getUTCFullYear() % 100].map((n) => String(n).padStart(2, '0')).join('');
  const knots = ((SPEED_MPS / 1852) * 3600).toFixed(2);
  const garbage = i === garbageAt ? '$GPGGA,120000.00,5230.000,N,01321.000,E,1,09,0.9,35.0,M,47.0,M,,*00\r\n\u00ff\u00fe\u0001garbled\r\n' : '';
  lines.push(
    garbage +
      sentence(`GPGGA,${time},${coordinate(latitude, 'lat')},${coordinate(longitude, 'lon')},1,09,0.9,${altitude},M,47.0,M,,`) +
      sentence(`GPRMC,${time},A,${coordinate(latitude, 'lat')},${coordinate(longitude, 'lon')},${knots},${truth.course.toFixed(1)},${date},,,A`),
  );
}

let sampledLength = 0;
for (let i = 1; i < sent.length; i++) {
  const a = sent[i - 1] as { latitude: number; longitude: number };
  const b = sent[i] as { latitude: number; longitude: number };
  sampledLength += haversineM(a.latitude, a.longitude, b.latitude, b.longitude);
}

const port = await openDevicePort(String(values['port']), 9600);
report({ event: 'start', fixes, sentFixes: sent.length, garbageAt, trueLengthM: sampledLength, arcLengthM: (fixes - 1) * SPEED_MPS, outliers: [...outliers] });
await new Promise((resolve) => setTimeout(resolve, startDelayMs));
let next = 0;
const timer = setInterval(() => {
  const text = lines[next++];
  if (text === undefined) {
    clearInterval(timer);
    port.drain(() => report({ event: 'done' }));
    return;
  }
  if (text) port.write(text);
}, 1000 / speedup);
