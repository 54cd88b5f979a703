/**
 * Client spans for InfluxDB reads: with tracing on, each InfluxQL statement the series store runs (an API read,
 * the start's database check) is a client span under the active span; with tracing off, none is made.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { pino } from 'pino';
import { inSpan, startTracing, tracerFor } from '@pulsebridge/runtime';
import { InfluxSeriesStore } from '../hub/src/storage/series/influx-series-store.ts';
import { influxql } from '../hub/test/storage/influx-v2-proxy.ts';
import { CLIENT, OtlpReceiver } from './otlp-receiver.ts';
import { missingService } from './services.ts';

const INFLUX_URL = process.env['INFLUX_URL'];
const NO_INFLUX = missingService(INFLUX_URL ? false : 'INFLUX_URL not set (run the tests through scripts/test-services.sh to start InfluxDB)');

test('InfluxQL statements are client spans under the active span, named by their operation', { skip: NO_INFLUX, timeout: 30_000 }, async () => {
  const db = `pb_spans_${randomBytes(4).toString('hex')}`;
  await influxql(INFLUX_URL!, `CREATE DATABASE "${db}"`);
  const receiver = new OtlpReceiver();
  await receiver.start();
  const tracing = startTracing({ traces: { exporter: 'otlp', endpoint: receiver.url, sampleRatio: 1 } }, { name: 'influx-spans-test' });
  const store = new InfluxSeriesStore({ url: INFLUX_URL!, org: 'pulsebridge', bucket: `${db}/autogen`, log: pino({ level: 'silent' }) });
  try {
    await store.start();
    const parent = tracerFor('test')!.startSpan('read');
    const points = await inSpan(parent, () => store.readRaw({ agent: 'box-1', sensor: 'ble:hr-1', metric: 'heart_rate', from: 0, to: Date.now() }, 10));
    assert.deepEqual(points, []);
    await tracing.shutdown();
    const read = receiver.spans.find((s) => s.name === 'read')!;
    const statements = receiver.spans.filter((s) => s.attributes['db.system.name'] === 'influxdb');
    const underRead = statements.filter((s) => s.parentSpanId === read.spanId);
    assert.deepEqual(
      underRead.map((s) => s.name),
      ['SELECT'],
    );
    assert.equal(underRead[0]!.kind, CLIENT);
    assert.equal(underRead[0]!.traceId, read.traceId);
    assert.equal(underRead[0]!.attributes['db.namespace'], db);
    assert.match(String(underRead[0]!.attributes['db.query.text']), /^SELECT "value" FROM "readings" WHERE/);
    assert.ok(
      statements.some((s) => s.name === 'SHOW' && s.parentSpanId !== read.spanId),
      'the start check is a span of its own',
    );
  } finally {
    await store.stop();
    await tracing.shutdown();
    await receiver.stop();
    await influxql(INFLUX_URL!, `DROP DATABASE "${db}"`);
  }
});
