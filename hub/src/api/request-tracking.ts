/**
 * The outermost middlewares: request ids, the access log, HTTP metrics, and turning every failure into a
 * problem+json response.
 */
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { Histogram, type Registry } from 'prom-client';
import { LabelledCounts, SpanKind, SpanStatusCode, context, contextFrom, registerScraped, trace, tracerFor, withLogFields, type Span } from '@pulsebridge/runtime';
import { SeriesStoreError } from '../storage/series/errors.ts';
import type { ApiContext, ApiState } from './context.ts';
import { DocumentStoreError } from '../documents/document-store.ts';
import { ApiError, PROBLEM_CONTENT_TYPE, problemBody, type ProblemCode } from './problem.ts';

export interface RequestTrackingOptions {
  log: Logger;
  metrics: Registry;
  /** Long-lived streams: counted, but their lifetime says nothing about latency. */
  untimedRoutes: ReadonlySet<string>;
}

// Accept a caller's id (a proxy or another service tracing a request) only if it is safe to echo and log.
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The query string as it may be logged: tokens in URLs are credentials. */
function loggableUrl(ctx: ApiContext): string {
  if (!ctx.querystring.includes('access_token')) return ctx.url;
  const params = new URLSearchParams(ctx.querystring);
  if (params.has('access_token')) params.set('access_token', 'redacted');
  return `${ctx.path}?${params.toString()}`;
}

export function requestTracking(options: RequestTrackingOptions): Middleware<ApiState> {
  const requests = new LabelledCounts(['route', 'status']);
  registerScraped(options.metrics, [
    {
      name: 'pb_hub_http_requests_total',
      help: 'HTTP requests answered, by route template and status',
      kind: 'counter',
      label: ['route', 'status'],
      read: () => requests.samples(),
    },
  ]);
  const duration = new Histogram({
    name: 'pb_hub_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template (live streams excluded)',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [options.metrics],
  });

  const tracer = tracerFor('pulsebridge-hub/http');

  return async (ctx, next) => {
    const started = performance.now();
    const incoming = ctx.get('X-Request-Id');
    ctx.state.requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    // Continues a caller's trace (traceparent header); named by route template, which is known only once matched.
    const span = tracer?.startSpan(
      `${ctx.method}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': ctx.method, 'pulsebridge.request_id': ctx.state.requestId } },
      contextFrom(ctx.headers),
    );
    const handle = async (): Promise<void> => {
      try {
        await next();
      } finally {
        const route = ctx.state.route ?? 'unmatched';
        const status = ctx.status;
        const seconds = (performance.now() - started) / 1000;
        requests.inc({ route, status: String(status) });
        if (!options.untimedRoutes.has(route)) duration.observe({ route }, seconds);
        if (span) endServerSpan(span, ctx.method, ctx.state.route, status);
        options.log.debug({ reqId: ctx.state.requestId, method: ctx.method, url: loggableUrl(ctx), route, status, ms: Math.round(seconds * 1e4) / 10 }, 'request');
      }
    };
    // Every line logged while the request is handled, in any component, carries its request id (and trace).
    await withLogFields({ reqId: ctx.state.requestId }, () => (span ? context.with(trace.setSpan(context.active(), span), handle) : handle()));
  };
}

/** The raw path is left out of the span: it holds ids, and the route template is what groups requests. */
function endServerSpan(span: Span, method: string, route: string | undefined, status: number): void {
  if (route !== undefined) {
    span.updateName(`${method} ${route}`);
    span.setAttribute('http.route', route);
  }
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

interface Classified {
  code: ProblemCode;
  detail: string;
  param?: string | undefined;
  headers?: Readonly<Record<string, string>>;
  /** Not the client's fault, but worth an operator's attention. */
  warn?: boolean;
}

const RETRY_AFTER_SECONDS = '5';

/** What a thrown value means for the client. Anything not known to be the client's fault or a passing outage is a 500. */
function classify(error: unknown): Classified | undefined {
  if (error instanceof ApiError) return { code: error.code, detail: error.message, param: error.param, headers: error.headers };
  if (error instanceof SeriesStoreError) {
    // The API validates before querying, so a store refusing a query means the two disagree on a rule: say so in the log.
    if (error.code === 'invalid_query') return { code: 'invalid_parameter', detail: error.message, param: error.param, warn: true };
    if (error.retryable || error.code === 'not_started') {
      return { code: 'unavailable', detail: 'the series store is unavailable; retry later', headers: { 'Retry-After': RETRY_AFTER_SECONDS }, warn: true };
    }
  }
  if (error instanceof DocumentStoreError) {
    if (error.code === 'conflict') return { code: 'conflict', detail: error.message };
    if (error.code === 'unavailable')
      return { code: 'unavailable', detail: 'the document store is unavailable; retry later', headers: { 'Retry-After': RETRY_AFTER_SECONDS }, warn: true };
  }
  // The router decodes path parameters with decodeURIComponent.
  if (error instanceof URIError) return { code: 'invalid_parameter', detail: 'path: malformed percent-encoding', param: 'path' };
  // http-errors raised by Koa or the router for the client's request (e.g. a malformed header); `expose` marks them safe to show.
  if (error instanceof Error && 'status' in error && 'expose' in error && error.expose === true) {
    const status = Number(error.status);
    if (status === 404) return { code: 'not_found', detail: error.message };
    if (status === 405) return { code: 'method_not_allowed', detail: error.message };
    if (status === 501) return { code: 'not_implemented', detail: error.message };
    if (status >= 400 && status < 500) return { code: 'invalid_parameter', detail: error.message };
  }
  return undefined;
}

export function problemResponses(log: Logger): Middleware<ApiState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.respond === false || ctx.body != null) return;
      if (ctx.status === 404) throw new ApiError('not_found', `no route for ${ctx.method} ${ctx.path}`);
      if (ctx.status === 405) throw new ApiError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`);
      if (ctx.status === 501) throw new ApiError('not_implemented', `${ctx.method} is not supported`);
    } catch (error) {
      const known = classify(error);
      if (!known) log.error({ err: error, reqId: ctx.state.requestId, method: ctx.method, path: ctx.path }, 'request failed');
      else if (known.warn) log.warn({ err: error, reqId: ctx.state.requestId, method: ctx.method, path: ctx.path }, 'request failed');
      if (ctx.headerSent || !ctx.writable) {
        // A stream already under way cannot turn into a problem document; cutting it is the honest signal.
        ctx.res.destroy();
        return;
      }
      const { code, detail, param, headers } = known ?? {
        code: 'internal' as const,
        detail: `the hub failed to answer; quote request id ${ctx.state.requestId}`,
      };
      const body = problemBody(code, detail, ctx.path, ctx.state.requestId, param);
      ctx.status = body.status;
      for (const [name, value] of Object.entries(headers ?? {})) ctx.set(name, value);
      ctx.body = JSON.stringify(body);
      ctx.type = PROBLEM_CONTENT_TYPE;
    }
  };
}
