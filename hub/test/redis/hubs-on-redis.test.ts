/**
 * Two hub processes' worth of hubs on one Redis (live bus, cache, sign-in counters): a reading ingested by one
 * reaches a live stream opened on the other, and Redis shows in readiness and metrics.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Topics, encodeBatch } from '@pulsebridge/protocol';
import { withTimeout } from '@pulsebridge/runtime';
import { Hub, openStateDatabase } from '../../src/hub.ts';
import { SqliteAgentRegistry } from '../../src/registry/sqlite-agent-registry.ts';
import { platformToken, testHubConfig } from '../test-hub.ts';
import { NO_REDIS, REDIS_URL, adminClient, dropKeys, testKeyPrefix } from './redis-services.ts';

const log = pino({ level: 'silent' });
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pb-hubs-redis-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function redisHub(name: string, keyPrefix: string): Hub {
  const config = testHubConfig(join(dir, name), {
    PB_HUB_REDIS__URL: REDIS_URL!,
    PB_HUB_REDIS__KEY_PREFIX: keyPrefix,
    PB_HUB_LIVE__BUS: 'redis',
    PB_HUB_CACHE__STORE: 'redis',
    PB_HUB_RATE_LIMITS__STORE: 'redis',
  });
  return new Hub(config, { log });
}

/** A live stream's text so far, read on demand until it says enough. */
function streamText(response: Response): (enough: (text: string) => boolean, what: string) => Promise<string> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  return async (enough, what) => {
    const read = async (): Promise<string> => {
      while (!enough(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${what}: ${text}`);
        text += value;
      }
      return text;
    };
    return withTimeout(read(), 10_000, what);
  };
}

test('a reading ingested by one hub reaches a live stream on another hub through Redis; readiness and metrics show Redis', { skip: NO_REDIS, timeout: 60_000 }, async () => {
  const keyPrefix = testKeyPrefix();
  const ingesting = redisHub('a', keyPrefix);
  const serving = redisHub('b', keyPrefix);
  const admin = adminClient();
  let stream: AbortController | undefined;
  try {
    await ingesting.start();
    await serving.start();
    const ready = await fetch(`http://127.0.0.1:${serving.addresses.http!.port}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks['redis'], 'ok');
    const metrics = await (await fetch(`http://127.0.0.1:${serving.addresses.http!.port}/metrics`)).text();
    assert.match(metrics, /pb_hub_redis_connected\{connection="commands"\} 1/);
    assert.match(metrics, /pb_hub_live_bus_messages_total/);
    assert.match(metrics, /pb_hub_cache_hits_total/);

    const db = openStateDatabase(ingesting.config.hub.dataDir);
    const { secret } = await new SqliteAgentRegistry({ db, log }).create('box-1', 'gym-1').finally(() => db.close());

    stream = new AbortController();
    const token = await platformToken(serving);
    const response = await fetch(`http://127.0.0.1:${serving.addresses.http!.port}/api/v1/live?gym=gym-1`, {
      headers: { authorization: `Bearer ${token}` },
      signal: stream.signal,
    });
    assert.equal(response.status, 200);
    const readUntil = streamText(response);
    // From this comment on, the stream misses nothing any replica publishes.
    await readUntil((text) => text.includes(': connected'), 'the stream to say it is connected');

    const topics = new Topics('pb');
    const agent = await mqtt.connectAsync(`mqtt://127.0.0.1:${ingesting.addresses.mqtt!.port}`, {
      clientId: 'pb-agent-box-1',
      username: 'box-1',
      password: secret,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    try {
      const ts0 = Date.now() - 10_000;
      await agent.publishAsync(
        topics.of('box-1', 'readings'),
        encodeBatch({
          agent: 'box-1',
          stream: 's1',
          first: 0,
          last: 0,
          floor: 0,
          clockUnsynced: false,
          series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts: [ts0], values: [131] }],
        }),
        { qos: 1 },
      );
      const text = await readUntil((text) => text.includes('event: readings'), 'the reading from the other hub');
      const data = text.split('\n').find((line) => line.startsWith('data: '));
      const event = JSON.parse(data!.slice('data: '.length)) as { gym: string; agent: string; series: { values: number[] }[] };
      assert.deepEqual([event.gym, event.agent, event.series[0]?.values], ['gym-1', 'box-1', [131]]);
    } finally {
      await agent.endAsync();
    }
  } finally {
    stream?.abort();
    await ingesting.stop();
    await serving.stop();
    await dropKeys(admin, keyPrefix);
    admin.disconnect();
  }
});
