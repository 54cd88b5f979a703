/**
 * Client spans for PostgreSQL: every query of every `pg` client and pool in the process (identity, documents,
 * state, rate limits) becomes a span under whatever span is active (an HTTP request, a batch's ingest).
 *
 * By patching `pg.Client.prototype.query` here rather than with @opentelemetry/instrumentation-pg: that
 * package hooks `require`, which never sees `pg` imported from ES modules without a loader hook, and its
 * releases for the SDK this hub uses need Node 22. Pools run their queries through Client.query, so one patch
 * covers them; an ES module import of `pg` gets the same CommonJS exports object as this one.
 */
import pg from 'pg';
import { SpanKind, context, endWithError, trace, tracerFor, type Span } from '@pulsebridge/runtime';
import { statementOperation, statementText } from './db-statement.ts';

type Query = (this: pg.Client, ...args: unknown[]) => unknown;
type Callback = (err: unknown, result: unknown) => void;

let instrumented = false;

/** Starts making spans for PostgreSQL queries; a no-op when this process does not trace, or on a second call. */
export function instrumentPostgres(): void {
  const tracer = tracerFor('pulsebridge-hub/postgresql');
  if (!tracer || instrumented) return;
  instrumented = true;
  const prototype = pg.Client.prototype as unknown as { query: Query };
  const original = prototype.query;
  prototype.query = function tracedQuery(this: pg.Client, ...args: unknown[]): unknown {
    const text = queryText(args[0]);
    const operation = text === undefined ? undefined : statementOperation(text);
    const span = tracer.startSpan(operation ?? 'postgresql', {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': 'postgresql',
        ...(this.database === undefined ? {} : { 'db.namespace': this.database }),
        ...(operation === undefined ? {} : { 'db.operation.name': operation }),
        ...(text === undefined ? {} : { 'db.query.text': statementText(text) }),
        ...(this.host === undefined ? {} : { 'server.address': this.host }),
        ...(this.port === undefined ? {} : { 'server.port': this.port }),
      },
    });
    const last = args.length - 1;
    if (typeof args[last] === 'function') args[last] = endingSpan(span, args[last] as Callback);
    let result: unknown;
    try {
      result = context.with(trace.setSpan(context.active(), span), () => original.apply(this, args));
    } catch (err) {
      endWithError(span, err);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (value: unknown) => {
          endWithRows(span, value);
          return value;
        },
        (err: unknown) => {
          endWithError(span, err);
          throw err;
        },
      );
    }
    // A callback ends the span; a submittable (a cursor, a stream) runs on past this call: its start is what is known.
    if (typeof args[last] !== 'function') span.end();
    return result;
  };
}

function queryText(config: unknown): string | undefined {
  if (typeof config === 'string') return config;
  if (typeof config === 'object' && config !== null && 'text' in config && typeof config.text === 'string') return config.text;
  return undefined;
}

function endWithRows(span: Span, result: unknown): void {
  const rows = typeof result === 'object' && result !== null && 'rowCount' in result ? result.rowCount : undefined;
  if (typeof rows === 'number') span.setAttribute('db.response.returned_rows', rows);
  span.end();
}

function endingSpan(span: Span, callback: Callback): Callback {
  return (err, result) => {
    if (err) endWithError(span, err);
    else endWithRows(span, result);
    callback(err, result);
  };
}
