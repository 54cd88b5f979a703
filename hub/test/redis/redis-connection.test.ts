import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { RedisConnection, escapeGlob } from '../../src/redis/redis-connection.ts';
import { NO_REDIS, openTestConnection, testKeyPrefix } from './redis-services.ts';

const log = pino({ level: 'silent' });

test('opening fails within the connect timeout when nothing answers, and leaves nothing running', async () => {
  // A server that accepts and never speaks: the connection neither fails nor becomes ready.
  const accepted: Socket[] = [];
  const silent = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as AddressInfo;
  try {
    const started = Date.now();
    await assert.rejects(
      RedisConnection.open({ url: `redis://127.0.0.1:${port}`, keyPrefix: 'pb:', log, connectTimeoutMs: 300 }),
      /timed out after 300 ms waiting for Redis to answer/,
    );
    assert.ok(Date.now() - started < 3_000);
    assert.equal(accepted.length, 1, 'no second attempt after giving up');
  } finally {
    for (const socket of accepted) socket.destroy();
    silent.close();
  }
});

test('readiness is ok while both connections are up, and closed after close()', { skip: NO_REDIS }, async () => {
  const connection = await openTestConnection(testKeyPrefix());
  assert.equal(connection.readiness(), 'ok');
  assert.equal(connection.available, true);
  void connection.subscriber;
  await connection.close();
  assert.equal(connection.readiness(), 'closed');
  assert.equal(connection.available, false);
  assert.throws(() => connection.commands, /closed/);
});

test('escapeGlob makes a key prefix match only itself in SCAN MATCH and PSUBSCRIBE', () => {
  assert.equal(escapeGlob('pb:*?[x]\\'), 'pb:\\*\\?\\[x\\]\\\\');
});
