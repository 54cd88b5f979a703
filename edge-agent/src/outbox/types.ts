/**
 * The outbox's configuration and the shapes it hands out: chunks, loaded readings, statistics and events.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { SeriesReadings } from '@pulsebridge/protocol';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock/clock.ts';
import type { OutboxDropReport } from './drop-report.ts';

export const OutboxConfig = Type.Object(
  {
    path: Type.String({ default: 'data/agent/outbox.db', minLength: 1, description: 'SQLite file; -wal and -shm files live next to it' }),
    flushIntervalMs: Type.Integer({ default: 250, minimum: 1, maximum: 60_000, description: 'longest time a reading waits in memory before it is committed' }),
    maxChunkReadings: Type.Integer({ default: 5_000, minimum: 1, maximum: 100_000, description: 'readings that trigger a flush before the interval is over' }),
    maxBytes: Type.Integer({ default: 268_435_456, minimum: 1, description: 'payload bytes kept at most; the oldest chunks are dropped beyond' }),
    maxAgeMs: Type.Integer({ default: 604_800_000, minimum: 1, description: 'age after which unsent readings are dropped' }),
    maxBufferedReadings: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description:
          'readings kept in memory at most while the file cannot be written (disk full, not yet openable); the oldest are dropped and counted beyond. Default: 4 × maxChunkReadings',
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type OutboxConfig = Static<typeof OutboxConfig>;

export interface PendingChunk {
  id: number;
  first: number;
  last: number;
  /** Wall-clock UTC ms (uncorrected) of the chunk's oldest reading. */
  createdAt: number;
  /** Payload bytes at rest. */
  bytes: number;
  /**
   * The boot that stamped the chunk while that boot's true time is unknown (as of the call that handed the
   * chunk out), so it would go out uncorrected and flagged. Absent when its times can be corrected.
   */
  unsyncedBoot?: string;
}

export interface LoadedReadings {
  series: SeriesReadings[];
  /** True if the loaded chunks were stamped in a boot whose true time is still unknown (sent uncorrected). */
  clockUnsynced: boolean;
  /** The boot whose uncorrected times the batch carries; set exactly when clockUnsynced. */
  boot?: string;
  /**
   * The chunks actually loaded, oldest first: asked-for ids already deleted are missing here, and so is
   * every chunk from the first whose clock state (true time, or the unknown time of which boot) differs
   * from the first loaded chunk's: one load never mixes them.
   */
  chunks: PendingChunk[];
  readings: number;
}

export interface OutboxDropped {
  /** Oldest chunks dropped because the outbox held more than maxBytes. */
  overflow: number;
  /** Chunks older than maxAgeMs. */
  expired: number;
  /** Readings the hub refused for good (reject()). */
  rejected: number;
  /** Readings refused by append(): unknown metric, value out of range or bad time. */
  invalid: number;
  /** Readings refused by append() for a sensor id the hub would refuse (protocol SENSOR_ID_PATTERN). */
  invalidSensor: number;
  /** Readings lost with a damaged database file or an undecodable chunk. */
  corrupt: number;
}

export interface OutboxStats {
  readings: number;
  chunks: number;
  bytes: number;
  oldestAgeMs: number;
  /** Readings accepted in this process. */
  appended: number;
  /**
   * Readings committed over the outbox's life, across restarts and replaced files, plus those buffered:
   * after a clean stop it counts every reading accepted, after a crash every reading committed.
   */
  acceptedTotal: number;
  acknowledged: number;
  buffered: number;
  dropped: OutboxDropped;
  corruptRecoveries: number;
  /** Damaged files moved aside whose readings could not all be counted: more may be lost than dropped.corrupt says. */
  uncountedLosses: number;
  /** The last damaged file moved aside while this process ran, null if none. */
  lastRecovery: OutboxRecovery | null;
  /** Chunks dropped because they failed their checksum or could not be decoded (their readings: dropped.corrupt). */
  damagedChunks: number;
  /** Storage failures other than corruption (disk full, I/O errors); the readings stay buffered. */
  errors: number;
  /**
   * 'ok' while the file takes writes; 'unopened' until it can be opened (retried with backoff); 'failing'
   * while its writes fail. Readings wait in memory meanwhile, up to limits.maxBuffered.
   */
  storage: OutboxStorageState;
  /** Why storage is not ok, e.g. "commit readings: database or disk is full"; null when ok. */
  storageProblem: string | null;
  /** The bounds in force, so a reader can tell how close to them the outbox is. */
  limits: OutboxLimits;
}

export type OutboxStorageState = 'ok' | 'unopened' | 'failing';

export interface OutboxLimits {
  maxBytes: number;
  maxAgeMs: number;
  /** Readings kept in memory at most while storage is not ok. */
  maxBuffered: number;
}

export interface OutboxRecovery {
  previousStream: string | undefined;
  stream: string;
  /** Where the damaged file was moved. */
  movedTo: string;
  /** Readings the damaged file was known to hold (counted in dropped.corrupt). */
  lostReadings: number;
  /** Whether lostReadings is every reading it held, a lower bound, or nothing could be read (see damaged-file.ts). */
  lossCounted: 'exact' | 'at_least' | 'unknown';
  /** One line for an operator, e.g. "40 readings lost". */
  summary: string;
}

export type OutboxEvents = {
  /** A chunk was committed: the uplink can send it. */
  flushed: [PendingChunk];
  /** The database was damaged and replaced: sequence numbers restart in a new stream. */
  recovered: [OutboxRecovery];
  /** Readings were dropped since the last report (at most one report per DROP_REPORT_INTERVAL_MS). */
  dropped: [OutboxDropReport];
  /** The database opened after start() could not open it (with its stream id): held chunks can be sent. */
  opened: [string];
};

export type OutboxOptions = Partial<OutboxConfig> & {
  clock: Clock;
  log: Logger;
  metrics?: Registry | undefined;
  /**
   * The agent id readings are recorded for, kept in the file: a file recorded by another id is refused while
   * it holds readings (see ownership.ts). Without it nothing is recorded or checked.
   */
  agent?: string | undefined;
};
