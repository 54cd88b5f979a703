/**
 * What a bad agent can send and what it must not cost the others: sequence numbers beyond any outbox,
 * readings stamped far from the hub's clock, payloads built to make a decoder throw.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeBatch } from '@pulsebridge/protocol';
import { makeBatch } from './fakes.ts';
import { BAD, GOOD, HUB_TIME, ackOf, setupIngest, waitFor } from './ingest-harness.ts';

describe('Sequence numbers', () => {
  test('a batch with sequence 2^53 written in the same group does not make the hub forget the ranges of the others', async () => {
    const s = setupIngest({ maxWriteDelayMs: 50 });
    s.store.hold();
    s.transport.deliverReadings({ agent: GOOD, first: 0, count: 3 });
    const huge = 2 ** 53;
    s.transport.deliver(
      BAD,
      'readings',
      encodeBatch({
        agent: BAD,
        stream: 's1',
        first: huge,
        last: huge,
        floor: 0,
        clockUnsynced: false,
        series: [{ sensor: 'ble:hr-9', metric: 'heart_rate', ts: [HUB_TIME - 1_000], values: [70] }],
      }),
    );
    await waitFor('the grouped write', () => s.store.writeCalls.length >= 1);
    s.store.release();
    await waitFor('the good batch acked', () => s.transport.acks(GOOD).length === 1);
    assert.deepEqual(s.transport.acks(GOOD), [ackOf('s1', 0, 2, 'stored')]);
    s.transport.deliver(GOOD, 'readings', makeBatch({ agent: GOOD, first: 0, count: 3 }));
    await waitFor('the resend answered', () => s.transport.acks(GOOD).length === 2);
    assert.deepEqual(s.transport.acks(GOOD)[1], ackOf('s1', 0, 2, 'duplicate'), 'the resend is known as stored');
    await s.close();
  });
});
