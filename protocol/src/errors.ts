import { PulsebridgeError } from '@pulsebridge/runtime/errors';

/** Why a message was refused. Codes are stable: the hub counts rejections by code. */
export type ProtocolErrorCode = 'malformed' | 'unsupported_version' | 'invalid' | 'count_mismatch' | 'unknown_metric' | 'out_of_range' | 'too_large' | 'agent_mismatch';

/** Which readings batch a refusal is about, when its head could be read: what a 'rejected' ack names. */
export interface BatchRange {
  stream: string;
  first: number;
  last: number;
}

export class ProtocolError extends PulsebridgeError<ProtocolErrorCode> {
  readonly batch: BatchRange | undefined;

  constructor(code: ProtocolErrorCode, message: string, batch?: BatchRange) {
    super(code, message);
    this.batch = batch;
  }
}
