/**
 * Client spans for Redis: every command of every ioredis connection in the process (live bus, cache, rate
 * limits) becomes a span under whatever span is active. Patched here for the reason postgres-spans.ts gives:
 * the instrumentation package hooks `require`, which ES module imports bypass. Pipelines send each command
 * through sendCommand too, so they are covered one span per command.
 */
import { Redis } from 'ioredis';
import { SpanKind, context, endWithError, trace, tracerFor } from '@pulsebridge/runtime';

type SendCommand = (this: Redis, command: { name: string; promise: Promise<unknown> }, ...rest: unknown[]) => unknown;

let instrumented = false;

/** Starts making spans for Redis commands; a no-op when this process does not trace, or on a second call. */
export function instrumentRedis(): void {
  const tracer = tracerFor('pulsebridge-hub/redis');
  if (!tracer || instrumented) return;
  instrumented = true;
  const prototype = Redis.prototype as unknown as { sendCommand: SendCommand };
  const original = prototype.sendCommand;
  prototype.sendCommand = function tracedSendCommand(this: Redis, command, ...rest): unknown {
    const operation = command.name.toUpperCase();
    const { host, port, db } = this.options;
    // Arguments are left out: keys name gyms and agents, values may be anything a component caches.
    const span = tracer.startSpan(operation, {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': 'redis',
        'db.operation.name': operation,
        ...(db === undefined ? {} : { 'db.namespace': String(db) }),
        ...(host === undefined ? {} : { 'server.address': host }),
        ...(port === undefined ? {} : { 'server.port': port }),
      },
    });
    command.promise.then(
      () => span.end(),
      (err: unknown) => endWithError(span, err),
    );
    return context.with(trace.setSpan(context.active(), span), () => original.call(this, command, ...rest));
  };
}
