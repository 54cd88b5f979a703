/**
 * Chooses the DocumentStore adapter from configuration (`documents`): SQLite in the data folder by default
 * (the demo, one box), MongoDB for a production cluster.
 */
import { isAbsolute, join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { DocumentStore } from './document-store.ts';
import { SqliteDocumentStore } from './sqlite-document-store.ts';

export const DOCUMENTS_DATABASE_FILE = 'documents.db';

export const DocumentsConfig = Type.Object(
  {
    kind: Type.Union([Type.Literal('sqlite')], { default: 'sqlite', description: 'Where gyms, equipment, groups, trainings, classes, bookings and sensor bindings live' }),
    sqlite: Type.Object(
      { path: Type.Optional(Type.String({ minLength: 1, description: `Database file; relative to the data folder; default <dataDir>/${DOCUMENTS_DATABASE_FILE}` })) },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type DocumentsConfig = Static<typeof DocumentsConfig>;

export function documentsConfigProblems(_config: DocumentsConfig, _path: string): string[] {
  return [];
}

export function createDocumentStore(config: DocumentsConfig, options: { dataDir: string; env: NodeJS.ProcessEnv }): DocumentStore {
  const file = config.sqlite.path ?? DOCUMENTS_DATABASE_FILE;
  return new SqliteDocumentStore({ path: isAbsolute(file) ? file : join(options.dataDir, file) });
}
