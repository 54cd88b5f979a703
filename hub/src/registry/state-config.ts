/**
 * Where the hub keeps its per-process durable state (the agent registry and the ingest dedupe ranges): SQLite in
 * <hub.dataDir>/hub.db by default (one process), or PostgreSQL shared by several hub replicas. The PostgreSQL
 * part mirrors `identity.store.postgres`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SecretRef } from '@pulsebridge/runtime';
import { STATE_SCHEMA_PATTERN } from './postgres-state.ts';

export const StateConfig = Type.Object(
  {
    store: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], {
      default: 'sqlite',
      description: 'sqlite: <hub.dataDir>/hub.db, for one hub process. postgres: shared by every hub replica using the same database and schema',
    }),
    postgres: Type.Object(
      {
        url: Type.Optional(SecretRef),
        schema: Type.Optional(Type.String({ pattern: STATE_SCHEMA_PATTERN, description: "Schema of the tables (created if missing); default: the user's search path" })),
      },
      { additionalProperties: false, default: {}, description: 'Used when store is postgres; the tables are created on start' },
    ),
  },
  { additionalProperties: false, default: {}, description: 'The agent registry and the ingest dedupe ranges' },
);
export type StateConfig = Static<typeof StateConfig>;

/** Rules the schema cannot express; `path` is where the section sits, e.g. `/state`. */
export function stateConfigProblems(config: StateConfig, path: string): string[] {
  if (config.store === 'postgres' && config.postgres.url === undefined)
    return [`${path}/postgres/url: is required when store is postgres (postgres://user:password@host:port/database)`];
  return [];
}
