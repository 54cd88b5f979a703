/** Ingest itself: dispatch by kind, agent presence, and stop() draining what is queued. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GOOD, HUB_TIME, ackOf, setupIngest, waitFor } from './ingest-harness.ts';

describe('Ingest', () => {
  test('an agent connecting or disconnecting is recorded as seen, at the injected clock', async () => {
    const s = setupIngest();
    s.transport.connectionChanged(GOOD);
    s.transport.connectionChanged(GOOD);
    assert.deepEqual(s.registry.touches, [
      { id: GOOD, at: HUB_TIME },
      { id: GOOD, at: HUB_TIME },
    ]);
    await s.close();
  });

  test('with the embedded broker an agent is online exactly while a connection is open, whatever its status says', async () => {
    const s = setupIngest();
    const online = (): boolean | undefined => s.registry.agents.get(GOOD)?.online;
    s.transport.deliver(GOOD, 'status', Buffer.from('{"state":"online"}'));
    await waitFor('the status recorded', () => s.registry.statuses.length === 1);
    assert.equal(online(), false, 'a status alone does not make an unconnected agent online');
    s.transport.connectionChanged(GOOD, true);
    assert.equal(online(), true);
    s.transport.deliver(GOOD, 'status', Buffer.from('{"state":"offline"}'));
    await waitFor('the goodbye recorded', () => s.registry.statuses.length === 2);
    assert.equal(online(), true, 'saying goodbye is not yet gone');
    s.transport.connectionChanged(GOOD, false);
    assert.equal(online(), false);
    s.transport.deliver(GOOD, 'status', Buffer.from('{"state":"online"}'));
    await waitFor('a will-like status recorded', () => s.registry.statuses.length === 3);
    assert.equal(online(), false, 'a will saying online cannot make a disconnected agent look online');
    await s.close();
  });

  test('with an external broker an agent is online as its status and last will say', async () => {
    const s = setupIngest({ presenceSource: 'status' });
    const online = (): boolean | undefined => s.registry.agents.get(GOOD)?.online;
    s.transport.deliver(GOOD, 'status', Buffer.from('{"state":"online"}'));
    await waitFor('the status recorded', () => s.registry.statuses.length === 1);
    assert.equal(online(), true);
    s.transport.deliver(GOOD, 'status', Buffer.from('{"state":"offline"}'));
    await waitFor('the will recorded', () => s.registry.statuses.length === 2);
    assert.equal(online(), false);
    s.transport.deliver(GOOD, 'status', Buffer.from('{"state":"sideways"}'));
    assert.equal(online(), false, 'a status that does not decode changes nothing');
    await s.close();
  });

  test('a registry that cannot record presence does not stop the message from being handled', async () => {
    const s = setupIngest();
    s.registry.touch = () => {
      throw new Error('registry down');
    };
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 3 });
    await waitFor('the ack', () => s.transport.acks().length === 1);
    assert.ok(s.logLines().some((l) => l.msg === 'registry could not record that the agent was seen'));
    await s.close();
  });

  test('after stop() no presence is recorded for messages that still arrive', async () => {
    const s = setupIngest();
    await s.ingest.stop();
    s.transport.deliver(GOOD, 'status', Buffer.from('{"state":"online"}'));
    assert.deepEqual(s.registry.touches, []);
    await s.close();
  });

  test('stop() writes and acks what is queued, then ignores new messages', async () => {
    const s = setupIngest({ maxWriteDelayMs: 60_000 });
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await s.metricReaches('pb_hub_ingest_queue_readings', {}, 10);
    await s.ingest.stop();
    assert.deepEqual(s.transport.acks(), [ackOf('s1', 0, 9, 'stored')]);
    s.transport.deliverReadings({ agent: GOOD, first: 10, count: 10 });
    assert.equal(s.transport.acks().length, 1);
    assert.equal(await s.metric('pb_hub_ingest_queue_readings'), 0, 'the message after stop() was not queued');
    assert.equal(s.store.readingsWritten, 10);
    await s.close();
  });

  test('stop() gives up after drainTimeoutMs when the store keeps failing, without acking', async () => {
    const s = setupIngest({ drainTimeoutMs: 100, retryDelayMs: 10 });
    s.store.failWritesWith = new Error('store down');
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 10 });
    await waitFor('a failed write', async () => (await s.metric('pb_hub_ingest_store_failures_total')) >= 1);
    const started = performance.now();
    await s.ingest.stop();
    const took = performance.now() - started;
    assert.ok(took < 1000, `stop took ${took} ms`);
    assert.deepEqual(s.transport.acks(), []);
    assert.ok(s.logLines().some((l) => typeof l.msg === 'string' && l.msg.startsWith('ingest stopped before the store took every queued batch')));
    await s.close();
  });
});
