/**
 * The outbox's SQLite file: pragmas, schema and every statement, so that outbox.ts deals in rows, not SQL.
 *
 * Tables:
 * - chunks: one row per flush. `id` is the chunk's first sequence number (ranges are contiguous and grow
 *   with insertion order, so the rowid doubles as the sequence index and range deletes need no other index);
 *   `data` is the protocol's reading-set encoding with sensor ids replaced by `sensors` row ids. `crc` is a
 *   CRC-32 of the whole row (see chunkChecksum): SQLite checks its pages' structure, not their contents, so
 *   without it a flipped bit in a value would be sent as a true reading. Rows written before version 2 have
 *   none (null) and are trusted as before.
 * - sensors: sensor id ↔ small integer, so a chunk does not repeat a 20-30 byte sensor id for every series.
 * - epochs, boots: the clock state chunks refer to (see ../clock/clock.ts).
 * - meta: stream id, the sequence counter, the readings committed to the damaged files this one replaced
 *   (written once, when it replaces one), and the agent id its readings are recorded for (see ownership.ts).
 */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { OutboxError } from './errors.ts';

/**
 * A 250 ms chunk of 100 sensors is about 1 KB. With 512-byte pages SQLite keeps a small cell of it in the
 * table's leaf page and the rest in write-once overflow pages, so a commit appends a few 536-byte WAL frames
 * instead of rewriting whole 4 KB pages. Measured at 100 sensors × 4 Hz with every chunk acknowledged:
 * ~44 disk bytes written per reading, against ~130 with 4 KB pages.
 */
export const PAGE_SIZE = 512;
/** About 1 MB of WAL between checkpoints: fewer checkpoints rewrite the same leaf pages fewer times. */
const WAL_AUTOCHECKPOINT_PAGES = 2_000;
/** 2: chunks.crc. Version 1 files gain the column when opened; their rows keep a null one. */
export const SCHEMA_VERSION = 2;
const BUSY_TIMEOUT_MS = 100;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (
  id INTEGER PRIMARY KEY,
  last INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  crc INTEGER,
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sensors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS boots (id TEXT PRIMARY KEY, true_minus_mono INTEGER NOT NULL, source TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epochs (
  id INTEGER PRIMARY KEY,
  boot TEXT NOT NULL,
  started_mono INTEGER NOT NULL,
  wall_minus_mono INTEGER NOT NULL,
  UNIQUE (boot, started_mono)
);
`;

/** Chunk metadata, without the readings. */
export interface ChunkHead {
  id: number;
  last: number;
  epoch: number;
  createdAt: number;
  bytes: number;
}

export interface StoredChunk extends ChunkHead {
  data: Buffer;
  /** False when the row no longer matches the checksum it was written with; true for rows written without one. */
  intact: boolean;
}

export interface NewChunk extends ChunkHead {
  data: Buffer;
}

export interface StoredEpoch {
  rowId: number;
  boot: string;
  /** The clock's epoch id: monotonic ms when it began. */
  id: number;
  wallMinusMono: number;
}

export interface StoredOffset {
  boot: string;
  trueMinusMono: number;
  source: string;
}

export interface Totals {
  chunks: number;
  readings: number;
  bytes: number;
  /** Last sequence number held, null when empty. */
  maxLast: number | null;
}

/** A removed chunk: enough to keep running totals exact. */
export interface RemovedChunk {
  id: number;
  last: number;
  bytes: number;
}

interface ChunkHeadRow {
  id: number;
  last: number;
  epoch: number;
  created_at: number;
  bytes: number;
}

/**
 * CRC-32 of everything a chunk row says: its range, epoch, times and payload. A change to any of them
 * would send different readings (or the same ones under other sequence numbers or another clock epoch).
 */
export function chunkChecksum(chunk: NewChunk): number {
  const head = Buffer.allocUnsafe(40);
  head.writeDoubleLE(chunk.id, 0);
  head.writeDoubleLE(chunk.last, 8);
  head.writeDoubleLE(chunk.epoch, 16);
  head.writeDoubleLE(chunk.createdAt, 24);
  head.writeDoubleLE(chunk.bytes, 32);
  return crc32(chunk.data, crc32(head));
}

/** Readings in a chunk: its sequence numbers run from its id (the first) to its last, one per reading. */
export const readingsIn = (c: { id: number; last: number }): number => c.last - c.id + 1;

const toHead = (row: ChunkHeadRow): ChunkHead => ({ id: row.id, last: row.last, epoch: row.epoch, createdAt: row.created_at, bytes: row.bytes });

/** A short random stream id: unique enough per agent, small on the wire. */
export function newStreamId(): string {
  let id = '';
  for (const byte of randomBytes(10)) id += (byte % 36).toString(36);
  return id;
}

/**
 * Moves a damaged database and its -wal/-shm aside as `<path>.<label>-<UTC timestamp>`; returns the new path
 * of the main file.
 */
export function moveAside(path: string, label: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  let target = `${path}.${label}-${stamp}`;
  for (let n = 2; existsSync(target); n++) target = `${path}.${label}-${stamp}-${n}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}

export class OutboxDatabase {
  readonly stream: string;
  private owner: string | undefined;
  private readonly db: Database.Database;
  private readonly insertChunkStmt;
  private readonly deleteRangeStmt;
  private readonly deleteThroughStmt;
  private readonly deleteOneStmt;
  private readonly headRowsStmt;
  private readonly oldestFirstStmt;
  private readonly newestFirstStmt;
  private readonly getChunkStmt;
  private readonly setMetaStmt;
  private readonly insertSensorStmt;
  private readonly insertEpochStmt;
  private readonly findEpochStmt;
  private readonly upsertBootStmt;

  /**
   * Opens (or creates) the file and checks it. Throws an error for which isCorruption() is true when the file
   * is damaged, or OutboxError('open_failed') when it cannot be opened at all.
   */
  static open(path: string): OutboxDatabase {
    let db: Database.Database;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      // Another connection holding the write lock (an operator's sqlite3 shell) must not stall the agent's
      // event loop for long: the flush fails, the readings stay in memory and the next tick tries again.
      db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    } catch (err) {
      throw new OutboxError('open_failed', `cannot open the outbox database ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.pragma(`page_size = ${PAGE_SIZE}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
      const check: unknown = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new OutboxError('corrupt', `quick_check: ${String(check)}`);
      const version = db.pragma('user_version', { simple: true });
      if (version !== 0 && version !== 1 && version !== SCHEMA_VERSION) throw new OutboxError('corrupt', `unknown outbox schema version ${String(version)}`);
      db.transaction(() => {
        db.exec(SCHEMA);
        if (version === 1) db.exec('ALTER TABLE chunks ADD COLUMN crc INTEGER');
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
        db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('stream', ?), ('next_seq', 0), ('committed_before', 0)").run(newStreamId());
      })();
      return new OutboxDatabase(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private constructor(db: Database.Database) {
    this.db = db;
    const meta = new Map(
      db
        .prepare<[], { key: string; value: unknown }>('SELECT key, value FROM meta')
        .all()
        .map((r) => [r.key, r.value]),
    );
    const stream = meta.get('stream');
    if (typeof stream !== 'string' || stream.length === 0 || stream.length > 32) throw new OutboxError('corrupt', 'outbox database has no valid stream id');
    this.stream = stream;
    const agent = meta.get('agent');
    this.owner = typeof agent === 'string' && agent.length > 0 ? agent : undefined;
    this.insertChunkStmt = db.prepare<[number, number, number, number, number, number, Buffer]>(
      'INSERT INTO chunks (id, last, epoch, created_at, bytes, crc, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.deleteRangeStmt = db.prepare<[number, number, number], RemovedChunk>('DELETE FROM chunks WHERE id >= ? AND id <= ? AND last <= ? RETURNING id, last, bytes');
    this.deleteThroughStmt = db.prepare<[number], RemovedChunk>('DELETE FROM chunks WHERE id <= ? RETURNING id, last, bytes');
    this.deleteOneStmt = db.prepare<[number], RemovedChunk>('DELETE FROM chunks WHERE id = ? RETURNING id, last, bytes');
    this.headRowsStmt = db.prepare<[number], ChunkHeadRow>('SELECT id, last, epoch, created_at, bytes FROM chunks ORDER BY id LIMIT ?');
    this.oldestFirstStmt = db.prepare<[], ChunkHeadRow>('SELECT id, last, epoch, created_at, bytes FROM chunks ORDER BY id');
    this.newestFirstStmt = db.prepare<[], ChunkHeadRow>('SELECT id, last, epoch, created_at, bytes FROM chunks ORDER BY id DESC');
    this.getChunkStmt = db.prepare<[number], ChunkHeadRow & { crc: number | null; data: Buffer }>('SELECT id, last, epoch, created_at, bytes, crc, data FROM chunks WHERE id = ?');
    this.setMetaStmt = db.prepare<[string, number | string]>('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.insertSensorStmt = db.prepare<[number, string]>('INSERT INTO sensors (id, name) VALUES (?, ?)');
    this.insertEpochStmt = db.prepare<[string, number, number]>('INSERT OR IGNORE INTO epochs (boot, started_mono, wall_minus_mono) VALUES (?, ?, ?)');
    this.findEpochStmt = db.prepare<[string, number], { id: number; wall_minus_mono: number }>('SELECT id, wall_minus_mono FROM epochs WHERE boot = ? AND started_mono = ?');
    this.upsertBootStmt = db.prepare<[string, number, string]>('INSERT OR REPLACE INTO boots (id, true_minus_mono, source) VALUES (?, ?, ?)');
  }

  close(): void {
    this.db.close();
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  totals(): Totals {
    const row = this.db
      .prepare<[], { chunks: number; readings: number | null; bytes: number | null; maxLast: number | null }>(
        'SELECT count(*) AS chunks, sum(last - id + 1) AS readings, sum(bytes) AS bytes, max(last) AS maxLast FROM chunks',
      )
      .get()!;
    return { chunks: row.chunks, readings: row.readings ?? 0, bytes: row.bytes ?? 0, maxLast: row.maxLast };
  }

  storedNextSeq(): number {
    return this.storedCount('next_seq');
  }

  setNextSeq(next: number): void {
    this.setMetaStmt.run('next_seq', next);
  }

  /** The agent id the file's readings are recorded for; undefined in a file from before it was recorded. */
  get agent(): string | undefined {
    return this.owner;
  }

  setAgent(agent: string): void {
    this.setMetaStmt.run('agent', agent);
    this.owner = agent;
  }

  /** Readings committed to the damaged files this one replaced. */
  storedCommittedBefore(): number {
    return this.storedCount('committed_before');
  }

  setCommittedBefore(count: number): void {
    this.setMetaStmt.run('committed_before', count);
  }

  /** A non-negative integer kept in meta; 0 when missing or not a count. */
  private storedCount(key: string): number {
    const value = this.db.prepare<[string], { value: unknown }>('SELECT value FROM meta WHERE key = ?').get(key)?.value;
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
  }

  insertChunk(chunk: NewChunk): void {
    this.insertChunkStmt.run(chunk.id, chunk.last, chunk.epoch, chunk.createdAt, chunk.bytes, chunkChecksum(chunk), chunk.data);
  }

  /** The `limit` oldest chunks. */
  oldest(limit: number): ChunkHead[] {
    return this.headRowsStmt.all(limit).map(toHead);
  }

  /** Chunks in order, lazily: stop iterating to stop reading. No other statement may run meanwhile. */
  *iterate(order: 'oldest' | 'newest'): Generator<ChunkHead> {
    for (const row of (order === 'oldest' ? this.oldestFirstStmt : this.newestFirstStmt).iterate()) yield toHead(row);
  }

  chunk(id: number): StoredChunk | undefined {
    const row = this.getChunkStmt.get(id);
    if (!row) return undefined;
    const chunk = { ...toHead(row), data: row.data };
    return { ...chunk, intact: row.crc === null || row.crc === chunkChecksum(chunk) };
  }

  /** Deletes the chunks lying entirely inside [first, last]. */
  deleteRange(first: number, last: number): RemovedChunk[] {
    return this.deleteRangeStmt.all(first, last, last);
  }

  /** Deletes every chunk with an id up to `id`. */
  deleteThrough(id: number): RemovedChunk[] {
    return this.deleteThroughStmt.all(id);
  }

  deleteChunk(id: number): RemovedChunk | undefined {
    return this.deleteOneStmt.get(id);
  }

  sensors(): { id: number; name: string }[] {
    return this.db.prepare<[], { id: number; name: string }>('SELECT id, name FROM sensors').all();
  }

  insertSensors(sensors: readonly { id: number; name: string }[]): void {
    this.transaction(() => {
      for (const s of sensors) this.insertSensorStmt.run(s.id, s.name);
    });
  }

  epochs(): StoredEpoch[] {
    return this.db
      .prepare<[], { rowId: number; boot: string; id: number; wallMinusMono: number }>(
        'SELECT id AS rowId, boot, started_mono AS id, wall_minus_mono AS wallMinusMono FROM epochs ORDER BY boot, started_mono',
      )
      .all();
  }

  /** Stores the epoch unless present; returns its row id and the offset stored for it. */
  ensureEpoch(boot: string, id: number, wallMinusMono: number): { rowId: number; wallMinusMono: number } {
    this.insertEpochStmt.run(boot, id, wallMinusMono);
    const row = this.findEpochStmt.get(boot, id)!;
    return { rowId: row.id, wallMinusMono: row.wall_minus_mono };
  }

  offsets(): StoredOffset[] {
    return this.db.prepare<[], StoredOffset>('SELECT id AS boot, true_minus_mono AS trueMinusMono, source FROM boots').all();
  }

  saveOffset(boot: string, trueMinusMono: number, source: string): void {
    this.upsertBootStmt.run(boot, trueMinusMono, source);
  }

  /**
   * Forgets sensors and clock state no chunk refers to any more, keeping the current boot's. Runs at start:
   * it scans the chunk table once.
   */
  prune(currentBoot: string): void {
    this.transaction(() => {
      const empty = this.db.prepare('SELECT 1 FROM chunks LIMIT 1').get() === undefined;
      // Sensor ids are only decodable through this table, so it is emptied only when no chunk is left.
      if (empty) this.db.prepare('DELETE FROM sensors').run();
      this.db.prepare('DELETE FROM epochs WHERE boot <> ? AND id NOT IN (SELECT DISTINCT epoch FROM chunks)').run(currentBoot);
      this.db.prepare('DELETE FROM boots WHERE id <> ? AND id NOT IN (SELECT DISTINCT boot FROM epochs)').run(currentBoot);
    });
  }
}
