/**
 * RFC 9457 problem details: the one shape every API error takes. Each problem type has a stable code, a
 * status and a title; its `type` URI points at the section of the API docs page that explains it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { PulsebridgeError } from '@pulsebridge/runtime';

export const PROBLEM_TYPES = {
  invalid_parameter: { status: 400, title: 'Invalid parameter', explanation: 'A query or path parameter is missing, malformed or out of range; `param` names it.' },
  range_too_large: {
    status: 400,
    title: 'Time range too large',
    explanation: 'The span between `from` and `to` exceeds what one request may cover; narrow it or page through it.',
  },
  too_many_steps: { status: 400, title: 'Too many steps', explanation: 'The rollup would return more steps than allowed; use a larger `step` or a shorter range.' },
  unauthorized: { status: 401, title: 'Unauthorized', explanation: 'Credentials are missing or wrong.' },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    explanation: 'The token is valid, but it lacks the scope this operation needs, or its holder lacks the role it needs in the gym asked for.',
  },
  not_found: { status: 404, title: 'Not found', explanation: 'No such route or resource.' },
  conflict: {
    status: 409,
    title: 'Conflict',
    explanation: 'The change clashes with the current state: the resource exists already (an agent id is taken, in any gym), or a rule of the domain forbids it now.',
  },
  payload_too_large: { status: 413, title: 'Payload too large', explanation: 'The request body is larger than this operation takes; the detail says how large it may be.' },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported media type',
    explanation: 'The uploaded file is not of a type this operation takes, whatever its Content-Type said, or it is damaged.',
  },
  method_not_allowed: { status: 405, title: 'Method not allowed', explanation: 'The route exists but not for this HTTP method; see the Allow header.' },
  not_implemented: { status: 501, title: 'Not implemented', explanation: 'The HTTP method is not supported by this server.' },
  too_many_requests: {
    status: 429,
    title: 'Too many requests',
    explanation: 'Too many failed attempts (sign-in, token, enrollment) from this address or for this account; wait as long as the Retry-After header says.',
  },
  too_many_clients: { status: 503, title: 'Too many live clients', explanation: 'The hub serves as many live streams as it is configured for; retry later.' },
  unavailable: { status: 503, title: 'Service unavailable', explanation: 'A store the hub depends on is unavailable or too slow right now; retry later.' },
  internal: { status: 500, title: 'Internal error', explanation: 'The hub failed unexpectedly; the detail carries the request id to quote.' },
} as const;

export type ProblemCode = keyof typeof PROBLEM_TYPES;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Relative to the API, so it resolves on whatever host serves the hub. */
export function problemTypeUri(code: ProblemCode): string {
  return `/api/v1/docs#problem-${code}`;
}

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'URI of the problem type; its anchor on the docs page explains it' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    instance: Type.String({ description: 'Path of the request that failed' }),
    requestId: Type.Optional(Type.String({ description: 'Same as the X-Request-Id response header; quote it when reporting a problem' })),
    param: Type.Optional(Type.String({ description: 'The offending parameter, for invalid_parameter and range problems' })),
  },
  { description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof Problem>;

export class ApiError extends PulsebridgeError<ProblemCode> {
  readonly status: number;
  readonly param: string | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ProblemCode, detail: string, options: { param?: string; headers?: Record<string, string> } = {}) {
    super(code, detail);
    this.status = PROBLEM_TYPES[code].status;
    this.param = options.param;
    this.headers = options.headers ?? {};
  }
}

export function invalidParameter(param: string, detail: string): ApiError {
  return new ApiError('invalid_parameter', `${param}: ${detail}`, { param });
}

export function problemBody(code: ProblemCode, detail: string, instance: string, requestId: string, param?: string): Problem {
  const spec = PROBLEM_TYPES[code];
  const body: Problem = { type: problemTypeUri(code), title: spec.title, status: spec.status, detail, instance, requestId };
  if (param !== undefined) body.param = param;
  return body;
}
