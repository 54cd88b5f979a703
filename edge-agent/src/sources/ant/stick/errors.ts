import { PulsebridgeError } from '@pulsebridge/runtime';

export type AntStickErrorCode =
  /** The stick did not answer in time; the message names what was awaited. */
  | 'timeout'
  /** The stick answered a command with an error response code. */
  | 'rejected'
  /** The stick went away (or was closed) while a command was outstanding. */
  | 'closed';

export class AntStickError extends PulsebridgeError<AntStickErrorCode> {}
