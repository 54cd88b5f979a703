/**
 * Simulated sensors. Each one samples on its own grid (`phase + k * period` ms from the Unix epoch) and
 * derives every value from its athlete and the sample index, so `emit(from, to)` is a pure function of the
 * range: ticks of any size, or one large range, give the same readings.
 */
import { METRICS, type MetricId, type Reading, type SensorInfo } from '@pulsebridge/protocol';
import { antSensorId } from '../ant/codec/messages.ts';
import { bleSensorId } from '../ble/config.ts';
import { CSAFE_ID_PREFIX } from '../serial/drivers/csafe-driver.ts';
import { NMEA_ID_PREFIX } from '../serial/drivers/nmea-driver.ts';
import { cumulative, type SimulatedAthlete } from './athlete.ts';
import { hashSigned, hashUnit, smoothNoise, type Mulberry32 } from './random.ts';
import type { ParkLoop } from './track.ts';
import { planIncline } from './workout.ts';

export type SensorKind = 'heart_rate' | 'bike' | 'treadmill' | 'rower' | 'gps';

/** Rates of the real devices being imitated. */
export const NATIVE_RATE_HZ: Record<SensorKind, number> = {
  heart_rate: 1, // BLE Heart Rate Measurement notifications
  bike: 4, // ANT+ FE-C channel period 8192/32768 s
  treadmill: 2, // BLE FTMS Treadmill Data
  rower: 2, // CSAFE status polled twice a second
  gps: 1, // NMEA fix rate of common receivers
};

const BATTERY_PERIOD_MS = 60_000;

export interface SensorSetup {
  readonly id: string;
  readonly name: string;
  readonly seed: number;
  /** Base of this sensor's noise streams; the sensor uses stream .. stream + 15. */
  readonly stream: number;
  readonly rateHz: number;
  /** Offset of the sample grid, as a fraction of the period. */
  readonly phase: number;
  readonly athlete: SimulatedAthlete;
}

export function quantize(metric: MetricId, value: number): number {
  const spec = METRICS[metric];
  const scale = 10 ** spec.decimals;
  const clamped = Math.min(spec.max, Math.max(spec.min, value));
  return Math.round(clamped * scale) / scale;
}

export abstract class SimulatedSensor {
  abstract readonly kind: SensorKind;
  abstract readonly metrics: readonly MetricId[];
  readonly id: string;
  readonly name: string;
  readonly rateHz: number;
  readonly periodMs: number;
  readonly phaseMs: number;
  readonly athlete: SimulatedAthlete;
  protected readonly seed: number;
  protected readonly stream: number;

  constructor(setup: SensorSetup) {
    this.id = setup.id;
    this.name = setup.name;
    this.seed = setup.seed;
    this.stream = setup.stream;
    this.rateHz = setup.rateHz;
    this.periodMs = 1000 / setup.rateHz;
    this.phaseMs = setup.phase * this.periodMs;
    this.athlete = setup.athlete;
  }

  info(): SensorInfo {
    return { id: this.id, kind: this.kind, source: 'simulator', name: this.name, metrics: [...this.metrics], rateHz: this.rateHz };
  }

  /** Time of sample k, whole ms; strictly increasing in k because the period is at least 10 ms. */
  sampleTime(k: number): number {
    return Math.floor(this.phaseMs + k * this.periodMs);
  }

  /** Appends every reading with from <= ts < to. */
  emit(fromMs: number, toMs: number, out: Reading[]): void {
    let k = Math.ceil((fromMs - this.phaseMs) / this.periodMs);
    while (this.sampleTime(k) < fromMs) k++;
    while (this.sampleTime(k - 1) >= fromMs) k--;
    for (let ts = this.sampleTime(k); ts < toMs; ts = this.sampleTime(++k)) this.sample(k, ts, out);
    this.emitOffGrid(fromMs, toMs, out);
  }

  protected abstract sample(k: number, ts: number, out: Reading[]): void;

  /** Readings that do not follow the sample grid (heartbeats, battery level). */
  protected emitOffGrid(_fromMs: number, _toMs: number, _out: Reading[]): void {}

  protected push(out: Reading[], metric: MetricId, ts: number, value: number): void {
    out.push({ sensor: this.id, metric, ts, value: quantize(metric, value) });
  }

  /** Seconds since the athlete's current session started. */
  protected sessionSecond(ts: number): number {
    return this.athlete.sessionMsAt(ts) / 1000;
  }

  /** The plan's intensity with the athlete's own slow wander around it. */
  protected effort(ts: number, second: number): number {
    return this.athlete.intensity(second) * (1 + 0.04 * smoothNoise(this.seed, this.stream, ts, 5_000));
  }
}

export class HeartRateStrap extends SimulatedSensor {
  readonly kind = 'heart_rate';
  readonly metrics: readonly MetricId[];
  private readonly rrIntervals: boolean;
  private readonly batteryLevel: number;
  private readonly batteryPhaseMs: number;

  constructor(setup: SensorSetup, rrIntervals: boolean) {
    super(setup);
    this.rrIntervals = rrIntervals;
    this.metrics = rrIntervals ? ['heart_rate', 'rr_interval', 'battery'] : ['heart_rate', 'battery'];
    this.batteryLevel = Math.round(35 + 65 * hashUnit(setup.seed, setup.stream + 15, 0));
    this.batteryPhaseMs = Math.floor(hashUnit(setup.seed, setup.stream + 15, 1) * BATTERY_PERIOD_MS);
  }

  protected sample(k: number, ts: number, out: Reading[]): void {
    const { restHr, maxHr } = this.athlete.profile;
    const noisy = this.athlete.heartRate(ts) + 1.2 * smoothNoise(this.seed, this.stream + 1, ts, 7_000) + 0.4 * hashSigned(this.seed, this.stream + 2, k);
    this.push(out, 'heart_rate', ts, Math.min(maxHr, Math.max(restHr, Math.round(noisy))));
  }

  protected override emitOffGrid(fromMs: number, toMs: number, out: Reading[]): void {
    if (this.rrIntervals) {
      // An RR interval is known when the beat that ends it happens; that beat's time is the reading's time.
      let n = this.athlete.firstBeatFrom(fromMs);
      let previous = this.athlete.beatTime(n - 1);
      for (let beat = this.athlete.beatTime(n); beat < toMs; beat = this.athlete.beatTime(++n)) {
        this.push(out, 'rr_interval', beat, beat - previous);
        previous = beat;
      }
    }
    let j = Math.ceil((fromMs - this.batteryPhaseMs) / BATTERY_PERIOD_MS);
    for (let ts = this.batteryPhaseMs + j * BATTERY_PERIOD_MS; ts < toMs; ts = this.batteryPhaseMs + ++j * BATTERY_PERIOD_MS) {
      this.push(out, 'battery', ts, this.batteryLevel);
    }
  }
}

const AIR_DENSITY = 1.2;
const DRAG_AREA_M2 = 0.32;
const ROLLING_RESISTANCE = 0.005;
const GRAVITY = 9.81;
const BIKE_MASS_KG = 9;

/** A smart trainer: reports power and cadence, and the speed the same power would give on a flat road. */
export class SmartTrainer extends SimulatedSensor {
  readonly kind = 'bike';
  readonly metrics: readonly MetricId[] = ['power', 'cadence', 'speed'];

  protected sample(k: number, ts: number, out: Reading[]): void {
    const intensity = this.effort(ts, this.sessionSecond(ts));
    const power = Math.max(0, Math.round(this.athlete.profile.ftpW * intensity * (1 + 0.03 * hashSigned(this.seed, this.stream + 1, k))));
    const cadence = 88 + 18 * (intensity - 0.75) + 3 * smoothNoise(this.seed, this.stream + 2, ts, 4_000);
    this.push(out, 'power', ts, power);
    this.push(out, 'cadence', ts, Math.round(Math.min(125, Math.max(55, cadence))));
    this.push(out, 'speed', ts, this.flatRoadSpeed(power));
  }

  private flatRoadSpeed(power: number): number {
    if (power <= 0) return 0;
    // Solve aero * v^3 + rolling * v = P by Newton's method; starting above the root makes it converge monotonically.
    const aero = 0.5 * AIR_DENSITY * DRAG_AREA_M2;
    const rolling = ROLLING_RESISTANCE * (this.athlete.profile.weightKg + BIKE_MASS_KG) * GRAVITY;
    let v = Math.cbrt(power / aero) + 1;
    for (let i = 0; i < 5; i++) v -= (aero * v * v * v + rolling * v - power) / (3 * aero * v * v + rolling);
    return v;
  }
}

/** Speed and distance of a session, tabulated per second from a speed the athlete holds during each second. */
class SessionDistance {
  private readonly speeds: Float32Array;
  private readonly totals: Float64Array;

  constructor(seconds: number, speedAt: (second: number) => number) {
    this.speeds = new Float32Array(seconds);
    for (let i = 0; i < seconds; i++) this.speeds[i] = speedAt(i);
    this.totals = cumulative(seconds, (i) => this.speeds[i]!);
  }

  speed(second: number): number {
    return this.speeds[Math.min(this.speeds.length - 1, Math.floor(second))]!;
  }

  distance(second: number): number {
    const i = Math.min(this.speeds.length - 1, Math.floor(second));
    return this.totals[i]! + this.speeds[i]! * (second - i);
  }
}

const MAX_TREADMILL_SPEED = 22 / 3.6;
/** Extra running cost of each % of grade: athletes slow down on a hill to hold the same effort. */
const COST_PER_GRADE_PERCENT = 0.04;

export class Treadmill extends SimulatedSensor {
  readonly kind = 'treadmill';
  readonly metrics: readonly MetricId[] = ['speed', 'incline', 'distance'];
  private table: SessionDistance | undefined;

  protected sample(k: number, ts: number, out: Reading[]): void {
    const second = this.sessionSecond(ts);
    const table = this.session();
    this.push(out, 'speed', ts, table.speed(second) + 0.01 * hashSigned(this.seed, this.stream + 1, k));
    this.push(out, 'incline', ts, planIncline(this.athlete.plan, second));
    this.push(out, 'distance', ts, table.distance(second));
  }

  private session(): SessionDistance {
    this.table ??= new SessionDistance(this.athlete.plan.seconds, (i) => {
      const { thresholdSpeed } = this.athlete.profile;
      const wanted = (thresholdSpeed * this.athlete.intensity(i)) / (1 + COST_PER_GRADE_PERCENT * planIncline(this.athlete.plan, i));
      // The belt runs at what the athlete dialled in: steps of 0.1 km/h.
      return Math.round(Math.min(MAX_TREADMILL_SPEED, Math.max(1, wanted)) * 36) / 36;
    });
    return this.table;
  }
}

/** Concept2's pace model: watts = 2.80 / (seconds per metre)^3. */
const ERG_CONSTANT = 2.8;

export class Rower extends SimulatedSensor {
  readonly kind = 'rower';
  readonly metrics: readonly MetricId[] = ['stroke_rate', 'power', 'distance'];
  private table: SessionDistance | undefined;

  protected sample(k: number, ts: number, out: Reading[]): void {
    const second = this.sessionSecond(ts);
    const intensity = this.effort(ts, second);
    const strokeRate = 20 + 14 * (intensity - 0.5) + smoothNoise(this.seed, this.stream + 2, ts, 6_000);
    this.push(out, 'stroke_rate', ts, Math.round(Math.min(40, Math.max(16, strokeRate))));
    this.push(out, 'power', ts, Math.round(this.athlete.profile.rowThresholdW * intensity * (1 + 0.05 * hashSigned(this.seed, this.stream + 1, k))));
    this.push(out, 'distance', ts, this.session().distance(second));
  }

  private session(): SessionDistance {
    this.table ??= new SessionDistance(this.athlete.plan.seconds, (i) => Math.cbrt((this.athlete.profile.rowThresholdW * this.athlete.intensity(i)) / ERG_CONSTANT));
    return this.table;
  }
}

export class GpsReceiver extends SimulatedSensor {
  readonly kind = 'gps';
  readonly metrics: readonly MetricId[] = ['latitude', 'longitude', 'altitude', 'gps_speed', 'heading'];
  private readonly loop: ParkLoop;
  private table: SessionDistance | undefined;

  constructor(setup: SensorSetup, loop: ParkLoop) {
    super(setup);
    this.loop = loop;
  }

  protected sample(k: number, ts: number, out: Reading[]): void {
    const second = this.sessionSecond(ts);
    const table = this.session();
    // Receiver error wanders by a few metres; course and speed come from Doppler and are steadier.
    const errorEast = 2 * smoothNoise(this.seed, this.stream + 1, ts, 10_000);
    const errorNorth = 2 * smoothNoise(this.seed, this.stream + 2, ts, 10_000);
    const fix = this.loop.locate(table.distance(second), this.athlete.profile.clockwise, errorEast, errorNorth);
    this.push(out, 'latitude', ts, fix.latitude);
    this.push(out, 'longitude', ts, fix.longitude);
    this.push(out, 'altitude', ts, fix.altitude + 1.5 * smoothNoise(this.seed, this.stream + 3, ts, 15_000));
    this.push(out, 'gps_speed', ts, Math.max(0, table.speed(second) + 0.08 * hashSigned(this.seed, this.stream + 4, k)));
    const heading = quantize('heading', (fix.heading + 2 * hashSigned(this.seed, this.stream + 5, k) + 360) % 360);
    this.push(out, 'heading', ts, heading >= 360 ? 0 : heading);
  }

  private session(): SessionDistance {
    this.table ??= new SessionDistance(this.athlete.plan.seconds, (i) => Math.max(1.2, this.athlete.profile.thresholdSpeed * this.athlete.intensity(i)));
    return this.table;
  }
}

/**
 * Simulated sensor ids, made by the real sources' own id builders so they have exactly the shape real ones
 * have (README, Sensors). Never contain `/`: ids go into URLs and topics.
 */
export function bleAddress(random: Mulberry32, prefix?: string): string {
  const bytes: number[] = [];
  // A random static BLE address has its two top bits set.
  for (let i = 0; i < 6; i++) bytes.push(i === 0 ? random.integer(0, 255) | 0xc0 : random.integer(0, 255));
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0'));
  const address = prefix ? `${prefix}:${hex.slice(3).join(':')}` : hex.join(':');
  const id = bleSensorId(address, undefined);
  if (id === undefined) throw new RangeError(`not a BLE address: ${address}`);
  return id;
}

/** ANT+ masters put bits 16-19 of the device number in the transmission type's upper nibble; 5 is the usual lower one. */
const ANT_TRANSMISSION_TYPE_LOW = 0x05;

export function antDeviceId(random: Mulberry32, deviceType: number): string {
  // Device number 0 is the search wildcard.
  const deviceNumber = random.integer(1, 0xfffff);
  return antSensorId({ deviceType, deviceNumber, transmissionType: ((deviceNumber >> 16) << 4) | ANT_TRANSMISSION_TYPE_LOW });
}

export function csafeSerialId(random: Mulberry32): string {
  return `${CSAFE_ID_PREFIX}${random.integer(430_000_000, 439_999_999)}`;
}

export function nmeaId(random: Mulberry32): string {
  return `${NMEA_ID_PREFIX}${random.integer(1, 999_999)}`;
}
