/**
 * The live board of one running class run: a tile per athlete of the run (heart rate, % of max, zone, effort
 * points and calories so far, power, cadence, quiet), derived on each hub replica from three things every
 * replica has: the readings stream (domain.live), the bindings (document store) and the profiles (identity).
 * No board state is shared between replicas, so any replica can serve any board.
 *
 * Effort and calories follow results/metrics.ts second by second: a second's heart rate is the mean of its
 * readings, gaps of at most DEFAULT_MAX_GAP_S seconds are interpolated, each second in zone z earns
 * ZONE_EFFORT_POINTS_PER_MINUTE[z-1] / 60 points and Keytel's kJ/min / 60. A board opened mid-class reads the
 * run's readings so far from the series store (the same attribution and resampling as the results), then
 * counts live readings from the next whole second on.
 */
import type { SeriesReadings } from '@pulsebridge/protocol';
import { settlesWithin } from '@pulsebridge/runtime';
import type { Domain } from '../domain/domain.ts';
import { BOOKINGS } from '../domain/classes/collections.ts';
import { BINDINGS } from '../domain/pairing/collections.ts';
import { ageOn, maxHeartRateOf } from '../domain/profile/heart-rate.ts';
import { readingsOf, sensorIntervals } from '../domain/sessions/attribution.ts';
import { CLASS_RUNS, SESSIONS, type ClassRunDoc } from '../domain/sessions/collections.ts';
import { DEFAULT_PROFILE } from '../identity/identity-store.ts';
import { heartRateZone, keytelKilojoulesPerMinute, ZONE_EFFORT_POINTS_PER_MINUTE, type Sex } from '../results/metrics.ts';
import { DEFAULT_MAX_GAP_S, resampleSession } from '../results/streams.ts';
import { LISTENING_WAIT_MS, type LiveReadings } from './live-bus.ts';

export interface BoardTile {
  /** Stable for the run's board: what a `tiles` event's tiles replace. */
  tile: string;
  /** The athlete's user id; absent when they are shown by alias. */
  athlete?: string;
  /** Display name, or the alias the athlete chose. */
  name: string;
  heartRateBpm?: number;
  percentOfMax?: number;
  /** 0 (below 50 % of max) to 5; absent without a heart rate or a known maximum. */
  zone?: number;
  /** Absent when no maximum heart rate is known (no measured max and no birth date). */
  effortPoints?: number;
  /** Absent when the profile lacks weight, age or sex. */
  kcal?: number;
  powerW?: number;
  cadenceRpm?: number;
  /** The athlete's sensors sent nothing for `quietAfterMs`, or nothing yet. */
  quiet: boolean;
  /** Time of the athlete's latest reading, ISO 8601. */
  lastSeenAt?: string;
}

export type BoardEvent = { type: 'board'; tiles: BoardTile[] } | { type: 'tiles'; tiles: BoardTile[] } | { type: 'ended' };
export type BoardListener = (event: BoardEvent) => void;

export interface ClassBoardOptions {
  /** How often the whole board is sent (sessions.boardTickMs). */
  tickMs: number;
  /** No reading for this long: quiet (sessions.quietAfterMs). */
  quietAfterMs: number;
  /** How often bindings and the run's athletes are read again. */
  refreshMs?: number;
  /** How long changed tiles wait for the rest of a burst of readings before they are sent. */
  coalesceMs?: number;
}

export const DEFAULT_REFRESH_MS = 5_000;
export const DEFAULT_COALESCE_MS = 5;
/** A reading from a sensor no binding of the run maps makes the bindings be read again, at most this often. */
const UNKNOWN_SENSOR_REFRESH_MS = 1_000;
const KJ_PER_KCAL = 4.184;

/** Effort and energy of one athlete, one second at a time, as results/metrics.ts counts them. */
export class EffortCounter {
  effortPoints = 0;
  kilojoules = 0;
  /** Seconds before this one are counted already (history) and ignored. */
  private floor = 0;
  private lastCounted = -1;
  private lastBpm = 0;
  private readonly open = new Map<number, { sum: number; count: number }>();

  constructor(
    private readonly startMs: number,
    private readonly maxHeartRate: number | undefined,
    private readonly energy: { weightKg: number; ageYears: number; sex: Sex } | undefined,
  ) {}

  /** History: a 1 Hz heart-rate stream from the run's start (nulls where none); live seconds count from `untilSecond`. */
  countHistory(heartrate: readonly (number | null)[], untilSecond: number): void {
    for (let k = 0; k < heartrate.length && k < untilSecond; k++) {
      const bpm = heartrate[k];
      if (bpm === null || bpm === undefined) continue;
      this.countSecond(bpm);
      this.lastCounted = k;
      this.lastBpm = bpm;
    }
    this.floor = untilSecond;
  }

  add(ts: number, bpm: number): void {
    if (!Number.isFinite(bpm) || bpm < 0) return;
    const k = Math.floor((ts - this.startMs) / 1000);
    if (k < this.floor || k <= this.lastCounted) return;
    const second = this.open.get(k);
    if (second) {
      second.sum += bpm;
      second.count++;
    } else this.open.set(k, { sum: bpm, count: 1 });
    // A reading of a later second closes the earlier ones: sensors send in order.
    this.closeBefore(k);
  }

  /** Counts the seconds before `second` that are still open; true when any was. */
  closeBefore(second: number): boolean {
    const closing = [...this.open.keys()].filter((k) => k < second).sort((a, b) => a - b);
    for (const k of closing) {
      const { sum, count } = this.open.get(k)!;
      this.open.delete(k);
      const bpm = sum / count;
      const gap = k - this.lastCounted - 1;
      if (this.lastCounted >= 0 && gap > 0 && gap <= DEFAULT_MAX_GAP_S) {
        for (let i = 1; i <= gap; i++) this.countSecond(this.lastBpm + ((bpm - this.lastBpm) * i) / (gap + 1));
      }
      this.countSecond(bpm);
      this.lastCounted = k;
      this.lastBpm = bpm;
    }
    return closing.length > 0;
  }

  secondAt(ms: number): number {
    return Math.floor((ms - this.startMs) / 1000);
  }

  private countSecond(bpm: number): void {
    if (this.maxHeartRate !== undefined) {
      const zone = heartRateZone(bpm, this.maxHeartRate);
      if (zone > 0) this.effortPoints += ZONE_EFFORT_POINTS_PER_MINUTE[zone - 1]! / 60;
    }
    if (this.energy) this.kilojoules += keytelKilojoulesPerMinute(bpm, this.energy.weightKg, this.energy.ageYears, this.energy.sex) / 60;
  }
}

interface AthleteState {
  tile: string;
  athlete: string;
  name: string;
  byAlias: boolean;
  maxHeartRate: number | undefined;
  effort: EffortCounter;
  hasEnergy: boolean;
  heartRateBpm?: number;
  powerW?: number;
  cadenceRpm?: number;
  lastSeenAt?: number;
  /** Time of the latest reading shown, per metric. */
  latestAt: Map<string, number>;
}

export class ClassBoard {
  private readonly listeners = new Set<BoardListener>();
  private readonly athletes = new Map<string, AthleteState>();
  /** Sensor -> athlete, from the active bindings in the gym of the run's (visible) athletes. */
  private sensors = new Map<string, string>();
  /** Athletes of the run hidden by their choice: known, so their sensors do not count as unknown. */
  private hidden = new Set<string>();
  private readonly changed = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Readings that arrived while the history was read; applied after it. */
  private pending: LiveReadings[] | undefined = [];
  private lastUnknownRefresh = -Infinity;
  private nextTile = 1;
  private stopped = false;
  ended = false;

  constructor(
    private readonly domain: Domain,
    private run: ClassRunDoc,
    private readonly options: ClassBoardOptions,
  ) {}

  get id(): string {
    return this.run.id;
  }

  /** Subscribes to the gym's readings, reads the run's athletes, bindings and readings so far, then starts ticking. */
  async start(): Promise<void> {
    this.unsubscribe = this.domain.live.subscribe({ gym: this.run.gym }, (readings) => this.onReadings(readings));
    try {
      // Readings other replicas store after the load below must reach the board: listen before reading (bounded:
      // with Redis out of reach the board still shows this replica's readings).
      await settlesWithin(this.domain.live.listening(), LISTENING_WAIT_MS);
      await this.load();
    } catch (error) {
      this.stop();
      throw error;
    }
    const pending = this.pending ?? [];
    this.pending = undefined;
    for (const readings of pending) this.onReadings(readings);
    this.tickTimer = setInterval(() => void this.tick().catch((err: unknown) => this.domain.log.warn({ err, run: this.run.id }, 'live board tick failed')), this.options.tickMs);
    this.tickTimer.unref();
    this.refreshTimer = setInterval(
      () => void this.refresh().catch((err: unknown) => this.domain.log.warn({ err, run: this.run.id }, 'live board could not read bindings')),
      this.options.refreshMs ?? DEFAULT_REFRESH_MS,
    );
    this.refreshTimer.unref();
  }

  /** The run's athletes, their bindings and their readings so far: the tiles as of now, without following readings. */
  async load(): Promise<void> {
    await this.refresh();
    await this.readHistory();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.tickTimer);
    clearInterval(this.refreshTimer);
    clearTimeout(this.flushTimer);
    this.listeners.clear();
  }

  listen(listener: BoardListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get viewers(): number {
    return this.listeners.size;
  }

  tiles(): BoardTile[] {
    const now = this.domain.now();
    return [...this.athletes.values()].map((state) => this.tileOf(state, now));
  }

  /**
   * Once a tick: closes the seconds no reading can still join, marks quiet sensors, sends the whole board; ends
   * the board when the run ended.
   */
  async tick(): Promise<void> {
    const run = await this.domain.documents.collection(CLASS_RUNS).get(this.run.id);
    if (this.stopped) return;
    if (run === undefined || run.state !== 'running') {
      this.end();
      return;
    }
    this.run = run;
    const now = this.domain.now();
    for (const state of this.athletes.values()) state.effort.closeBefore(state.effort.secondAt(now) - 1);
    this.emit({ type: 'board', tiles: this.tiles() });
  }

  /** Reads the run's athletes, their profiles and the bindings again (athletes book late, sensors are re-bound). */
  async refresh(): Promise<void> {
    const { documents, identity } = this.domain;
    const [sessions, bookings, bindings] = await Promise.all([
      documents.collection(SESSIONS).find({ run: this.run.id }),
      documents.collection(BOOKINGS).find({ occurrence: this.run.id, status: 'booked', active: true }),
      documents.collection(BINDINGS).find({ gym: this.run.gym, active: true }),
    ]);
    const ids = new Set([...sessions.filter((s) => s.kind === 'class').map((s) => s.athlete), ...bookings.map((b) => b.user)]);
    const hidden = new Set<string>();
    for (const athlete of ids) {
      if (this.athletes.has(athlete) || this.hidden.has(athlete)) continue;
      const [user, profile] = await Promise.all([identity.getUser(athlete), identity.getProfile(athlete)]);
      const fields = profile ?? DEFAULT_PROFILE;
      if (fields.boardVisibility === 'hidden') {
        hidden.add(athlete);
        continue;
      }
      const max = maxHeartRateOf(fields, this.run.startedAt)?.bpm;
      const age = fields.birthDate === undefined ? undefined : ageOn(fields.birthDate, this.run.startedAt);
      const energy =
        fields.weightKg !== undefined && fields.weightKg > 0 && age !== undefined && (fields.sex === 'male' || fields.sex === 'female')
          ? { weightKg: fields.weightKg, ageYears: age, sex: fields.sex }
          : undefined;
      const byAlias = fields.boardVisibility === 'alias';
      this.athletes.set(athlete, {
        tile: `t${this.nextTile++}`,
        athlete,
        name: byAlias ? (fields.boardAlias ?? 'Athlete') : (user?.displayName ?? 'Athlete'),
        byAlias,
        maxHeartRate: max,
        effort: new EffortCounter(this.run.startedAt, max, energy),
        hasEnergy: energy !== undefined,
        latestAt: new Map(),
      });
    }
    for (const athlete of hidden) this.hidden.add(athlete);
    const sensors = new Map<string, string>();
    for (const binding of bindings) if (this.athletes.has(binding.athlete) || this.hidden.has(binding.athlete)) sensors.set(binding.sensor, binding.athlete);
    this.sensors = sensors;
  }

  /** The readings of each athlete since the run's start, so a board opened mid-class shows the effort so far. */
  private async readHistory(): Promise<void> {
    const now = this.domain.now();
    const cutSecond = Math.max(0, Math.floor((now - this.run.startedAt) / 1000));
    const cut = this.run.startedAt + cutSecond * 1000;
    await Promise.all(
      [...this.athletes.values()].map(async (state) => {
        const intervals = await sensorIntervals(this.domain.documents, this.run.gym, state.athlete, this.run.startedAt, Math.max(now, this.run.startedAt + 1));
        const readings = await readingsOf(this.domain.series, this.run.gym, intervals);
        const streams = resampleSession(readings, { startMs: this.run.startedAt, endMs: cut });
        state.effort.countHistory(streams.heartrate ?? [], cutSecond);
        // The latest values before the cut stand until live readings replace them.
        for (const [stream, metric, set] of [
          [readings.heartrate, 'heart_rate', (v: number) => (state.heartRateBpm = v)],
          [readings.watts, 'power', (v: number) => (state.powerW = v)],
          [readings.cadence, 'cadence', (v: number) => (state.cadenceRpm = v)],
        ] as const) {
          const latest = (stream ?? []).reduce<readonly [number, number] | undefined>((a, r) => (a === undefined || r[0] >= a[0] ? r : a), undefined);
          if (latest === undefined) continue;
          set(latest[1]);
          state.latestAt.set(metric, latest[0]);
          state.lastSeenAt = Math.max(state.lastSeenAt ?? -Infinity, latest[0]);
        }
      }),
    );
  }

  private onReadings(readings: LiveReadings): void {
    if (this.stopped) return;
    if (this.pending) {
      this.pending.push(readings);
      return;
    }
    for (const series of readings.series) {
      const athlete = this.sensors.get(series.sensor);
      if (athlete === undefined) {
        this.refreshForUnknownSensor();
        continue;
      }
      const state = this.athletes.get(athlete);
      if (state === undefined) continue;
      if (this.apply(state, series)) this.changed.add(athlete);
    }
    if (this.changed.size > 0 && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flush(), this.options.coalesceMs ?? DEFAULT_COALESCE_MS);
    }
  }

  private apply(state: AthleteState, series: SeriesReadings): boolean {
    if (series.ts.length === 0) return false;
    let latestAt = -Infinity;
    let latest = 0;
    for (let i = 0; i < series.ts.length; i++) {
      const ts = series.ts[i]!;
      const value = series.values[i]!;
      if (series.metric === 'heart_rate') state.effort.add(ts, value);
      if (ts >= latestAt) {
        latestAt = ts;
        latest = value;
      }
    }
    // A backlog batch older than what the tile shows counts for effort but does not replace the current values.
    if (latestAt < (state.latestAt.get(series.metric) ?? -Infinity)) return false;
    state.latestAt.set(series.metric, latestAt);
    if (series.metric === 'heart_rate') state.heartRateBpm = latest;
    else if (series.metric === 'power') state.powerW = latest;
    else if (series.metric === 'cadence') state.cadenceRpm = latest;
    else return false;
    state.lastSeenAt = Math.max(state.lastSeenAt ?? -Infinity, latestAt);
    return true;
  }

  private refreshForUnknownSensor(): void {
    const now = this.domain.now();
    if (now - this.lastUnknownRefresh < UNKNOWN_SENSOR_REFRESH_MS) return;
    this.lastUnknownRefresh = now;
    this.refresh().catch((err: unknown) => this.domain.log.warn({ err, run: this.run.id }, 'live board could not read bindings'));
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.stopped) return;
    const now = this.domain.now();
    const tiles: BoardTile[] = [];
    for (const athlete of this.changed) {
      const state = this.athletes.get(athlete);
      if (state) tiles.push(this.tileOf(state, now));
    }
    this.changed.clear();
    if (tiles.length > 0) this.emit({ type: 'tiles', tiles });
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit({ type: 'ended' });
    this.stop();
  }

  private emit(event: BoardEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private tileOf(state: AthleteState, now: number): BoardTile {
    const tile: BoardTile = { tile: state.tile, name: state.name, quiet: state.lastSeenAt === undefined || now - state.lastSeenAt > this.options.quietAfterMs };
    if (!state.byAlias) tile.athlete = state.athlete;
    if (state.heartRateBpm !== undefined) {
      tile.heartRateBpm = Math.round(state.heartRateBpm);
      if (state.maxHeartRate !== undefined) {
        tile.percentOfMax = Math.round((state.heartRateBpm / state.maxHeartRate) * 100);
        tile.zone = heartRateZone(state.heartRateBpm, state.maxHeartRate);
      }
    }
    if (state.maxHeartRate !== undefined) tile.effortPoints = round2(state.effort.effortPoints);
    if (state.hasEnergy) tile.kcal = round2(state.effort.kilojoules / KJ_PER_KCAL);
    if (state.powerW !== undefined) tile.powerW = Math.round(state.powerW);
    if (state.cadenceRpm !== undefined) tile.cadenceRpm = Math.round(state.cadenceRpm);
    if (state.lastSeenAt !== undefined) tile.lastSeenAt = new Date(state.lastSeenAt).toISOString();
    return tile;
  }
}

const round2 = (value: number): number => Math.round(value * 100) / 100;
