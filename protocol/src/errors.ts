/** Why a message was refused. Codes are stable: the hub counts rejections by code. */
export type ProtocolErrorCode =
  | 'malformed'
  | 'unsupported_version'
  | 'invalid'
  | 'count_mismatch'
  | 'unknown_metric'
  | 'out_of_range'
  | 'too_large'
  | 'agent_mismatch';

/** Which readings batch a refusal is about, when its head could be read: what a 'rejected' ack names. */
export interface BatchRange {
  stream: string;
  first: number;
  last: number;
}

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly batch: BatchRange | undefined;

  constructor(code: ProtocolErrorCode, message: string, batch?: BatchRange) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    this.batch = batch;
  }
}
