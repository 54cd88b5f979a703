/**
 * An outbox belongs to one agent: one process at a time, and one agent id for its whole life.
 *
 * Its readings can only go out under the agent id that recorded them (the broker confines each agent to its
 * own topics and credentials), so a file recorded by another id is refused while it holds readings, with
 * what to do about it; an empty one is taken over. Two processes on one file would hand out the same
 * sequence numbers and lose readings at every flush, so the second is refused too.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { OutboxError } from './errors.ts';
import type { OutboxDatabase } from './storage.ts';

/** The lock file next to the outbox: SQLite's own file lock, released by the kernel when the process dies. */
export const lockPathOf = (path: string): string => `${path}.lock`;

/**
 * Holds an exclusive lock on `<path>.lock` while the outbox is open. The lock lives in its own (empty)
 * SQLite file, so the outbox itself stays readable with sqlite3 while the agent runs, and a crash leaves
 * no stale lock behind: the kernel drops a dead process's locks.
 */
export class OutboxLock {
  private readonly db: Database.Database | undefined;

  private constructor(db: Database.Database | undefined) {
    this.db = db;
  }

  /** Throws OutboxError('in_use') when another process (or another outbox in this one) holds the file. */
  static acquire(path: string): OutboxLock {
    if (path === ':memory:') return new OutboxLock(undefined);
    const lockPath = lockPathOf(path);
    let db: Database.Database;
    try {
      // The lock comes before the database, so it is the first to need the folder.
      mkdirSync(dirname(path), { recursive: true });
      db = new Database(lockPath, { timeout: 0 });
    } catch (err) {
      throw new OutboxError('open_failed', `cannot open the outbox database ${path}: cannot create its lock file ${lockPath}: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      // Held until close(): nothing is ever written, the transaction exists for its lock.
      db.exec('BEGIN EXCLUSIVE');
      return new OutboxLock(db);
    } catch (err) {
      db.close();
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new OutboxError(
          'in_use',
          `the outbox ${path} is in use by another agent process (it holds ${lockPath}). Stop that agent first, ` +
            `or give this one its own agent.dataDir (or outbox.path): two agents on one outbox would lose readings.`,
          { cause: err },
        );
      }
      throw new OutboxError('open_failed', `cannot lock the outbox ${path} through ${lockPath}: ${(err as Error).message}`, { cause: err });
    }
  }

  release(): void {
    this.db?.close();
  }
}

export type Claim = { outcome: 'recorded' | 'same' } | { outcome: 'taken_over'; previous: string };

/**
 * Records `agent` as the file's owner, or checks it is already. A file recorded by another id is refused
 * while it holds readings (OutboxError 'other_agent'); an empty one is taken over. Files from before owners
 * were recorded are taken by the first agent that opens them.
 */
export function claimOutbox(db: OutboxDatabase, path: string, agent: string): Claim {
  const owner = db.agent;
  if (owner === agent) return { outcome: 'same' };
  if (owner === undefined) {
    db.setAgent(agent);
    return { outcome: 'recorded' };
  }
  const held = db.totals().readings;
  if (held > 0) {
    throw new OutboxError(
      'other_agent',
      `the outbox ${path} holds ${held} readings recorded by agent "${owner}", and this agent is "${agent}": ` +
        `they can only be sent under "${owner}". Either run this box as "${owner}" (agent.id and its hub password) ` +
        `until pb_agent_outbox_readings is 0, then switch; or, to start "${agent}" now without them, stop the agent and ` +
        `move ${path} and its -wal and -shm files aside (or point agent.dataDir or outbox.path elsewhere).`,
    );
  }
  db.setAgent(agent);
  return { outcome: 'taken_over', previous: owner };
}
