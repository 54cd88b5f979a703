import type { ParameterizedContext } from 'koa';
import type { Operation } from './operations.ts';

/** Who made the request. Only the admin token exists today; users and their gyms arrive with identity. */
export interface Principal {
  kind: 'admin';
}

export interface ApiState {
  requestId: string;
  /** The operation the request matched, resolved before authentication. */
  operation?: Operation;
  /** Route template for metrics and logs, set once a route matched; never the raw path (unbounded labels). */
  route?: string;
  principal?: Principal;
}

export type ApiContext = ParameterizedContext<ApiState>;
