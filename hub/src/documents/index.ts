/**
 * Chooses the DocumentStore adapter from configuration (`documents`): SQLite in the data folder by default
 * (the demo, one box), PostgreSQL or MongoDB for several hub replicas (MongoDB as a replica set: transactions
 * need one).
 */
import { isAbsolute, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { resolveSecret, SecretRef } from '@pulsebridge/runtime';
import type { DocumentStore } from './document-store.ts';
import { MongoDocumentStore } from './mongo-document-store.ts';
import { PostgresDocumentStore } from './postgres-document-store.ts';
import { SqliteDocumentStore } from './sqlite-document-store.ts';

export const DOCUMENTS_DATABASE_FILE = 'documents.db';

export const DocumentsConfig = Type.Object(
  {
    kind: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres'), Type.Literal('mongodb')], {
      default: 'sqlite',
      description: 'Where gyms, equipment, groups, trainings, classes, bookings and sensor bindings live',
    }),
    sqlite: Type.Object(
      { path: Type.Optional(Type.String({ minLength: 1, description: `Database file; relative to the data folder; default <dataDir>/${DOCUMENTS_DATABASE_FILE}` })) },
      { additionalProperties: false, default: {} },
    ),
    postgres: Type.Object(
      {
        url: Type.Optional(SecretRef),
        schema: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', description: "Schema of the tables (created if missing); default: the user's search path" })),
        poolSize: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'Connections at most, per hub replica' }),
      },
      { additionalProperties: false, default: {} },
    ),
    mongodb: Type.Object(
      {
        url: Type.Optional(SecretRef),
        database: Type.String({ pattern: '^[A-Za-z0-9_-]{1,63}$', default: 'pulsebridge', description: 'Database of the collections (created if missing)' }),
        poolSize: Type.Integer({ minimum: 1, maximum: 500, default: 10, description: 'Connections at most, per hub replica' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type DocumentsConfig = Static<typeof DocumentsConfig>;

export function documentsConfigProblems(config: DocumentsConfig, path: string): string[] {
  if (config.kind === 'postgres' && config.postgres.url === undefined)
    return [`${path}/postgres/url: is required when kind is postgres (postgres://user:password@host:port/database)`];
  if (config.kind === 'mongodb' && config.mongodb.url === undefined)
    return [`${path}/mongodb/url: is required when kind is mongodb (mongodb://user:password@host:27017/?replicaSet=rs0: transactions need a replica set)`];
  return [];
}

export function createDocumentStore(config: DocumentsConfig, options: { dataDir: string; env: NodeJS.ProcessEnv }): DocumentStore {
  if (config.kind === 'mongodb') {
    // documentsConfigProblems made sure the URL is there.
    const url = resolveSecret(config.mongodb.url!, options.env);
    return new MongoDocumentStore({ url, database: config.mongodb.database, poolSize: config.mongodb.poolSize });
  }
  if (config.kind === 'postgres') {
    // documentsConfigProblems made sure the URL is there.
    const url = resolveSecret(config.postgres.url!, options.env);
    return new PostgresDocumentStore({ url, poolSize: config.postgres.poolSize, ...(config.postgres.schema === undefined ? {} : { schema: config.postgres.schema }) });
  }
  const file = config.sqlite.path ?? DOCUMENTS_DATABASE_FILE;
  return new SqliteDocumentStore({ path: isAbsolute(file) ? file : join(options.dataDir, file) });
}
