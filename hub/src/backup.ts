/**
 * `pulsebridge-hub backup <dir>`: a consistent copy of every SQLite file of the hub, taken while it runs.
 *
 * Each file is copied with `VACUUM INTO` from a connection of this process: one read transaction, so the
 * copy is the database as of one commit, and in WAL mode the hub's writers are never blocked by it (the
 * online backup API would instead restart its copy whenever the hub commits between two of its steps, which
 * a hub ingesting every few milliseconds always does). Every copy is checked with PRAGMA integrity_check.
 *
 * The files are copied one after the other, in the order that keeps references safe after a restore: the
 * state (dedupe ranges) before the readings, so a restored hub never claims to hold a batch its series copy
 * lacks; the readings before the documents computed from them; the documents before the users they name.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import Database from 'better-sqlite3';
import { PulsebridgeError, errorMessage } from '@pulsebridge/runtime';
import type { HubConfig } from './config.ts';
import { DOCUMENTS_DATABASE_FILE } from './documents/index.ts';
import { STATE_DATABASE_FILE } from './hub.ts';
import { IDENTITY_DATABASE_FILE } from './identity/index.ts';

export interface SqliteFile {
  /** What the file holds: state, series, documents, identity. */
  name: string;
  path: string;
}

export interface BackedUpFile extends SqliteFile {
  /** The copy: <dir>/<name>.db. */
  copy: string;
  bytes: number;
  /** How long the copy took. */
  ms: number;
}

export interface BackupReport {
  dir: string;
  startedAt: string;
  finishedAt: string;
  files: BackedUpFile[];
  /** Stores that are not SQLite files in this configuration: their own tools back them up (docs/operations.md). */
  elsewhere: string[];
}

export class BackupError extends PulsebridgeError<'backup'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('backup', message, options);
  }
}

const inDataDir = (dataDir: string, file: string): string => (isAbsolute(file) ? file : join(dataDir, file));

/** The SQLite files this configuration uses, in backup order, and the stores kept elsewhere. */
export function sqliteFilesOf(config: HubConfig): { files: SqliteFile[]; elsewhere: string[] } {
  const dataDir = config.hub.dataDir;
  const files: SqliteFile[] = [{ name: 'state', path: join(dataDir, STATE_DATABASE_FILE) }];
  const elsewhere: string[] = [];
  if (config.series.kind === 'sqlite') files.push({ name: 'series', path: inDataDir(dataDir, config.series.sqlite.path ?? 'series.db') });
  else elsewhere.push(`series: ${config.series.kind}`);
  if (config.documents.kind === 'sqlite') files.push({ name: 'documents', path: inDataDir(dataDir, config.documents.sqlite.path ?? DOCUMENTS_DATABASE_FILE) });
  else elsewhere.push(`documents: ${config.documents.kind}`);
  if (config.identity.store.kind === 'sqlite') files.push({ name: 'identity', path: inDataDir(dataDir, config.identity.store.sqlite.path ?? IDENTITY_DATABASE_FILE) });
  else elsewhere.push(`identity: ${config.identity.store.kind}`);
  return { files, elsewhere };
}

/**
 * Copies each file that exists into `dir` (created; it must be empty) and checks the copies. A file that
 * does not exist yet (a store the hub has not opened) is left out of the report.
 */
export function backupSqliteFiles(files: readonly SqliteFile[], dir: string, elsewhere: string[] = []): BackupReport {
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) throw new BackupError(`${dir} exists and is not an empty folder`);
  mkdirSync(dir, { recursive: true });
  const startedAt = new Date().toISOString();
  const done: BackedUpFile[] = [];
  for (const file of files) {
    if (!existsSync(file.path)) continue;
    const copy = join(dir, `${file.name}.db`);
    const started = performance.now();
    const source = new Database(file.path, { fileMustExist: true });
    try {
      // The hub holds the write lock for a few milliseconds per commit; a read transaction waits that long at most.
      source.pragma('busy_timeout = 10000');
      source.prepare('VACUUM INTO ?').run(copy);
    } catch (err) {
      throw new BackupError(`copying ${file.path} failed: ${errorMessage(err)}`, { cause: err });
    } finally {
      source.close();
    }
    const problems = integrityProblems(copy);
    if (problems.length > 0) throw new BackupError(`the copy of ${file.path} fails PRAGMA integrity_check: ${problems.slice(0, 5).join('; ')}`);
    done.push({ ...file, copy, bytes: statSync(copy).size, ms: Math.round(performance.now() - started) });
  }
  const report: BackupReport = { dir, startedAt, finishedAt: new Date().toISOString(), files: done, elsewhere };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/** PRAGMA integrity_check's findings; empty when it answers ok. */
export function integrityProblems(path: string): string[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check') as { integrity_check: string }[];
    return rows.map((row) => row.integrity_check).filter((text) => text !== 'ok');
  } finally {
    db.close();
  }
}
