/**
 * The simulator source: a gym class of athletes, each with a heart-rate strap and one piece of equipment.
 *
 * Everything is a pure function of (seed, time): the same seed gives the same sensors, and the same time
 * gives the same values, whether readings are produced live by the tick timer or in bulk by `generate()`.
 */
import type { Reading, SensorInfo } from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import { LogRepeats, errorMessage } from '@pulsebridge/runtime';
import { FITNESS_EQUIPMENT_DEVICE_TYPE } from '../ant/profiles/fitness-equipment.ts';
import type { PairingState } from '../pairing-state.ts';
import { SensorBook } from '../sensor-book.ts';
import type { Source, SourceHealth, SourceSink, SourceState } from '../source.ts';
import { drawProfile, SimulatedAthlete, type AthleteProfile, type EquipmentKind } from './athlete.ts';
import { SimulatorError, type SimulatorConfig } from './config.ts';
import { hash32, Mulberry32, smoothNoise } from './random.ts';
import {
  antDeviceId,
  bleAddress,
  csafeSerialId,
  GpsReceiver,
  HeartRateStrap,
  NATIVE_RATE_HZ,
  nmeaId,
  Rower,
  SmartTrainer,
  Treadmill,
  type SensorSetup,
  type SimulatedSensor,
} from './sensors.ts';
import { ParkLoop } from './track.ts';

export type SimulatorOptions = SimulatorConfig & {
  /** Wall clock, UTC ms: the agent's Clock. */
  now: () => number;
  log: Logger;
  /** The hub's pairing list and window; consulted when `admission` is on. */
  pairing?: PairingState | undefined;
};

export interface SimulatedAthleteInfo {
  readonly profile: AthleteProfile;
  readonly sensors: readonly SensorInfo[];
}

const EQUIPMENT_ORDER: readonly EquipmentKind[] = ['bike', 'treadmill', 'rower', 'outdoor'];
const ID_STREAM = 0x1d5;
const LAYOUT_STREAM = 0x1a7;
/** A gap longer than this is a clock jump or a suspended machine, not a late timer: real sensors would not have buffered it. */
const MAX_CATCH_UP_MS = 5_000;
/** Chunk of time sorted together by `iterate()`: readings come out in time order. */
const CHUNK_MS = 1_000;
const STRAP_OUI = 'c4:7f:51';
const RSSI_STREAM = 0x55;
/** Simulated signal strengths, dBm: a room's worth of distances. */
const RSSI_RANGE = { strongest: -35, weakest: -90 } as const;
/** Each sensor's signal wanders a few dB around its own level, as a body moving on a machine makes it. */
const RSSI_DRIFT = { stream: 0x52_5353_00, dBm: 3, periodMs: 20_000 } as const;

/** How many athletes use each kind of equipment: proportional to the weights, largest remainders first. */
function equipmentCounts(athletes: number, mix: SimulatorConfig['equipment']): Map<EquipmentKind, number> {
  const weights = EQUIPMENT_ORDER.map((kind) => mix[kind]);
  const total = weights.reduce((a, b) => a + b, 0);
  const counts = new Map<EquipmentKind, number>(EQUIPMENT_ORDER.map((kind) => [kind, 0]));
  if (total <= 0) return counts;
  const exact = weights.map((w) => (athletes * w) / total);
  const floors = exact.map(Math.floor);
  let left = athletes - floors.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ i, remainder: e - floors[i]! })).sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    floors[i]!++;
    left--;
  }
  EQUIPMENT_ORDER.forEach((kind, i) => counts.set(kind, floors[i]!));
  return counts;
}

interface Population {
  athletes: SimulatedAthlete[];
  sensors: SimulatedSensor[];
}

function buildPopulation(config: SimulatorConfig): Population {
  const { seed } = config;
  // Equipment is dealt like cards from a shuffled deck, so every mix spreads across the room.
  const deck: (EquipmentKind | null)[] = [];
  for (const [kind, count] of equipmentCounts(config.athletes, config.equipment)) for (let i = 0; i < count; i++) deck.push(kind);
  while (deck.length < config.athletes) deck.push(null);
  const shuffle = new Mulberry32(hash32(seed, LAYOUT_STREAM, 0));
  for (let i = deck.length - 1; i > 0; i--) {
    const j = Math.floor(shuffle.next() * (i + 1));
    [deck[i], deck[j]] = [deck[j]!, deck[i]!];
  }
  const loop = new ParkLoop({ ...config.outdoor, rotationDeg: shuffle.between(0, 180) });
  const taken = new Set<string>();
  const uniqueId = (draw: () => string): string => {
    let id = draw();
    while (taken.has(id)) id = draw();
    taken.add(id);
    return id;
  };
  const athletes: SimulatedAthlete[] = [];
  const sensors: SimulatedSensor[] = [];
  for (let index = 0; index < config.athletes; index++) {
    const athlete = new SimulatedAthlete(seed, drawProfile(seed, index, deck[index]!));
    athletes.push(athlete);
    const ids = new Mulberry32(hash32(seed, ID_STREAM, index));
    const setup = (slot: number, id: string, name: string, nativeRateHz: number): SensorSetup => ({
      id,
      name: `${athlete.profile.label} ${name}`,
      seed,
      stream: (index * 2 + slot) * 16,
      rateHz: config.sensorRateHz ?? nativeRateHz,
      phase: ids.next(),
      athlete,
    });
    sensors.push(
      new HeartRateStrap(
        setup(
          0,
          uniqueId(() => bleAddress(ids, STRAP_OUI)),
          'heart-rate strap',
          NATIVE_RATE_HZ.heart_rate,
        ),
        config.rrIntervals,
      ),
    );
    switch (athlete.profile.equipment) {
      case 'bike':
        sensors.push(
          new SmartTrainer(
            setup(
              1,
              uniqueId(() => antDeviceId(ids, FITNESS_EQUIPMENT_DEVICE_TYPE)),
              'smart trainer',
              NATIVE_RATE_HZ.bike,
            ),
          ),
        );
        break;
      case 'treadmill':
        sensors.push(
          new Treadmill(
            setup(
              1,
              uniqueId(() => bleAddress(ids)),
              'treadmill',
              NATIVE_RATE_HZ.treadmill,
            ),
          ),
        );
        break;
      case 'rower':
        sensors.push(
          new Rower(
            setup(
              1,
              uniqueId(() => csafeSerialId(ids)),
              'rowing machine',
              NATIVE_RATE_HZ.rower,
            ),
          ),
        );
        break;
      case 'outdoor':
        sensors.push(
          new GpsReceiver(
            setup(
              1,
              uniqueId(() => nmeaId(ids)),
              'GPS',
              NATIVE_RATE_HZ.gps,
            ),
            loop,
          ),
        );
        break;
      case null:
        break;
    }
  }
  return { athletes, sensors };
}

function byTime(a: Reading, b: Reading): number {
  return a.ts - b.ts;
}

export class SimulatorSource implements Source {
  readonly name = 'simulator';
  private readonly config: SimulatorConfig;
  private readonly now: () => number;
  private readonly log: Logger;
  /** Errors that come with the data (a decoder bug) repeat at its rate: logged once, then counted. */
  private readonly repeats: LogRepeats;
  private readonly book: SensorBook;
  private population: Population | undefined;
  private timer: NodeJS.Timeout | undefined;
  private state: SourceState = 'stopped';
  private detail: string | undefined;
  /** Everything before this wall time has been emitted. */
  private cursor = 0;
  /** Each sensor, the signal strength it is heard at and the stream its drift is drawn from, by id. */
  private readonly radio = new Map<string, { sensor: SimulatedSensor; rssi: number; drift: number }>();

  /** `options` are trusted: the config loader checked them against SimulatorConfig. */
  constructor(options: SimulatorOptions) {
    const { now, log, pairing, ...config } = options;
    this.config = config;
    this.now = now;
    this.log = log;
    this.repeats = new LogRepeats(log);
    // Every simulated sensor is known at start with all its metrics: nothing to coalesce. In admission
    // mode only the configured override list is empty: what is admitted comes from the hub or a window.
    this.book = new SensorBook({
      source: 'simulator',
      now,
      log,
      coalesceMs: 0,
      admission: config.admission ? { allow: [], pairing } : undefined,
      // Its simulated signal, so the status carries one as a BLE source's does.
      linkOf: (entry) => ({ state: 'broadcast', rssi: this.signalAt(entry.id, entry.lastSeen ?? now()) }),
    });
  }

  private get emitted(): number {
    return this.book.stats().readings;
  }

  /** The simulated athletes and their sensors: what a demo needs to pair sensors to users. */
  athletes(): SimulatedAthleteInfo[] {
    const { athletes, sensors } = this.build();
    return athletes.map((athlete) => ({ profile: athlete.profile, sensors: sensors.filter((s) => s.athlete === athlete).map((s) => s.info()) }));
  }

  sensors(): SensorInfo[] {
    return this.build().sensors.map((s) => s.info());
  }

  /** Every reading with fromMs <= ts < toMs, in time order. Ignores maxReadings: that bounds live emission only. */
  generate(fromMs: number, toMs: number): Reading[] {
    const out: Reading[] = [];
    for (const chunk of this.iterate(fromMs, toMs)) for (const r of chunk) out.push(r);
    return out;
  }

  /** The same readings as `generate()`, a second at a time, for ranges too large to hold at once. */
  *iterate(fromMs: number, toMs: number): Generator<Reading[], void, undefined> {
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs < fromMs) {
      throw new SimulatorError('invalid_range', `generate needs finite fromMs <= toMs, got ${fromMs}..${toMs}`);
    }
    const from = Math.ceil(fromMs);
    const to = Math.ceil(toMs);
    for (let start = from; start < to; start += CHUNK_MS) yield this.collect(start, Math.min(to, start + CHUNK_MS));
  }

  async start(sink: SourceSink): Promise<void> {
    if (this.timer) return;
    const { sensors } = this.build();
    sensors.forEach((sensor, index) => {
      const rssi = RSSI_RANGE.weakest + (hash32(this.config.seed, RSSI_STREAM, index) % (RSSI_RANGE.strongest - RSSI_RANGE.weakest + 1));
      this.radio.set(sensor.id, { sensor, rssi, drift: RSSI_DRIFT.stream + index });
    });
    if (!this.config.admission) for (const sensor of sensors) this.addToBook(sensor);
    this.book.attach(sink);
    this.cursor = Math.floor(this.now());
    this.detail = undefined;
    this.state = 'running';
    this.book.publish();
    if (this.finishIfDone()) return;
    this.timer = setInterval(() => this.tick(), this.config.tickMs);
    this.log.info({ athletes: this.config.athletes, sensors: sensors.length, seed: this.config.seed, maxReadings: this.config.maxReadings }, 'simulator started');
  }

  async stop(): Promise<void> {
    this.clearTimer();
    if (this.state !== 'stopped') this.log.info({ readings: this.emitted }, 'simulator stopped');
    this.state = 'stopped';
    this.book.detach();
  }

  health(): SourceHealth {
    return this.book.health(this.state, this.detail);
  }

  /** The simulated signal of a sensor at a time, dBm: its own level plus a slow drift; a function of seed, sensor and time. */
  signalAt(id: string, atMs: number): number | undefined {
    const heard = this.radio.get(id);
    if (!heard) return undefined;
    const drifted = heard.rssi + Math.round(RSSI_DRIFT.dBm * smoothNoise(this.config.seed, heard.drift, atMs, RSSI_DRIFT.periodMs));
    return Math.max(-127, Math.min(20, drifted));
  }

  private build(): Population {
    this.population ??= buildPopulation(this.config);
    return this.population;
  }

  private collect(fromMs: number, toMs: number): Reading[] {
    const out: Reading[] = [];
    for (const sensor of this.build().sensors) sensor.emit(fromMs, toMs, out);
    // Stable sort: within one series, readings keep their increasing order.
    return out.sort(byTime);
  }

  private tick(): void {
    // A callback already queued when the timer was cleared must not emit.
    if (!this.timer) return;
    try {
      const until = Math.floor(this.now()) + 1;
      if (until <= this.cursor) {
        // The clock stepped back: wait for it to pass what was already emitted, so no series goes backwards.
        if (this.cursor - until > MAX_CATCH_UP_MS && this.detail === undefined) {
          this.detail = `clock stepped back; waiting until ${new Date(this.cursor).toISOString()}`;
          this.log.warn({ backMs: this.cursor - until }, 'simulator clock stepped back; pausing until it passes the last reading');
        }
        return;
      }
      this.detail = undefined;
      if (until - this.cursor > MAX_CATCH_UP_MS) {
        this.log.warn({ skippedMs: until - this.cursor - this.config.tickMs }, 'simulator clock jumped forward; not backfilling the gap');
        this.cursor = until - this.config.tickMs;
      }
      let readings = this.collect(this.cursor, until);
      this.cursor = until;
      const { maxReadings } = this.config;
      if (maxReadings !== undefined && this.emitted + readings.length > maxReadings) readings = readings.slice(0, maxReadings - this.emitted);
      if (this.config.admission) readings = this.admitted(readings);
      for (const reading of readings) this.book.deliver(reading);
      if (this.finishIfDone()) this.clearTimer();
    } catch (err) {
      this.repeats.error(`tick\u0000${errorMessage(err)}`, { err }, 'simulator tick failed');
    }
  }

  private addToBook(sensor: SimulatedSensor): void {
    this.book.add(sensor.id, { kind: sensor.kind, name: sensor.name, rateHz: sensor.rateHz, metrics: sensor.metrics, device: undefined });
  }

  /**
   * The readings of sensors admitted now, as a radio hears them: each sensor asks admission once a tick,
   * and enters the inventory when first admitted; one the hub unpaired stops, and is heard again by a
   * discovery window.
   */
  private admitted(readings: Reading[]): Reading[] {
    const verdicts = new Map<string, boolean>();
    return readings.filter((reading) => {
      let admitted = verdicts.get(reading.sensor);
      if (admitted === undefined) {
        const heard = this.radio.get(reading.sensor);
        admitted = heard !== undefined && this.book.admit(reading.sensor, { kind: heard.sensor.kind, rssi: heard.rssi });
        if (admitted && heard && !this.book.has(reading.sensor)) this.addToBook(heard.sensor);
        verdicts.set(reading.sensor, admitted);
      }
      return admitted;
    });
  }

  private finishIfDone(): boolean {
    const { maxReadings } = this.config;
    if (maxReadings === undefined || this.emitted < maxReadings) return false;
    this.state = 'stopped';
    this.detail = `emitted maxReadings (${maxReadings})`;
    this.log.info({ readings: this.emitted }, 'simulator reached maxReadings; emitting no more');
    return true;
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
