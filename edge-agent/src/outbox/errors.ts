import { PulsebridgeError } from '@pulsebridge/runtime';

export type OutboxErrorCode =
  /** The options do not match OutboxConfig. */
  | 'invalid_config'
  /** Used before start() or after stop(). */
  | 'not_started'
  /** The database file cannot be opened or created (permissions, full or missing disk): start() keeps retrying; corruption is recovered instead. */
  | 'open_failed'
  /** The file is not a readable outbox database. */
  | 'corrupt'
  /** Another process has the outbox open (its lock file is held). */
  | 'in_use'
  /** The outbox holds readings recorded by another agent id. */
  | 'other_agent';

export class OutboxError extends PulsebridgeError<OutboxErrorCode> {}

/** Refusals to open an outbox that only the operator can resolve: the agent must not start (exit as for configuration). */
export function isOwnershipConflict(err: unknown): boolean {
  return err instanceof OutboxError && (err.code === 'in_use' || err.code === 'other_agent');
}

/** True for errors that mean the database file is damaged, whoever threw them. */
export function isCorruption(err: unknown): boolean {
  if (err instanceof OutboxError) return err.code === 'corrupt';
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}
