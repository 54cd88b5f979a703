/**
 * Admin-token authentication for the API. One middleware, so OIDC access tokens can replace it without
 * touching the routes: whatever replaces it sets `ctx.state.principal` or throws ApiError('unauthorized').
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { PulsebridgeError } from '@pulsebridge/runtime';
import type { ApiContext, ApiState } from './context.ts';
import { ApiError } from './problem.ts';

export interface BearerAuthOptions {
  token: string;
  /** Whether this request may carry the token as `?access_token=` (EventSource clients cannot set headers). */
  acceptsQueryToken: (ctx: ApiContext) => boolean;
}

/** The API was built with settings it cannot work with (a programming or configuration mistake). */
export class ApiConfigError extends PulsebridgeError<'api_config'> {
  constructor(message: string) {
    super('api_config', message);
  }
}

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

// Hashing first gives both sides the same length, so neither the token nor its length leaks through timing.
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function bearerAuth(options: BearerAuthOptions): Middleware<ApiState> {
  if (options.token.length === 0) throw new ApiConfigError('admin token must not be empty');
  const expected = digest(options.token);
  return async (ctx, next) => {
    const header = ctx.get('Authorization');
    let presented: string | undefined;
    if (header) {
      presented = BEARER.exec(header)?.[1];
      if (presented === undefined) throw unauthorized('the Authorization header must be "Bearer <token>"', 'invalid_request');
    } else if (options.acceptsQueryToken(ctx)) {
      const fromQuery = ctx.query['access_token'];
      if (typeof fromQuery === 'string' && fromQuery !== '') presented = fromQuery;
    }
    if (presented === undefined) throw unauthorized('credentials are required', undefined);
    if (!timingSafeEqual(digest(presented), expected)) throw unauthorized('the token is not valid', 'invalid_token');
    ctx.state.principal = { kind: 'admin' };
    await next();
  };
}

/** RFC 6750: an error code only when credentials were presented. */
function unauthorized(detail: string, error: 'invalid_request' | 'invalid_token' | undefined): ApiError {
  const challenge = error ? `Bearer realm="pulsebridge", error="${error}"` : 'Bearer realm="pulsebridge"';
  return new ApiError('unauthorized', detail, { headers: { 'WWW-Authenticate': challenge } });
}
