import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Uplink, UplinkOptions } from '../../src/uplink/uplink.ts';
import { until } from '@pulsebridge/runtime';
import { AGENT, rig, type Rig } from './fixtures.ts';

const unique = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);
const range = (first: number, last: number): number[] => Array.from({ length: last - first + 1 }, (_, i) => first + i);

test('delivers every reading and deletes it once the hub acknowledges it', async (t) => {
  const { hub, outbox, uplink: make } = await rig(t);
  for (let i = 0; i < 50; i++) outbox.addChunk(100, 60_000);
  const uplink = make({ maxBatchReadings: 1_000 });
  uplink.start();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);

  assert.deepEqual(unique(hub.sequences()), range(1, 5_000));
  assert.equal(hub.sequences().length, 5_000, 'nothing sent twice when every ack arrives');
  for (const batch of hub.batches) {
    assert.equal(batch.agent, AGENT);
    assert.equal(batch.stream, 's1');
    assert.ok(batch.last - batch.first + 1 <= 1_000, `batch ${batch.first}..${batch.last} exceeds maxBatchReadings`);
    assert.ok(batch.floor <= batch.first, 'floor never above what is still being sent');
  }
  const firstBatch = hub.batches.find((b) => b.first === 1)!;
  const hr1 = firstBatch.series.find((s) => s.sensor === 'hr-1')!;
  assert.equal(hr1.ts[0], 1_700_000_000_000 + 250);
  assert.equal(hr1.values[0], 101);

  const health = uplink.health();
  assert.equal(health.state, 'connected');
  assert.equal(health.readingsAcked, 5_000);
  assert.equal(health.readingsSent, 5_000);
  assert.equal(health.batchesAcked, health.batchesSent);
  assert.equal(health.inFlight, 0);
  assert.ok(health.bytesPerReading !== null && health.bytesPerReading > 0 && health.bytesPerReading < 8, `bytes per reading ${health.bytesPerReading}`);
  assert.ok(health.lastAckAt !== null);
  assert.equal(outbox.acknowledged, 5_000);
});

test('never has more batches in flight than the window', async (t) => {
  const { hub, outbox, uplink: make } = await rig(t);
  for (let i = 0; i < 30; i++) outbox.addChunk(100, 60_000);
  const uplink = make({ maxBatchReadings: 100, window: 3 });
  hub.ackDelayMs = 40;
  let maxInFlight = 0;
  const sampler = setInterval(() => (maxInFlight = Math.max(maxInFlight, uplink.health().inFlight)), 2);
  t.after(() => clearInterval(sampler));
  uplink.start();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
  assert.equal(maxInFlight, 3);
  assert.equal(hub.batches.length, 30);
});

test('sends a batch again when its acknowledgement is lost', async (t) => {
  const { hub, outbox, uplink: make } = await rig(t);
  outbox.addChunk(100, 60_000);
  hub.policy = (_batch, index) => (index === 0 ? 'no-ack' : 'stored');
  const uplink = make({ ackTimeoutMs: 300 });
  uplink.start();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
  assert.equal(hub.batches.length, 2);
  assert.deepEqual(
    hub.batches.map((b) => [b.first, b.last]),
    [
      [1, 100],
      [1, 100],
    ],
  );
  const health = uplink.health();
  assert.equal(health.ackTimeouts, 1);
  assert.equal(health.batchesResent, 1);
  assert.equal(health.readingsAcked, 100);
});

test('drops and counts a batch the hub rejects, and goes on with the next', async (t) => {
  const { hub, outbox, uplink: make, metrics } = await rig(t);
  outbox.addChunk(100, 60_000);
  outbox.addChunk(100, 60_000);
  hub.policy = (batch) => (batch.first === 1 ? { result: 'rejected', reason: 'unknown sensor' } : 'stored');
  const uplink = make({ maxBatchReadings: 100 });
  uplink.start();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
  assert.deepEqual(outbox.rejections, [{ first: 1, last: 100, reason: 'unknown sensor' }]);
  const health = uplink.health();
  assert.equal(health.batchesRejected, 1);
  assert.equal(health.readingsRejected, 100);
  assert.equal(health.readingsAcked, 100);
  const text = await metrics.metrics();
  assert.match(text, /pb_agent_uplink_readings_total\{outcome="rejected"\} 100/);
  assert.match(text, /pb_agent_uplink_batches_total\{outcome="acked"\} 1/);
});

test('reconnects with backoff after the broker goes away and drains what piled up meanwhile', async (t) => {
  const { broker, hub, outbox, uplink: make } = await rig(t);
  outbox.addChunk(50, 60_000);
  const uplink = make({ ackTimeoutMs: 1_000, reconnectMinMs: 100, reconnectMaxMs: 400 });
  uplink.start();
  await until('the first chunk to be acknowledged', () => outbox.chunks.length === 0, 5_000);

  await broker.stop();
  await until('the uplink to notice', () => uplink.state === 'disconnected', 5_000);
  for (let i = 0; i < 10; i++) outbox.addChunk(50, 30_000);
  uplink.wake();
  await until('a reconnect attempt to be refused while the broker is down', () => /ECONNREFUSED/.test(uplink.health().lastError ?? ''), 3_000);
  assert.notEqual(uplink.state, 'connected');
  assert.equal(uplink.health().inFlight, 0, 'nothing counts as in flight while disconnected');

  const restartedAt = Date.now();
  await broker.start();
  await until('the uplink to reconnect', () => uplink.state === 'connected', 3_000);
  // The backoff ceiling is 400 ms: a reconnect must come within it (plus connection setup).
  assert.ok(Date.now() - restartedAt < 1_500, `reconnected after ${Date.now() - restartedAt} ms`);
  await until('the hub to resubscribe', () => hub.connected, 5_000);
  await until('the backlog to drain', () => outbox.chunks.length === 0, 8_000);
  assert.deepEqual(unique(hub.sequences()), range(1, 550));
  assert.equal(uplink.health().connects, 2);
});

test('fresh readings are sent before a large backlog has drained', async (t) => {
  const { hub, outbox, uplink: make } = await rig(t);
  for (let i = 0; i < 40; i++) outbox.addChunk(1_000, 120_000);
  hub.ackDelayMs = 30;
  const uplink = make({ window: 2, maxBatchReadings: 1_000, liveBatchDelayMs: 100 });
  uplink.start();
  await until('the backlog to start draining', () => hub.batches.length >= 2, 5_000);
  const fresh = outbox.addChunk(10, 0);
  uplink.wake();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 10_000);

  const freshIndex = hub.batches.findIndex((b) => b.first <= fresh.first && b.last >= fresh.last);
  const lastBacklogIndex = hub.batches.findLastIndex((b) => b.last < fresh.first);
  assert.ok(freshIndex >= 0, 'fresh chunk delivered');
  assert.ok(freshIndex < lastBacklogIndex - 20, `fresh batch was #${freshIndex}, backlog finished at #${lastBacklogIndex}`);
  assert.equal(hub.batches[freshIndex]!.first, fresh.first, 'the live batch carries only the fresh run');
  assert.ok(uplink.health().liveBatches >= 1);
});

/** One chunk of `readings` sent and not acknowledged: the hub acknowledges nothing until its policy changes. */
async function sentUnacknowledged(t: TestContext, readings: number, overrides: Partial<UplinkOptions>): Promise<Omit<Rig, 'uplink'> & { uplink: Uplink }> {
  const world = await rig(t);
  world.outbox.addChunk(readings, 60_000);
  world.hub.policy = () => 'no-ack';
  const uplink = world.uplink(overrides);
  uplink.start();
  await until('the batch to reach the hub', () => world.hub.batches.length === 1, 5_000);
  return { ...world, uplink };
}

test('ignores and counts malformed acknowledgements and commands, and acks of another stream', async (t) => {
  const { hub, outbox, uplink } = await sentUnacknowledged(t, 100, { ackTimeoutMs: 500 });

  await hub.send(AGENT, 'ack', 'not json at all');
  await hub.send(AGENT, 'ack', JSON.stringify({ stream: 's1', first: 100, last: 1, result: 'stored' }));
  await hub.send(AGENT, 'ack', JSON.stringify({ stream: 's1', first: 1, last: 100, result: 'maybe' }));
  await hub.send(AGENT, 'ack', Buffer.from([0xff, 0x00, 0x13]));
  await hub.send(AGENT, 'ack', JSON.stringify({ stream: 'another', first: 1, last: 100, result: 'stored' }));
  await hub.send(AGENT, 'cmd', '{"type":"time"');
  await hub.send(AGENT, 'cmd', JSON.stringify({ type: 'reboot' }));
  await hub.send(AGENT, 'cmd', JSON.stringify({ type: 'time', hubTime: -5, echo: 1 }));
  await until('every message to be counted', () => uplink.health().malformedCommands === 3 && uplink.health().foreignAcks === 1, 5_000);

  const health = uplink.health();
  assert.equal(health.malformedAcks, 4);
  assert.equal(outbox.chunks.length, 1, 'an ack of another stream deletes nothing');
  assert.equal(health.state, 'connected');

  hub.policy = () => 'stored';
  await until('the resent batch to be acknowledged', () => outbox.chunks.length === 0, 5_000);
  assert.equal(uplink.health().readingsAcked, 100);
});

test('forgets the batches in flight when the outbox replaces its database', async (t) => {
  const { hub, uplink } = await sentUnacknowledged(t, 10, { ackTimeoutMs: 30_000 });
  uplink.outboxReplaced();
  await until('a send without waiting for the ack timeout', () => hub.batches.length === 2, 2_000);
  assert.equal(uplink.health().inFlight, 1);
  assert.equal(uplink.health().ackTimeouts, 0);
});

test('a time command from the hub reaches the clock with its hub time and echo', async (t) => {
  const { hub, clock, uplink: make } = await rig(t);
  const uplink = make();
  uplink.start();
  await until('connection', () => uplink.state === 'connected', 5_000);
  await hub.send(AGENT, 'cmd', JSON.stringify({ type: 'time', hubTime: 1_800_000_000_000, echo: 1234.5 }));
  await until('the clock to be synced', () => clock.syncs.length === 1, 5_000);
  assert.deepEqual(clock.syncs, [{ hubTime: 1_800_000_000_000, echoMono: 1234.5 }]);
});

test('publishes a retained online status, refreshes it, and leaves offline on a cut or a clean stop', async (t) => {
  const { broker, hub, outbox, uplink: make } = await rig(t);
  for (let i = 0; i < 3; i++) outbox.addChunk(10, 60_000);
  hub.policy = () => 'no-ack';
  const uplink = make({
    statusIntervalMs: 200,
    reconnectMinMs: 1_500,
    reconnectMaxMs: 1_500,
    sources: () => ({ simulator: { state: 'running' }, ble: { state: 'unavailable', detail: 'no Bluetooth adapter' } }),
  });
  uplink.start();
  await until('two status messages', () => hub.statuses.length >= 2, 5_000);
  const status = hub.statuses[0]!.message;
  assert.equal(status.state, 'online');
  assert.equal(status.version, '0.0.0-test');
  assert.equal(typeof status.mono, 'number');
  assert.ok(Math.abs((status.sentAt as number) - Date.now()) < 5_000);
  assert.deepEqual(status.outbox, { readings: 30, bytes: outbox.stats().bytes, oldestAgeMs: (status.outbox as { oldestAgeMs: number }).oldestAgeMs, dropped: 0 });
  assert.ok((status.outbox as { oldestAgeMs: number }).oldestAgeMs >= 60_000);
  assert.deepEqual(status.sources, { simulator: { state: 'running' }, ble: { state: 'unavailable', detail: 'no Bluetooth adapter' } });
  const statusTopic = hub.topics.of(AGENT, 'status');
  assert.equal(JSON.parse((await broker.retained(statusTopic)).toString()).state, 'online');

  // A cut connection: the broker publishes the last will before the agent comes back (1.5 s later).
  assert.ok(broker.dropClient(`pb-agent-${AGENT}`));
  await until('the last will', () => hub.statuses.some((s) => s.message.state === 'offline'), 5_000);
  assert.equal(JSON.parse((await broker.retained(statusTopic)).toString()).state, 'offline');
  await until('the agent to come back online', () => uplink.state === 'connected', 4_000);
  assert.equal(JSON.parse((await broker.retained(statusTopic)).toString()).state, 'online');

  const statusesBefore = hub.statuses.length;
  await uplink.stop();
  assert.equal(uplink.state, 'stopped');
  await until('the offline status of the clean stop', () => hub.statuses.length > statusesBefore, 5_000);
  const last = hub.statuses.at(-1)!.message;
  assert.equal(last.state, 'offline');
  assert.equal(typeof last.sentAt, 'number', 'a clean stop says when, the last will cannot');
  assert.equal(JSON.parse((await broker.retained(statusTopic)).toString()).state, 'offline');
});

test('falls back to MQTT 3.1.1 when the broker refuses MQTT 5', async (t) => {
  const { broker, outbox, uplink: make } = await rig(t);
  outbox.addChunk(10, 60_000);
  const uplink = make({ connection: { url: broker.url, password: 'secret', topicRoot: 'pb', protocolVersion: 5 } });
  uplink.start();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
  const versions = broker.connects.filter((c) => c.username === AGENT).map((c) => c.protocolVersion);
  assert.deepEqual(versions, [5, 4]);
  assert.equal(uplink.health().protocolVersion, 4);
});

test('keeps retrying with bad credentials and says why', async (t) => {
  const { broker, uplink: make } = await rig(t);
  const uplink = make({ connection: { url: broker.url, password: 'wrong', topicRoot: 'pb', protocolVersion: 4 }, reconnectMinMs: 50, reconnectMaxMs: 100 });
  uplink.start();
  await until('three refused attempts', () => broker.connects.filter((c) => c.username === AGENT).length >= 3, 5_000);
  assert.notEqual(uplink.state, 'connected');
  assert.match(uplink.health().lastError ?? '', /username or password|not authorized/i);
});

test('does not send readings while the broker refuses the acknowledgement subscription', async (t) => {
  const { broker, hub, outbox, uplink: make } = await rig(t);
  outbox.addChunk(10, 60_000);
  broker.refuseAgentSubscriptions = true;
  const uplink = make({ reconnectMinMs: 50, reconnectMaxMs: 100 });
  uplink.start();
  await until('repeated attempts', () => broker.connects.filter((c) => c.username === AGENT).length >= 3, 5_000);
  assert.notEqual(uplink.state, 'connected');
  assert.match(uplink.health().lastError ?? '', /subscription refused/);
  assert.equal(hub.batches.length, 0, 'nothing is sent whose acknowledgement could not arrive');
  broker.refuseAgentSubscriptions = false;
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
});

test('publishes the sensor inventory retained, once per burst of changes', async (t) => {
  const { broker, hub, uplink: make } = await rig(t);
  const uplink = make({ inventoryDebounceMs: 100 });
  uplink.setInventory('simulator', [{ id: 'sim:hr:1', kind: 'heart_rate', source: 'simulator', metrics: ['heart_rate'] }]);
  uplink.start();
  await until('the first inventory', () => hub.inventories.length === 1, 5_000);
  assert.deepEqual(hub.inventories[0]!.message, { sensors: [{ id: 'sim:hr:1', kind: 'heart_rate', source: 'simulator', metrics: ['heart_rate'] }] });

  for (let n = 2; n <= 5; n++) {
    uplink.setInventory(
      'simulator',
      Array.from({ length: n }, (_, i) => ({ id: `sim:hr:${i + 1}`, kind: 'heart_rate', source: 'simulator', metrics: ['heart_rate'] })),
    );
  }
  uplink.setInventory('ble', [{ id: 'ble:c0:ff:ee:00:11:22', kind: 'bike', source: 'ble', metrics: ['power', 'cadence'] }]);
  await until('the inventory after the burst', () => hub.inventories.length >= 2, 5_000);
  // Publishes keep their order: once a later event has arrived, any second inventory of the burst would have too.
  uplink.event('marker');
  await until('an event published after the burst', () => hub.events.some((e) => e.message.type === 'marker'), 5_000);
  assert.equal(hub.inventories.length, 2, 'a burst of changes is published once');
  const sensors = (hub.inventories[1]!.message as { sensors: { id: string }[] }).sensors.map((s) => s.id);
  assert.deepEqual(sensors, ['sim:hr:1', 'sim:hr:2', 'sim:hr:3', 'sim:hr:4', 'sim:hr:5', 'ble:c0:ff:ee:00:11:22']);
  const retained = JSON.parse((await broker.retained(hub.topics.of(AGENT, 'inventory'))).toString()) as { sensors: unknown[] };
  assert.equal(retained.sensors.length, 6);
});

test('drops readings that cannot be encoded, says so, and delivers their neighbours', async (t) => {
  const { hub, outbox, uplink: make } = await rig(t);
  outbox.addChunk(10, 60_000);
  const bad = outbox.addChunk(10, 60_000, (i, seq) => ({ sensor: 'hr-x', metric: 'heart_rate', ts: 1_700_000_000_000 + seq, value: i === 5 ? 999 : 80 }));
  outbox.addChunk(10, 60_000);
  const uplink = make();
  uplink.event('agent_started');
  uplink.start();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
  assert.equal(outbox.rejections.length, 1);
  assert.equal(outbox.rejections[0]!.first, bad.first);
  assert.match(outbox.rejections[0]!.reason, /unencodable.*999/);
  assert.deepEqual(unique(hub.sequences()), [...range(1, 10), ...range(21, 30)]);
  assert.equal(uplink.health().unencodable, 10);
  await until('the events', () => hub.events.length === 2, 5_000);
  assert.deepEqual(
    hub.events.map((e) => e.message.type),
    ['agent_started', 'readings_unencodable'],
  );
});

test('fresh chunks that arrive within the live delay travel as one batch', async (t) => {
  const { hub, outbox, uplink: make } = await rig(t);
  const uplink = make({ liveBatchDelayMs: 300 });
  uplink.start();
  await until('connection', () => uplink.state === 'connected', 5_000);
  for (let i = 0; i < 4; i++) outbox.addChunk(65, 0);
  uplink.wake();
  await until('the outbox to drain', () => outbox.chunks.length === 0, 5_000);
  assert.deepEqual(
    hub.batches.map((b) => [b.first, b.last]),
    [[1, 260]],
  );
  assert.equal(uplink.health().liveBatches, 1);
});
