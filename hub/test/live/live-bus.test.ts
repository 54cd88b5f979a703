import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { until } from '@pulsebridge/runtime';
import { MemoryLiveBus, type LiveReadings } from '../../src/live/live-bus.ts';
import { RedisLiveBus } from '../../src/live/redis-live-bus.ts';
import { NO_REDIS, adminClient, closeTestConnections, killConnection, openTestConnection, testKeyPrefix } from '../redis/redis-services.ts';
import { liveBusContract } from './live-bus-contract.ts';

const silent = pino({ level: 'silent' });
after(closeTestConnections);

let pairs = 0;
liveBusContract('in-process bus', {
  pair: async () => {
    const bus = new MemoryLiveBus();
    const id = ++pairs;
    return { a: bus, b: bus, gym: (name) => `${name}-${id}`, close: async () => {} };
  },
});

async function redisBus(keyPrefix: string, options: Parameters<typeof openTestConnection>[1] = {}): Promise<RedisLiveBus> {
  return new RedisLiveBus({ connection: await openTestConnection(keyPrefix, options), log: silent });
}

liveBusContract('Redis bus', {
  skip: NO_REDIS,
  pair: async () => {
    const keyPrefix = testKeyPrefix();
    const [a, b] = await Promise.all([redisBus(keyPrefix), redisBus(keyPrefix)]);
    return { a, b, gym: (name) => name, close: async () => {} };
  },
});

const reading = (gym: string, agent: string, value = 1): LiveReadings => ({
  gym,
  agent,
  series: [{ sensor: 'hr-1', metric: 'heart_rate', ts: [1_700_000_000_000], values: [value] }] as LiveReadings['series'],
});

test('Redis bus: the batches of one storage write go out as one message per gym', { skip: NO_REDIS }, async () => {
  const keyPrefix = testKeyPrefix();
  const [a, b] = await Promise.all([redisBus(keyPrefix), redisBus(keyPrefix)]);
  const got: string[] = [];
  b.subscribe({}, (r) => got.push(`${r.gym}/${r.agent}`));
  await b.listening();
  for (let i = 0; i < 10; i++) a.publish(reading(i % 2 === 0 ? 'even' : 'odd', `agent-${i}`));
  await until('all ten batches to arrive', () => got.length === 10, 5_000, 5);
  assert.equal(a.counts.published, 2);
  assert.equal(b.counts.received, 2);
  assert.deepEqual(
    got.filter((g) => g.startsWith('even/')),
    ['even/agent-0', 'even/agent-2', 'even/agent-4', 'even/agent-6', 'even/agent-8'],
  );
});

test('Redis bus: messages that are not the bus’s own format are counted and dropped, not delivered', { skip: NO_REDIS }, async () => {
  const keyPrefix = testKeyPrefix();
  const bus = await redisBus(keyPrefix);
  const got: LiveReadings[] = [];
  bus.subscribe({ gym: 'g' }, (r) => got.push(r));
  await bus.listening();
  const admin = adminClient();
  try {
    await admin.publish(`${keyPrefix}live:g`, 'not json');
    await admin.publish(`${keyPrefix}live:g`, JSON.stringify({ o: 'someone', r: [{ gym: 'g' }] }));
    await admin.publish(`${keyPrefix}live:g`, JSON.stringify({ o: 'someone', r: [reading('g', 'fine')] }));
    await until('the good message to arrive', () => got.length === 1, 5_000, 5);
    assert.equal(bus.counts.unreadable, 2);
    assert.equal(got[0]?.agent, 'fine');
  } finally {
    admin.disconnect();
  }
});

test('Redis bus: a subscriber that throws keeps neither the publisher nor the other subscribers from their readings', { skip: NO_REDIS }, async () => {
  const keyPrefix = testKeyPrefix();
  const [a, b] = await Promise.all([redisBus(keyPrefix), redisBus(keyPrefix)]);
  const got: string[] = [];
  b.subscribe({ gym: 'g' }, () => {
    throw new Error('a broken viewer');
  });
  b.subscribe({ gym: 'g' }, (r) => got.push(r.agent));
  await b.listening();
  a.publish(reading('g', 'agent-1'));
  a.publish(reading('g', 'agent-2'));
  await until('both batches at the healthy subscriber', () => got.length === 2, 5_000, 5);
});

test(
  'Redis bus: with Redis out of reach, publishing neither throws nor waits; local subscribers still get readings, the rest is counted as dropped, and readiness says so',
  { skip: NO_REDIS },
  async () => {
    const keyPrefix = testKeyPrefix();
    // A long reconnect delay keeps the connection down for the whole test.
    const connection = await openTestConnection(keyPrefix, { reconnect: { initialMs: 60_000, maxMs: 60_000 } });
    const bus = new RedisLiveBus({ connection, log: silent });
    const got: string[] = [];
    bus.subscribe({ gym: 'g' }, (r) => got.push(r.agent));
    await bus.listening();
    const admin = adminClient();
    try {
      await killConnection(admin, connection.commands);
      await until('the command connection to be lost', () => !connection.available, 5_000, 5);
      assert.match(connection.readiness(), /commands connection (reconnecting|connecting|close)/);
      bus.publish(reading('g', 'agent-1'));
      assert.deepEqual(got, ['agent-1']);
      await until('the message to be counted as dropped', () => bus.counts.dropped === 1, 5_000, 5);
      assert.equal(bus.counts.published, 0);
    } finally {
      admin.disconnect();
    }
  },
);

test('Redis bus: lost connections come back by themselves, subscriptions included, and the losses are counted in metrics', { skip: NO_REDIS }, async () => {
  const keyPrefix = testKeyPrefix();
  const connection = await openTestConnection(keyPrefix, { reconnect: { initialMs: 20, maxMs: 100 } });
  const metrics = new Registry();
  connection.register(metrics);
  const receiver = new RedisLiveBus({ connection, log: silent });
  const sender = await redisBus(keyPrefix);
  const got: string[] = [];
  receiver.subscribe({ gym: 'g' }, (r) => got.push(r.agent));
  await receiver.listening();
  const admin = adminClient();
  try {
    await killConnection(admin, connection.subscriber);
    await killConnection(admin, connection.commands);
    await until(
      'both connections to be lost',
      async () => /pb_hub_redis_connection_losses_total\{connection="subscriber"\} 1/.test(await metrics.metrics()) && !connection.available,
      5_000,
      5,
    ).catch(() => {});
    await until('both connections back', () => connection.readiness() === 'ok', 5_000, 10);
    // Subscribed again after the reconnect: readings from the other replica arrive once more.
    await until(
      'readings to flow again',
      () => {
        sender.publish(reading('g', `after-${got.length}`));
        return got.length > 0;
      },
      5_000,
      50,
    );
    const text = await metrics.metrics();
    assert.match(text, /pb_hub_redis_connection_losses_total\{connection="commands"\} 1/);
    assert.match(text, /pb_hub_redis_connection_losses_total\{connection="subscriber"\} 1/);
    assert.match(text, /pb_hub_redis_reconnects_total\{connection="commands"\} 1/);
    assert.match(text, /pb_hub_redis_reconnects_total\{connection="subscriber"\} 1/);
    assert.match(text, /pb_hub_redis_connected\{connection="commands"\} 1/);
  } finally {
    admin.disconnect();
  }
});

test('Redis bus: a viewer leaving after the hub closed the Redis connection is no error', { skip: NO_REDIS }, async () => {
  const connection = await openTestConnection(testKeyPrefix());
  const bus = new RedisLiveBus({ connection, log: silent });
  const leave = bus.subscribe({ gym: 'g' }, () => {});
  const leaveAll = bus.subscribe({}, () => {});
  await bus.listening();
  await connection.close();
  leave();
  leaveAll();
  await bus.listening();
  bus.publish(reading('g', 'agent-1'));
  await until('the message to be counted as dropped', () => bus.counts.dropped === 1, 5_000, 5);
});
