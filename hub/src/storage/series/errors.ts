import { PulsebridgeError } from '@pulsebridge/runtime';

/** Why a SeriesStore call failed. Codes are stable: ingest decides from them whether the agent should resend. */
export type SeriesStoreErrorCode =
  /** A read selector is out of range; the caller's mistake, never worth retrying. */
  | 'invalid_query'
  /** A write carries something no store can keep (empty or control characters in an id, NaN, ...). */
  | 'invalid_write'
  /** Called before start() or after stop(). */
  | 'not_started'
  /** The database could not be opened or answered with an error. */
  | 'unavailable'
  /** The write did not happen or was not confirmed for every point; the same write may succeed later. */
  | 'write_failed'
  /** The server refused the points themselves (e.g. older than its retention period): resending cannot help. */
  | 'write_rejected'
  | 'query_failed'
  | 'timeout';

export class SeriesStoreError extends PulsebridgeError<SeriesStoreErrorCode> {
  /** For invalid_query and invalid_write: the selector field or write path at fault. */
  readonly param: string | undefined;

  constructor(code: SeriesStoreErrorCode, message: string, options: { param?: string; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.param = options.param;
  }

  /** True when the same call may succeed later (the hub should not ack, the agent will resend). */
  get retryable(): boolean {
    return this.code === 'unavailable' || this.code === 'write_failed' || this.code === 'query_failed' || this.code === 'timeout';
  }
}
