/**
 * OpenTelemetry traces, shared by the hub and the agent: the `telemetry` configuration section, the one
 * tracer provider of the process (OTLP/HTTP export), and what components need to make spans.
 *
 * Off by default, and then free: no provider is registered, `tracerFor` answers undefined and components
 * skip every span (a no-op tracer would still allocate per batch and per request). Components ask for their
 * tracer once, at construction, so the composition root starts tracing before it builds them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { errorMessage } from './errors.ts';

export { SpanKind, SpanStatusCode, context, trace, type Context, type Span, type Tracer };

export const TelemetryConfig = Type.Object(
  {
    traces: Type.Object(
      {
        exporter: Type.Union([Type.Literal('none'), Type.Literal('otlp')], {
          default: 'none',
          description: "'otlp' exports spans over OTLP/HTTP (JSON) to `endpoint`; 'none' makes no spans at all",
        }),
        endpoint: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'OTLP/HTTP base URL of the collector, e.g. http://otel-collector:4318 (spans go to <endpoint>/v1/traces); default: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318',
          }),
        ),
        sampleRatio: Type.Number({
          minimum: 0,
          maximum: 1,
          default: 1,
          description: 'share of new traces kept (0..1); a trace started elsewhere (an agent, a caller) keeps its own decision',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type TelemetryConfig = Static<typeof TelemetryConfig>;

export function telemetryConfigProblems(config: TelemetryConfig, path: string): string[] {
  const endpoint = config.traces.endpoint;
  if (endpoint === undefined) return [];
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return [`${path}/traces/endpoint: "${endpoint}" is not a URL`];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return [`${path}/traces/endpoint: must be an http:// or https:// URL (OTLP/HTTP), not ${url.protocol}`];
  return [];
}

export interface Tracing {
  readonly enabled: boolean;
  /** Exports what is still buffered and stops; bounded by the exporter's own timeout. */
  shutdown(): Promise<void>;
}

let provider: NodeTracerProvider | undefined;

/** The process's tracing, from its `telemetry` section. Once per process: a second call while one runs throws. */
export function startTracing(config: TelemetryConfig, service: { name: string; version?: string | undefined }): Tracing {
  const traces = config.traces;
  if (traces.exporter === 'none') return { enabled: false, shutdown: async () => {} };
  if (provider) throw new Error('tracing is already started in this process');
  const exporter = new OTLPTraceExporter(traces.endpoint === undefined ? {} : { url: `${traces.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const started = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: service.name, ...(service.version === undefined ? {} : { [ATTR_SERVICE_VERSION]: service.version }) }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(traces.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // The AsyncLocalStorage context manager and the W3C trace-context propagator.
  started.register();
  provider = started;
  return {
    enabled: true,
    shutdown: async () => {
      if (provider !== started) return;
      provider = undefined;
      await started.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The tracer of one component, or undefined when this process does not trace (then make no spans). */
export function tracerFor(scope: string): Tracer | undefined {
  return provider?.getTracer(scope);
}

/** W3C `traceparent` of the span, to carry it where there are no headers (a readings batch). */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(context.active(), span), carrier);
  return carrier['traceparent'];
}

/** The context a carried `traceparent` continues; the active one when it is absent or not valid. */
export function contextFrom(carrier: Readonly<Record<string, string | string[] | undefined>>): Context {
  return propagation.extract(context.active(), carrier);
}

/** Ends a span as failed, with the error's message (never its stack or fields: they may hold secrets). */
export function endWithError(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
  span.end();
}

/** Runs `work` with `span` active (so child spans and log lines find it), ending it when `work` settles. */
export async function inSpan<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    const result = await context.with(trace.setSpan(context.active(), span), work);
    span.end();
    return result;
  } catch (err) {
    endWithError(span, err);
    throw err;
  }
}
