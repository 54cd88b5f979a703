/**
 * What the outbox file knows besides the chunks: the small integer each sensor id is stored as, and the
 * clock epochs and true-time offsets chunks were stamped in. Kept in memory, written through to the file,
 * and used to decode a chunk and to correct its timestamps to true time.
 */
import { UNKNOWN_BOOT, decodeReadingSet, type Reading, type SeriesReadings } from '@pulsebridge/protocol';
import type { Clock, ClockEpoch, StoredBoot, TrueOffset } from '../clock/clock.ts';
import { OutboxError } from './errors.ts';
import type { ChunkHead, OutboxDatabase } from './storage.ts';

interface KnownEpoch {
  boot: string;
  id: number;
  wallMinusMono: number;
}

const epochKey = (boot: string, id: number): string => `${boot}\u0000${id}`;

export class OutboxCatalog {
  private readonly clock: Clock;
  private sensorIds = new Map<string, number>();
  private sensorNames = new Map<string, string>();
  private nextSensorId = 0;
  private epochRows = new Map<number, KnownEpoch>();
  private epochRowIds = new Map<string, number>();
  private offsets = new Map<string, TrueOffset>();

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Replaces what is known with what a (freshly opened) file holds. */
  load(db: OutboxDatabase): void {
    this.sensorIds = new Map();
    this.sensorNames = new Map();
    this.nextSensorId = 0;
    for (const s of db.sensors()) {
      this.sensorIds.set(s.name, s.id);
      this.sensorNames.set(s.id.toString(36), s.name);
      this.nextSensorId = Math.max(this.nextSensorId, s.id + 1);
    }
    this.epochRows = new Map();
    this.epochRowIds = new Map();
    for (const e of db.epochs()) {
      this.epochRows.set(e.rowId, { boot: e.boot, id: e.id, wallMinusMono: e.wallMinusMono });
      this.epochRowIds.set(epochKey(e.boot, e.id), e.rowId);
    }
    this.offsets = new Map();
    for (const o of db.offsets()) this.offsets.set(o.boot, { trueMinusMono: o.trueMinusMono, source: o.source === 'hub' ? 'hub' : 'jump' });
  }

  /** Gives every new sensor of these readings a row id, committed before any chunk refers to it. */
  registerSensors(db: OutboxDatabase, groups: readonly { readings: readonly Reading[] }[]): void {
    const fresh: { id: number; name: string }[] = [];
    const seen = new Set<string>();
    let next = this.nextSensorId;
    // Plain loops: this runs for every reading of every flush.
    for (const group of groups) {
      for (const { sensor } of group.readings) {
        if (this.sensorIds.has(sensor) || seen.has(sensor)) continue;
        seen.add(sensor);
        fresh.push({ id: next++, name: sensor });
      }
    }
    if (fresh.length === 0) return;
    db.insertSensors(fresh);
    for (const s of fresh) {
      this.sensorIds.set(s.name, s.id);
      this.sensorNames.set(s.id.toString(36), s.name);
    }
    this.nextSensorId = next;
  }

  /** The short id a registered sensor is stored under inside chunks. */
  storedSensorId(sensor: string): string {
    return this.sensorIds.get(sensor)!.toString(36);
  }

  epochRowId(db: OutboxDatabase, epoch: ClockEpoch): number {
    const key = epochKey(epoch.boot, epoch.id);
    const known = this.epochRowIds.get(key);
    if (known !== undefined) return known;
    const stored = db.ensureEpoch(epoch.boot, epoch.id, epoch.wallMinusMono);
    this.epochRowIds.set(key, stored.rowId);
    this.epochRows.set(stored.rowId, { boot: epoch.boot, id: epoch.id, wallMinusMono: stored.wallMinusMono });
    return stored.rowId;
  }

  setOffset(boot: string, offset: TrueOffset): void {
    this.offsets.set(boot, offset);
  }

  /** A chunk's readings with their sensor ids restored; throws OutboxError('corrupt') when it does not add up. */
  decode(data: Buffer, expected: number): SeriesReadings[] {
    const series = decodeReadingSet(data);
    let count = 0;
    for (const s of series) {
      const name = this.sensorNames.get(s.sensor);
      if (name === undefined) throw new OutboxError('corrupt', `chunk refers to unknown sensor ${s.sensor}`);
      s.sensor = name;
      count += s.ts.length;
    }
    if (count !== expected) throw new OutboxError('corrupt', `chunk holds ${count} readings, its range says ${expected}`);
    return series;
  }

  /**
   * The boot whose clock stamped a chunk of this epoch while that boot's true time is unknown (UNKNOWN_BOOT
   * for an epoch this outbox does not know); undefined when the chunk's times can be corrected.
   */
  unsyncedBoot(epochRowId: number): string | undefined {
    if (this.correction(epochRowId) !== undefined) return undefined;
    return this.epochRows.get(epochRowId)?.boot ?? UNKNOWN_BOOT;
  }

  /** What to add to a stamp of the chunk's epoch; undefined while that boot's true time is unknown. */
  correction(epochRowId: number): number | undefined {
    const epoch = this.epochRows.get(epochRowId);
    if (!epoch) return undefined;
    const offset = (epoch.boot === this.clock.bootId ? this.clock.offset : undefined) ?? this.offsets.get(epoch.boot);
    return offset ? offset.trueMinusMono - epoch.wallMinusMono : undefined;
  }

  /**
   * Elapsed real time since the chunk's oldest reading. Within one boot monotonic time gives it exactly,
   * whatever the wall clock did; across boots it needs both boots' true time, else the raw stamps are all
   * there is.
   */
  ageOf(chunk: ChunkHead, now: number, current: ClockEpoch): number {
    const epoch = this.epochRows.get(chunk.epoch);
    if (epoch?.boot === current.boot) return now - current.wallMinusMono - (chunk.createdAt - epoch.wallMinusMono);
    const then = this.correction(chunk.epoch);
    const offsetNow = this.clock.correctionFor(current);
    if (then !== undefined && offsetNow !== undefined) return now + offsetNow - (chunk.createdAt + then);
    return now - chunk.createdAt;
  }

  /** The clock state stored for one boot (the outbox is the clock's store). */
  loadBoot(boot: string): StoredBoot {
    const epochs: ClockEpoch[] = [];
    for (const e of this.epochRows.values()) if (e.boot === boot) epochs.push({ boot, id: e.id, wallMinusMono: e.wallMinusMono });
    epochs.sort((a, b) => a.id - b.id);
    return { epochs, offset: this.offsets.get(boot) };
  }
}
