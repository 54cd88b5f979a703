/**
 * Malformed, oversized, wrong-version and unauthorized publishes are refused and counted, while a
 * well-behaved agent on the same hub loses nothing.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import mqtt from 'mqtt';
import { Packr } from 'msgpackr';
import { Topics, encodeBatch } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import { AgentRunner, HubRunner, metricValue, showLogsOnFailure, tempDir } from './harness.ts';

const work = tempDir('bad-publishers');
after(() => work.cleanup());

const topics = new Topics();
const packr = new Packr({ useRecords: false });

/** Publishes and waits for the PUBACK, or for the broker to close the connection, which is how it refuses. */
async function publishOrClosed(client: mqtt.MqttClient, topic: string, payload: Buffer): Promise<'acked' | 'closed'> {
  return new Promise((resolve) => {
    client.once('close', () => resolve('closed'));
    client.publish(topic, payload, { qos: 1 }, (err) => resolve(err ? 'closed' : 'acked'));
  });
}

async function connect(url: string, username: string, password: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { username, password, clientId: username, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 });
}

test('bad publishers are refused and counted in the hub metrics; a good agent on the same hub has every reading stored', { timeout: 180_000 }, async () => {
  const hub = new HubRunner({ dir: tempDir('hub-bad').dir });
  const goodSecret = await hub.addAgent('box-good', 'gym-a');
  const rogueSecret = await hub.addAgent('box-rogue', 'gym-b');
  await hub.start();
  const N = 8_000;
  const good = new AgentRunner({ dir: work.dir, id: 'box-good', secret: goodSecret, mqttUrl: hub.mqttUrl, simulator: { athletes: 30, sensorRateHz: 4, maxReadings: N } });
  try {
    await showLogsOnFailure([hub, good], async () => {
      await good.start();

      // Wrong password: refused at CONNECT.
      await assert.rejects(connect(hub.mqttUrl, 'box-rogue', 'not-the-secret'));
      // Unknown agent.
      await assert.rejects(connect(hub.mqttUrl, 'box-nobody', 'whatever'));

      const rogue = await connect(hub.mqttUrl, 'box-rogue', rogueSecret);
      const now = Date.now();
      const valid = {
        agent: 'box-rogue',
        stream: 'rogue1',
        first: 0,
        last: 0,
        floor: 0,
        clockUnsynced: false,
        series: [{ sensor: 's1', metric: 'heart_rate' as const, ts: [now], values: [70] }],
      };
      const own = topics.of('box-rogue', 'readings');
      await rogue.publishAsync(own, Buffer.from('definitely not a batch'), { qos: 1 });
      await rogue.publishAsync(own, packr.pack([9, 'box-rogue', 'rogue1', 1, 1, 0, 0, now, []]), { qos: 1 });
      await rogue.publishAsync(own, packr.pack([1, 'box-rogue', 'rogue1', 2, 10, 0, 0, now, [['s1', [[1, [0], [70]]]]]]), { qos: 1 });
      await rogue.publishAsync(own, encodeBatch({ ...valid, agent: 'box-good', first: 11, last: 11 }), { qos: 1 });
      // Sequence numbers beyond any outbox, 64-bit integers (decoded as BigInt) and nesting deeper than a stack.
      await rogue.publishAsync(own, encodeBatch({ ...valid, first: 2 ** 53, last: 2 ** 53 }), { qos: 1 });
      await rogue.publishAsync(own, packr.pack([2n ** 63n, 'box-rogue', 'rogue1', 3, 3, 0, 0, 2n ** 64n - 1n, []]), { qos: 1 });
      await rogue.publishAsync(own, Buffer.concat([Buffer.alloc(300_000, 0x91), Buffer.from([0x01])]), { qos: 1 });
      const deep = '['.repeat(60_000) + ']'.repeat(60_000);
      await rogue.publishAsync(topics.of('box-rogue', 'status'), Buffer.from(`{"state":"online","x":${deep}}`), { qos: 1 });
      await rogue.publishAsync(topics.of('box-rogue', 'events'), Buffer.from(`{"at":1,"type":${deep}}`), { qos: 1 });
      // Stamped 1970 and year 3000 around one good reading: only the good one is stored.
      await rogue.publishAsync(
        own,
        encodeBatch({ ...valid, first: 20, last: 22, series: [{ sensor: 's1', metric: 'heart_rate', ts: [1_000, now, Date.UTC(3000, 0, 1)], values: [70, 71, 72] }] }),
        { qos: 1 },
      );
      // Into another agent's prefix, and pretending to be the hub: denied by the ACL.
      assert.equal(await publishOrClosed(rogue, topics.of('box-good', 'readings'), encodeBatch({ ...valid, agent: 'box-good', first: 12, last: 12 })), 'closed');
      rogue.end(true);
      const rogue2 = await connect(hub.mqttUrl, 'box-rogue', rogueSecret);
      assert.equal(await publishOrClosed(rogue2, topics.of('box-good', 'ack'), Buffer.from('{}')), 'closed');
      rogue2.end(true);
      // Larger than the broker's packet limit (1 MiB): the connection is closed, nothing is delivered.
      const rogue3 = await connect(hub.mqttUrl, 'box-rogue', rogueSecret);
      rogue3.on('error', () => undefined);
      rogue3.publish(own, Buffer.alloc(2 * 1024 * 1024, 7), { qos: 0 });
      await until('the broker to close the oversized publisher', () => !rogue3.connected, 10_000);
      rogue3.end(true);

      let text = '';
      const refusals = ['malformed', 'unsupported_version', 'count_mismatch', 'agent_mismatch', 'invalid'];
      await until(
        'the hub to count every refusal',
        async () => {
          text = await hub.metrics();
          return (
            refusals.every((reason) => metricValue(text, 'pb_hub_ingest_rejected_total', { reason }) >= 1) &&
            metricValue(text, 'pb_hub_ingest_readings_refused_total', { reason: 'too_far_ahead' }) >= 1 &&
            metricValue(text, 'pb_hub_ingest_messages_total', { kind: 'events', result: 'invalid' }) >= 1
          );
        },
        30_000,
        200,
      );
      assert.equal(metricValue(text, 'pb_hub_ingest_readings_refused_total', { reason: 'too_old' }), 1, 'the 1970 reading');
      assert.equal(metricValue(text, 'pb_hub_ingest_rejected_total', { reason: 'decode_failure' }), 0, 'every payload was refused for a reason, none failed the decoder');
      assert.ok(metricValue(text, 'pb_hub_ingest_messages_total', { kind: 'status', result: 'ok' }) >= 1, 'the deep status was taken without its unknown property');
      assert.ok(metricValue(text, 'pb_hub_broker_auth_failures_total') >= 2, 'auth failures counted');
      assert.ok(metricValue(text, 'pb_hub_broker_denied_total') >= 2, 'ACL denials counted');
      assert.ok(metricValue(text, 'pb_hub_broker_rejected_packets_total') >= 1, 'oversized packet counted');

      await good.settled('simulator', 90_000);
      assert.equal(await good.appended(), N);
      await good.stop();
      assert.equal(await hub.storedCount('box-good'), N);
      assert.equal(await hub.storedCount('box-rogue'), 1, 'only the reading stamped now');
    });
  } finally {
    await good.stop();
    await hub.stop();
  }
});
