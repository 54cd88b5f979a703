import type { ParameterizedContext } from 'koa';
import type { Principal } from '../auth/principal.ts';
import type { Operation } from './operations.ts';

export interface ApiState {
  requestId: string;
  /** The operation the request matched, resolved before authentication. */
  operation?: Operation;
  /** Route template for metrics and logs, set once a route matched; never the raw path (unbounded labels). */
  route?: string;
  /** Who made the request: set by the access gate for every protected operation. */
  principal?: Principal;
  /** The gyms where the principal holds a role the operation needs ('all' for a platform admin). */
  gyms?: ReadonlySet<string> | 'all';
  /** The gym of the document the path names, for operations with access `{ resource }`. */
  gym?: string;
}

export type ApiContext = ParameterizedContext<ApiState>;
