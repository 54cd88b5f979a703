/**
 * A real hub (embedded broker, SQLite): a batch an agent flags as stamped by an unconfirmed clock is acked,
 * kept out of the athlete's series, shown under the agent, survives a restart, and lands in the series at
 * true time once corrected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Topics, encodeBatch, type AckMessage } from '@pulsebridge/protocol';
import { until, withTimeout } from '@pulsebridge/runtime';
import { platformToken, testHubConfig } from './test-hub.ts';
import { Hub, openStateDatabase } from '../src/hub.ts';
import { SqliteAgentRegistry } from '../src/registry/sqlite-agent-registry.ts';

const topics = new Topics('pb');
const log = pino({ level: 'silent' });
const HOURS_3 = 3 * 3_600_000;

function startHub(dataDir: string): Promise<Hub> {
  const hub = new Hub(testHubConfig(dataDir), { log });
  return hub.start().then(() => hub);
}

async function call(hub: Hub, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { authorization: `Bearer ${await platformToken(hub)}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://127.0.0.1:${hub.addresses.http!.port}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text };
}

describe('Hub with readings of an unconfirmed clock', { timeout: 60_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pb-hub-unsynced-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a flagged batch is acked, held apart under its boot across a restart, and corrected into the series', async () => {
    const dataDir = join(dir, 'e2e');
    let hub = await startHub(dataDir);
    const trueTime = Date.now() - 60_000;
    const stamped = trueTime - HOURS_3;
    try {
      const db = openStateDatabase(dataDir);
      const { secret } = await new SqliteAgentRegistry({ db, log }).create('box-1', 'gym-1').finally(() => db.close());
      const client = await mqtt.connectAsync(
        `mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`,
        { clientId: 'pb-agent-box-1', username: 'box-1', password: secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000 },
        false,
      );
      try {
        await client.subscribeAsync(topics.of('box-1', 'ack'), { qos: 1 });
        const acked = withTimeout(new Promise<Buffer>((resolve) => client.once('message', (_topic, payload) => resolve(payload))), 5_000, 'the ack');
        const payload = encodeBatch({
          agent: 'box-1',
          stream: 's1',
          first: 0,
          last: 2,
          floor: 0,
          clockUnsynced: true,
          boot: 'boot-7',
          series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts: [stamped, stamped + 1_000, stamped + 2_000], values: [120, 121, 123] }],
        });
        await client.publishAsync(topics.of('box-1', 'readings'), payload, { qos: 1 });
        assert.equal((JSON.parse((await acked).toString()) as AckMessage).result, 'stored');
        const ackedToo = withTimeout(new Promise<Buffer>((resolve) => client.once('message', (_topic, p) => resolve(p))), 5_000, 'the second ack');
        const otherBoot = encodeBatch({
          agent: 'box-1',
          stream: 's1',
          first: 3,
          last: 3,
          floor: 0,
          clockUnsynced: true,
          boot: 'boot-8',
          series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts: [stamped], values: [99] }],
        });
        await client.publishAsync(topics.of('box-1', 'readings'), otherBoot, { qos: 1 });
        assert.equal((JSON.parse((await ackedToo).toString()) as AckMessage).result, 'stored');
      } finally {
        await client.endAsync();
      }
      const wide = `from=${stamped - 1}&to=${trueTime + 10_000}`;
      const series = await call(hub, `/api/v1/readings?sensor=ble:hr-1&metric=heart_rate&${wide}`);
      assert.deepEqual((series.body as { readings: unknown[] }).readings, [], 'not in the series at the wrong time');
      await until(
        'the agent to show 4 unsynced readings',
        async () => ((await call(hub, '/api/v1/agents/box-1')).body as { unsyncedReadings: number }).unsyncedReadings === 4,
        5_000,
      );
    } finally {
      await hub.stop();
    }

    hub = await startHub(dataDir);
    try {
      assert.match(String((await call(hub, '/metrics')).body), /^pb_hub_unsynced_readings 4$/m, 'counted again from the store at start');
      const boots = await call(hub, '/api/v1/agents/box-1/unsynced');
      assert.deepEqual(boots.body, [
        { agent: 'box-1', boot: 'boot-7', gym: 'gym-1', readings: 3, firstStamp: stamped, lastStamp: stamped + 2_000, sensors: ['ble:hr-1'] },
        { agent: 'box-1', boot: 'boot-8', gym: 'gym-1', readings: 1, firstStamp: stamped, lastStamp: stamped, sensors: ['ble:hr-1'] },
      ]);
      // Corrected to more than ingest.maxReadingAgeMs ago: refused like any reading that old, and discarded.
      const tooOld = await call(hub, '/api/v1/agents/box-1/unsynced/boot-8/correction', { method: 'POST', body: { offsetMs: -30 * 86_400_000 } });
      assert.deepEqual(tooOld.body, { agent: 'box-1', boot: 'boot-8', offsetMs: -30 * 86_400_000, moved: 0, refused: 1 });
      const corrected = await call(hub, '/api/v1/agents/box-1/unsynced/boot-7/correction', { method: 'POST', body: { stamped, actual: trueTime } });
      assert.equal(corrected.status, 200, JSON.stringify(corrected.body));
      assert.deepEqual(corrected.body, { agent: 'box-1', boot: 'boot-7', offsetMs: HOURS_3, moved: 3, refused: 0 });
      const series = await call(hub, `/api/v1/readings?sensor=ble:hr-1&metric=heart_rate&from=${trueTime}&to=${trueTime + 10_000}`);
      assert.deepEqual((series.body as { readings: unknown[] }).readings, [
        { ts: trueTime, value: 120 },
        { ts: trueTime + 1_000, value: 121 },
        { ts: trueTime + 2_000, value: 123 },
      ]);
      assert.deepEqual((await call(hub, '/api/v1/agents/box-1/unsynced')).body, []);
      assert.equal(((await call(hub, '/api/v1/agents/box-1')).body as { unsyncedReadings: number }).unsyncedReadings, 0);
    } finally {
      await hub.stop();
    }
  });
});
