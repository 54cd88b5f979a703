import { PulsebridgeError } from '@pulsebridge/runtime';

export type TransportErrorCode =
  /** publish() before start() or after stop(). */
  | 'not_running'
  /** The broker refused the hub's own credentials (external broker). */
  | 'auth_failed'
  /** The broker refused a subscription the hub needs (external broker ACL, or no shared subscriptions). */
  | 'subscribe_refused'
  | 'timeout'
  | 'publish_failed'
  | 'listen_failed'
  | 'invalid_agent';

export class TransportError extends PulsebridgeError<TransportErrorCode> {}
