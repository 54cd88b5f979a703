/**
 * The one error base class of every Pulsebridge process. A caller that must tell errors apart switches on
 * `code` (or on a subclass where the error carries more than a code); nothing matches on message text.
 */
export class PulsebridgeError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A wait that ran out; the message says what was waited for and for how long. */
export class TimeoutError extends PulsebridgeError<'timeout'> {
  readonly waitedFor: string;
  readonly timeoutMs: number;

  constructor(waitedFor: string, timeoutMs: number) {
    super('timeout', `timed out after ${Math.round(timeoutMs)} ms waiting for ${waitedFor}`);
    this.waitedFor = waitedFor;
    this.timeoutMs = timeoutMs;
  }
}

/** The message of anything thrown, for logs and health details. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
