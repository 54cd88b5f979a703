/**
 * Client spans for Redis: with tracing on, commands of ioredis connections, single and pipelined, become spans
 * under the active span, without their arguments.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { inSpan, startTracing, tracerFor } from '@pulsebridge/runtime';
import { instrumentRedis } from '../hub/src/telemetry/redis-spans.ts';
import { CLIENT, OtlpReceiver } from './otlp-receiver.ts';
import { missingService } from './services.ts';

const REDIS_URL = process.env['REDIS_URL'];
const NO_REDIS = missingService(REDIS_URL ? false : 'REDIS_URL not set (run the tests through scripts/test-services.sh to start Redis)');

test('Redis commands, single and pipelined, are client spans under the active span, without their arguments', { skip: NO_REDIS, timeout: 30_000 }, async () => {
  const receiver = new OtlpReceiver();
  await receiver.start();
  const tracing = startTracing({ traces: { exporter: 'otlp', endpoint: receiver.url, sampleRatio: 1 } }, { name: 'redis-spans-test' });
  const redis = new Redis(REDIS_URL!, { lazyConnect: true });
  const key = `pb-test-spans:${randomUUID()}`;
  try {
    instrumentRedis();
    await redis.connect();
    const parent = tracerFor('test')!.startSpan('work');
    await inSpan(parent, async () => {
      await redis.set(key, 'secret-value', 'PX', 10_000);
      assert.equal(await redis.get(key), 'secret-value');
      await redis.pipeline().incr(`${key}:n`).del(`${key}:n`).exec();
      await assert.rejects(redis.incr(key));
    });
    await redis.del(key);
    await tracing.shutdown();
    const work = receiver.spans.find((s) => s.name === 'work')!;
    const commands = receiver.spans.filter((s) => s.attributes['db.system.name'] === 'redis' && s.parentSpanId === work.spanId);
    assert.deepEqual(
      commands.map((s) => s.name),
      ['SET', 'GET', 'INCR', 'DEL', 'INCR'],
    );
    for (const span of commands) {
      assert.equal(span.kind, CLIENT);
      assert.equal(span.traceId, work.traceId);
      assert.equal(span.attributes['db.operation.name'], span.name);
    }
    assert.equal(commands.at(-1)!.status?.code, 2, 'INCR of a string fails');
    assert.ok(!JSON.stringify(receiver.spans).includes('secret-value'), 'values stay out of the spans');
    assert.ok(!JSON.stringify(receiver.spans).includes(key), 'keys stay out of the spans');
  } finally {
    redis.disconnect();
    await tracing.shutdown();
    await receiver.stop();
  }
});
