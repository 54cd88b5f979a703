/**
 * Chooses the IdentityStore adapter from configuration: SQLite in the data folder by default (the demo, one
 * box), PostgreSQL for several hub replicas.
 */
import { isAbsolute, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { resolveSecret, SecretRef } from '@pulsebridge/runtime';
import type { IdentityStore } from './identity-store.ts';
import { PostgresIdentityStore } from './postgres-identity-store.ts';
import { SqliteIdentityStore } from './sqlite-identity-store.ts';

export const IDENTITY_DATABASE_FILE = 'identity.db';

export const IdentityStoreConfig = Type.Object(
  {
    kind: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], { default: 'sqlite', description: 'Where users, sessions, tokens and the audit log live' }),
    sqlite: Type.Object(
      { path: Type.Optional(Type.String({ minLength: 1, description: `Database file; relative to the data folder; default <dataDir>/${IDENTITY_DATABASE_FILE}` })) },
      { additionalProperties: false, default: {} },
    ),
    postgres: Type.Object(
      {
        url: Type.Optional(SecretRef),
        schema: Type.Optional(Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', description: "Schema of the tables (created if missing); default: the user's search path" })),
        poolSize: Type.Integer({ minimum: 1, maximum: 100, default: 5, description: 'Connections at most, per hub replica' }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type IdentityStoreConfig = Static<typeof IdentityStoreConfig>;

export function identityStoreConfigProblems(config: IdentityStoreConfig, path: string): string[] {
  if (config.kind === 'postgres' && config.postgres.url === undefined)
    return [`${path}/postgres/url: is required when kind is postgres (postgres://user:password@host:port/database)`];
  return [];
}

export function createIdentityStore(config: IdentityStoreConfig, options: { dataDir: string; env: NodeJS.ProcessEnv }): IdentityStore {
  if (config.kind === 'postgres') {
    // identityStoreConfigProblems made sure the URL is there.
    const url = resolveSecret(config.postgres.url!, options.env);
    return new PostgresIdentityStore({ url, poolSize: config.postgres.poolSize, ...(config.postgres.schema === undefined ? {} : { schema: config.postgres.schema }) });
  }
  const file = config.sqlite.path ?? IDENTITY_DATABASE_FILE;
  return new SqliteIdentityStore({ path: isAbsolute(file) ? file : join(options.dataDir, file) });
}
