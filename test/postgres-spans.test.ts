/**
 * Client spans for PostgreSQL: with tracing on, queries of `pg` pools and clients, imported as ES modules the
 * way the hub imports them, become spans under the active span, exported over OTLP like the hub's others.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { inSpan, startTracing, tracerFor } from '@pulsebridge/runtime';
import { instrumentPostgres } from '../hub/src/telemetry/postgres-spans.ts';
import { CLIENT, OtlpReceiver } from './otlp-receiver.ts';
import { missingService } from './services.ts';

const PG_URL = process.env['PG_URL'];
const NO_PG = missingService(PG_URL ? false : 'PG_URL not set (run the tests through scripts/test-services.sh to start PostgreSQL)');

test('PostgreSQL queries of pools and clients are client spans under the active span, failures marked as errors', { skip: NO_PG, timeout: 30_000 }, async () => {
  const receiver = new OtlpReceiver();
  await receiver.start();
  const tracing = startTracing({ traces: { exporter: 'otlp', endpoint: receiver.url, sampleRatio: 1 } }, { name: 'pg-spans-test' });
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  try {
    instrumentPostgres();
    const parent = tracerFor('test')!.startSpan('work');
    await inSpan(parent, async () => {
      assert.equal((await pool.query('SELECT $1::int AS n', [7])).rows[0].n, 7);
      const client = await pool.connect();
      try {
        await client.query({ text: 'SELECT 1 AS one' });
        await assert.rejects(client.query('SELECT * FROM no_such_table_for_spans'));
      } finally {
        client.release();
      }
    });
    await tracing.shutdown();
    const work = receiver.spans.find((s) => s.name === 'work')!;
    const queries = receiver.spans.filter((s) => s.attributes['db.system.name'] === 'postgresql');
    assert.deepEqual(
      queries.map((s) => s.attributes['db.query.text']),
      ['SELECT $1::int AS n', 'SELECT 1 AS one', 'SELECT * FROM no_such_table_for_spans'],
    );
    for (const span of queries) {
      assert.equal(span.kind, CLIENT);
      assert.equal(span.name, 'SELECT');
      assert.equal(span.traceId, work.traceId);
      assert.equal(span.parentSpanId, work.spanId);
      assert.equal(span.attributes['db.operation.name'], 'SELECT');
    }
    assert.equal(queries[0]!.attributes['db.response.returned_rows'], 1);
    assert.deepEqual(
      queries.map((s) => s.status?.code ?? 0),
      [0, 0, 2],
    );
    assert.ok(!JSON.stringify(queries).includes('"7"') && !JSON.stringify(queries).includes(':7'), 'parameter values stay out of the spans');
  } finally {
    await pool.end();
    await tracing.shutdown();
    await receiver.stop();
  }
});
