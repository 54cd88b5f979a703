/**
 * Builds the hub's per-process durable state from `state` (state-config.ts): the agent registry and the ingest
 * dedupe ranges, on SQLite in <hub.dataDir>/hub.db or on PostgreSQL shared by replicas.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { errorMessage, resolveSecret } from '@pulsebridge/runtime';
import { Dedupe } from '../ingest/dedupe.ts';
import type { DedupeStore } from '../ingest/dedupe-store.ts';
import { PostgresDedupe } from '../ingest/postgres-dedupe.ts';
import type { AgentRegistry } from './agent-registry.ts';
import { PostgresAgentRegistry } from './postgres-agent-registry.ts';
import { SqliteAgentRegistry } from './sqlite-agent-registry.ts';
import type { StateConfig } from './state-config.ts';

export const STATE_DATABASE_FILE = 'hub.db';

/** Opens (creating if needed) the hub's state database: agents, dedupe ranges. */
export function openStateDatabase(dataDir: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, STATE_DATABASE_FILE));
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a power cut may lose the last commits, never corrupt; agents resend unacked batches.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** An agent registry the hub starts and stops. */
export type ManagedAgentRegistry = AgentRegistry & { start(): Promise<void>; stop(): Promise<void> };

export interface StateStores {
  readonly registry: ManagedAgentRegistry;
  readonly dedupe: DedupeStore;
  /** Opens the database (and applies migrations): before the registry or dedupe is used. */
  start(): Promise<void>;
  /** Closes the database; after ingest and the transport stopped. */
  stop(): Promise<void>;
  /** For readiness: 'ok' or what is wrong. */
  readiness(): Promise<string>;
}

export interface StateStoreOptions {
  dataDir: string;
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** Registry options tools change (the agent CLI writes last-seen never). */
  flushIntervalMs?: number;
}

/** Connections per component and replica: the registry and dedupe each hold a pool. */
const POOL_SIZE = 4;

export function createStateStores(config: StateConfig, options: StateStoreOptions): StateStores {
  const { log } = options;
  const flush = options.flushIntervalMs === undefined ? {} : { flushIntervalMs: options.flushIntervalMs };
  if (config.store === 'postgres') {
    // stateConfigProblems made sure the URL is there.
    const where = {
      url: resolveSecret(config.postgres.url!, options.env),
      poolSize: POOL_SIZE,
      ...(config.postgres.schema === undefined ? {} : { schema: config.postgres.schema }),
    };
    const registry = new PostgresAgentRegistry({ ...where, log, ...flush });
    const dedupe = new PostgresDedupe(where);
    return {
      registry,
      dedupe,
      async start() {
        await registry.start();
        await dedupe.start();
      },
      async stop() {
        await registry.stop();
        await dedupe.stop();
      },
      async readiness() {
        return (await registry.ping()) ? 'ok' : 'unreachable';
      },
    };
  }
  const db = openStateDatabase(options.dataDir);
  const registry = new SqliteAgentRegistry({ db, log, ...flush });
  return {
    registry,
    dedupe: new Dedupe({ db }),
    start: () => registry.start(),
    async stop() {
      await registry.stop();
      if (db.open) db.close();
    },
    async readiness() {
      try {
        db.prepare('SELECT 1').get();
        return db.open ? 'ok' : 'closed';
      } catch (err) {
        return errorMessage(err);
      }
    },
  };
}
