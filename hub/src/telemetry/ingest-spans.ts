/**
 * The spans of a readings batch's handling on the hub, in the trace the agent started when it sent the batch
 * (its traceparent travels in the batch): `readings ingest` from arrival to ack, `series write` for the store
 * write that holds it, `readings ack` for the ack's publish. Made only while the hub traces.
 */
import type { ReadingBatch } from '@pulsebridge/protocol';
import { SpanKind, context, contextFrom, trace, tracerFor, type Span, type Tracer } from '@pulsebridge/runtime';
import type { SeriesStore } from '../storage/series/series-store.ts';
import { seriesSystemOf } from './series-system.ts';

export class IngestSpans {
  private readonly tracer: Tracer;
  private readonly seriesSystem: string;

  private constructor(tracer: Tracer, store: SeriesStore) {
    this.tracer = tracer;
    this.seriesSystem = seriesSystemOf(store);
  }

  /** Undefined when this process does not trace: then ingest makes no spans at all. */
  static create(store: SeriesStore): IngestSpans | undefined {
    const tracer = tracerFor('pulsebridge-hub/ingest');
    return tracer ? new IngestSpans(tracer, store) : undefined;
  }

  /** A batch's handling: continues the agent's trace when the batch carries one, else starts a trace. */
  batch(agent: string, batch: ReadingBatch, bytes: number): Span {
    return this.tracer.startSpan(
      'readings ingest',
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'mqtt',
          'messaging.operation.type': 'process',
          'messaging.message.body.size': bytes,
          'pulsebridge.agent': agent,
          'pulsebridge.stream': batch.stream,
          'pulsebridge.first': batch.first,
          'pulsebridge.last': batch.last,
          'pulsebridge.readings': batch.last - batch.first + 1,
        },
      },
      batch.traceparent === undefined ? context.active() : contextFrom({ traceparent: batch.traceparent }),
    );
  }

  /** An ack's publish, under its batch's span; IngestContext.ack ends it when the publish settles. */
  ack(batchSpan: Span | undefined): Span | undefined {
    if (!batchSpan) return undefined;
    return this.tracer.startSpan(
      'readings ack',
      { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'mqtt', 'messaging.operation.type': 'send' } },
      trace.setSpan(context.active(), batchSpan),
    );
  }

  /** One store write of a group of batches: under the first traced batch's span, linked to every other one's. */
  write(batchSpans: readonly (Span | undefined)[], readings: number): Span | undefined {
    const [parent, ...others] = batchSpans.filter((span) => span !== undefined);
    if (!parent) return undefined;
    return this.tracer.startSpan(
      'series write',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'db.system.name': this.seriesSystem, 'db.operation.name': 'write', 'pulsebridge.batches': batchSpans.length, 'pulsebridge.readings': readings },
        links: others.map((other) => ({ context: other.spanContext() })),
      },
      trace.setSpan(context.active(), parent),
    );
  }
}

/** Runs `work` with `span` active when there is one, so that child spans and log lines find it. */
export function within<T>(span: Span | undefined, work: () => T): T {
  return span ? context.with(trace.setSpan(context.active(), span), work) : work();
}
