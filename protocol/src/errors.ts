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

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}
