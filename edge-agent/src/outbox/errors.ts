import { PulsebridgeError } from '@pulsebridge/runtime';

export type OutboxErrorCode =
  /** The options do not match OutboxConfig. */
  | 'invalid_config'
  /** Used before start() or after stop(). */
  | 'not_started'
  /** The database file cannot be opened or created (permissions, full or missing disk): start() keeps retrying; corruption is recovered instead. */
  | 'open_failed'
  /** The file is not a readable outbox database. */
  | 'corrupt';

export class OutboxError extends PulsebridgeError<OutboxErrorCode> {}

/** True for errors that mean the database file is damaged, whoever threw them. */
export function isCorruption(err: unknown): boolean {
  if (err instanceof OutboxError) return err.code === 'corrupt';
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}
