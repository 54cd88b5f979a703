/**
 * Redis for tests: the server scripts/test-services.sh starts (REDIS_URL), a key prefix of the test's own so
 * tests sharing the server never see each other's keys, and the connections to close afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { RedisConnection, type RedisConnectionOptions } from '../../src/redis/redis-connection.ts';
import { missingService } from '../../../test/services.ts';

export const REDIS_URL = process.env['REDIS_URL'];
export const NO_REDIS = missingService(REDIS_URL ? false : 'REDIS_URL not set (run the tests through scripts/test-services.sh to start Redis)');

/** A fresh key prefix: `pbtest:<pid>:<random>:`. */
export function testKeyPrefix(): string {
  return `pbtest:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** Connections opened through `openTestConnection`, closed by `closeTestConnections`. */
const opened: RedisConnection[] = [];

export async function openTestConnection(keyPrefix: string, options: Partial<RedisConnectionOptions> = {}): Promise<RedisConnection> {
  const connection = await RedisConnection.open({ url: REDIS_URL!, keyPrefix, log: pino({ level: 'silent' }), ...options });
  opened.push(connection);
  return connection;
}

export async function closeTestConnections(): Promise<void> {
  await Promise.all(opened.splice(0).map((connection) => connection.close()));
}

/** A plain client for what the code under test must not do itself: kill its connections, count its keys. */
export function adminClient(): Redis {
  return new Redis(REDIS_URL!, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** Ends the server side of the client's connection, as a failover or a network cut would. */
export async function killConnection(admin: Redis, client: Redis): Promise<void> {
  // By address, not CLIENT ID: a subscribed connection takes no CLIENT commands.
  await admin.client('KILL', 'ADDR', `${client.stream.localAddress}:${client.stream.localPort}`);
}

/** Deletes every key under the prefix (tests clean up after themselves). */
export async function dropKeys(admin: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.unlink(...keys);
  } while (cursor !== '0');
}
