/**
 * What a damaged outbox file that was moved aside still says about the readings it held: they are lost,
 * and an operator must be told how many, or plainly that nobody can tell.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface Loss {
  /** Readings lost for certain: counted in dropped.corrupt. */
  readings: number;
  /**
   * exact: every chunk was counted. at_least: part of the chunk table could not be read. unknown: nothing
   * in the file could be read.
   */
  counted: 'exact' | 'at_least' | 'unknown';
  /** With at_least: the most the unread part can hold, from the sequence numbers around it. */
  atMost?: number | undefined;
}

export const exactLoss = (readings: number): Loss => ({ readings, counted: 'exact' });

/** One line for the log, the health endpoint and the hub's event. */
export function describeLoss(loss: Loss): string {
  if (loss.counted === 'exact') return `${loss.readings} readings lost`;
  if (loss.counted === 'unknown') return 'an unknown number of readings lost: nothing in the damaged file can be read';
  const most = loss.atMost === undefined ? '' : `, at most ${loss.atMost} by its sequence numbers`;
  return `at least ${loss.readings} readings lost (part of the damaged file cannot be read${most})`;
}

/**
 * 'empty' for a 0-byte outbox file: no readings in it, nothing lost that anyone can count; SQLite opens it
 * as a new database. 'log_only' when its write-ahead log still holds commits: the file lost its content
 * and is damaged. Undefined otherwise (no file, or one with content).
 */
export function emptyFile(path: string): 'empty' | 'log_only' | undefined {
  if (path === ':memory:' || sizeOf(path) !== 0) return undefined;
  return (sizeOf(`${path}-wal`) ?? 0) > 0 ? 'log_only' : 'empty';
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

interface Range {
  id: number;
  last: number;
}

/**
 * Counts the readings in the chunks of a moved-aside outbox file, read-only so the evidence stays as it
 * was. Chunk rows are read oldest first and then newest first, each walk stopping at the damage: what
 * both reached is counted, and the sequence numbers on either side of the gap bound what lies in it.
 */
export function countLostReadings(path: string): Loss {
  // SQLite takes a file without a header for a new database and deletes the write-ahead log beside it.
  if ((sizeOf(path) ?? 0) === 0) return { readings: 0, counted: 'unknown' };
  // A read-only connection still creates these when missing; they are removed again after.
  const created = ['-wal', '-shm'].map((suffix) => path + suffix).filter((file) => !existsSync(file));
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    return { readings: 0, counted: 'unknown' };
  }
  try {
    return countChunks(db);
  } finally {
    db.close();
    for (const file of created) rmSync(file, { force: true });
  }
}

function countChunks(db: Database.Database): Loss {
  try {
    const total = db.prepare<[], { readings: number | null }>('SELECT sum(last - id + 1) AS readings FROM chunks').get();
    return exactLoss(total?.readings ?? 0);
  } catch {
    // Damaged somewhere in the chunk table: count what each end can still reach.
  }
  let readings = 0;
  let lowEnd: Range | undefined;
  let highEnd: Range | undefined;
  walk(db, 'ASC', (row) => {
    readings += row.last - row.id + 1;
    lowEnd = row;
    return true;
  });
  walk(db, 'DESC', (row) => {
    if (lowEnd && row.id <= lowEnd.id) return false;
    readings += row.last - row.id + 1;
    highEnd = row;
    return true;
  });
  if (!lowEnd && !highEnd) return { readings: 0, counted: 'unknown' };
  const atMost = lowEnd && highEnd ? readings + Math.max(0, highEnd.id - lowEnd.last - 1) : undefined;
  return { readings, counted: 'at_least', atMost };
}

/** Visits chunk rows in one direction until `visit` says stop or the file cannot be read further. */
function walk(db: Database.Database, order: 'ASC' | 'DESC', visit: (row: Range) => boolean): void {
  try {
    for (const row of db.prepare<[], Range>(`SELECT id, last FROM chunks ORDER BY id ${order}`).iterate()) {
      if (!Number.isSafeInteger(row.id) || !Number.isSafeInteger(row.last) || row.last < row.id) return;
      if (!visit(row)) return;
    }
  } catch {
    // The damage: what was visited before it stands.
  }
}
