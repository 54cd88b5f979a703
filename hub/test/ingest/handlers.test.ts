/** Status, inventory and events: one handler per kind of agent message (hub/src/ingest/handlers/). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeJsonMessage, type StatusMessage } from '@pulsebridge/protocol';
import { GOOD, HUB_TIME, setupIngest, waitFor, type IngestSetup } from './ingest-harness.ts';

/** pb_hub_ingest_messages_total as `kind:result` → count, the samples at zero left out. */
async function messageCounts(s: IngestSetup): Promise<Record<string, number>> {
  const { values } = await s.metrics.getSingleMetric('pb_hub_ingest_messages_total')!.get();
  return Object.fromEntries(values.filter((v) => v.value > 0).map((v) => [`${String(v.labels['kind'])}:${String(v.labels['result'])}`, v.value]));
}

describe('Message handlers: status, inventory, events', () => {
  const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

  test('an online status with mono is recorded and answered with a time command echoing it', async () => {
    const s = setupIngest();
    const status: StatusMessage = { state: 'online', version: '1.2.3', mono: 123_456.789 };
    s.transport.deliver(GOOD, 'status', encodeJsonMessage('status', status));
    await waitFor('the recorded status', () => s.registry.statuses.length === 1);
    assert.deepEqual(s.transport.commands(GOOD), [{ type: 'time', hubTime: HUB_TIME, echo: 123_456.789 }]);
    assert.deepEqual(s.registry.statuses[0], { id: GOOD, status, at: HUB_TIME });
    assert.deepEqual(s.registry.touches, [{ id: GOOD, at: HUB_TIME }]);
    await s.close();
  });

  test('an offline status or one without mono gets no time command', async () => {
    const s = setupIngest();
    s.transport.deliver(GOOD, 'status', json({ state: 'offline' }));
    s.transport.deliver(GOOD, 'status', json({ state: 'online' }));
    s.transport.deliver(GOOD, 'status', json({ state: 'offline', mono: 5 }));
    await waitFor('the recorded statuses', () => s.registry.statuses.length === 3);
    assert.deepEqual(s.transport.commands(), []);
    await s.close();
  });

  test('invalid status, inventory and events are counted by reason and change nothing', async () => {
    const s = setupIngest();
    s.transport.deliver(GOOD, 'status', Buffer.from('{not json'));
    s.transport.deliver(GOOD, 'status', json({ state: 'sleeping', mono: 1 }));
    s.transport.deliver(GOOD, 'inventory', json({ sensors: 'none' }));
    s.transport.deliver(GOOD, 'events', json({ type: 'x' }));
    s.transport.deliver(GOOD, 'status', Buffer.alloc(300 * 1024, 0x20));
    s.transport.deliver(GOOD, 'ack', json({}));
    // stop() waits for every message in hand.
    await s.ingest.stop();
    assert.deepEqual(await messageCounts(s), {
      'status:malformed': 1,
      'status:invalid': 1,
      'status:too_large': 1,
      'inventory:invalid': 1,
      'events:invalid': 1,
      'ack:unexpected_kind': 1,
    });
    assert.deepEqual(s.registry.statuses, []);
    assert.deepEqual(s.registry.inventories, []);
    assert.deepEqual(s.transport.commands(), []);
    assert.equal(s.registry.touches.length, 6, 'every message counts as a sign of life');
    await s.close();
  });

  test('inventory is recorded and events are logged and counted', async () => {
    const s = setupIngest();
    const sensors = [{ id: 'ble:hr-1', kind: 'heart_rate', source: 'ble', metrics: ['heart_rate'] }];
    s.transport.deliver(GOOD, 'inventory', json({ sensors }));
    s.transport.deliver(GOOD, 'events', json({ at: 1, type: 'source_failed', detail: 'ble: adapter gone' }));
    await waitFor('the inventory', () => s.registry.inventories.length === 1);
    assert.deepEqual(s.registry.inventories[0], { id: GOOD, sensors });
    assert.equal(await s.metric('pb_hub_ingest_messages_total', { kind: 'events', result: 'ok' }), 1);
    const line = s.logLines().find((l) => l.msg === 'agent event');
    assert.deepEqual(line?.event, { at: 1, type: 'source_failed', detail: 'ble: adapter gone' });
    assert.equal(line?.agent, GOOD);
    await s.close();
  });

  test('a status whose signal is out of bounds is refused as invalid without crashing; the next good one is recorded with its signal', async () => {
    const s = setupIngest();
    const at = HUB_TIME - 500;
    s.transport.deliver(GOOD, 'status', json({ state: 'online', signal: [{ id: 'ble:hr-1', rssi: -300, at }] }));
    s.transport.deliver(GOOD, 'status', json({ state: 'online', signal: [{ id: 'ble:hr-1', rssi: -60.5, at }] }));
    s.transport.deliver(GOOD, 'status', json({ state: 'online', signal: [{ id: 'ble:hr-1', rssi: -60, at: 1e16 }] }));
    s.transport.deliver(GOOD, 'status', json({ state: 'online', signal: Array.from({ length: 513 }, (_, i) => ({ id: `ble:s-${i}`, rssi: -60, at })) }));
    s.transport.deliver(GOOD, 'status', json({ state: 'online', signal: [{ id: 'ble:hr-1', rssi: -60, at }] }));
    await waitFor('the good status', () => s.registry.statuses.length === 1);
    await s.ingest.stop();
    assert.deepEqual(await messageCounts(s), { 'status:invalid': 4, 'status:ok': 1 });
    assert.deepEqual(s.registry.statuses[0]?.status.signal, [{ id: 'ble:hr-1', rssi: -60, at }]);
    await s.close();
  });

  test('a registry failing on status still lets the time command through', async () => {
    const s = setupIngest();
    s.registry.recordStatus = async () => {
      throw new Error('registry down');
    };
    s.transport.deliver(GOOD, 'status', json({ state: 'online', mono: 7 }));
    await waitFor('the time command', () => s.transport.commands().length === 1);
    await waitFor('the registry failure to be logged', () => s.logLines().some((l) => l.msg === 'registry could not record the agent status'));
    await s.close();
  });
});
