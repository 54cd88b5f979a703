import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { LabelledCounts, registerScraped } from '../src/metrics.ts';

describe('registerScraped', () => {
  it('reads counters and gauges from state at every scrape', async () => {
    const state = { sent: 1, acked: 0, depth: 5 };
    const registry = new Registry();
    registerScraped(registry, [
      { name: 'pb_test_batches_total', help: 'Batches by outcome', kind: 'counter', label: 'outcome', read: () => ({ sent: state.sent, acked: state.acked }) },
      { name: 'pb_test_depth', help: 'Depth', kind: 'gauge', read: () => state.depth },
    ]);
    let text = await registry.metrics();
    assert.match(text, /# TYPE pb_test_batches_total counter/);
    assert.match(text, /pb_test_batches_total\{outcome="sent"\} 1/);
    assert.match(text, /pb_test_depth 5/);
    state.sent = 4;
    state.acked = 3;
    state.depth = 2;
    text = await registry.metrics();
    assert.match(text, /pb_test_batches_total\{outcome="sent"\} 4/);
    assert.match(text, /pb_test_batches_total\{outcome="acked"\} 3/);
    assert.match(text, /pb_test_depth 2/);
  });

  it('reads samples under several labels from LabelledCounts', async () => {
    const counts = new LabelledCounts(['kind', 'result']);
    const registry = new Registry();
    registerScraped(registry, [{ name: 'pb_test_messages_total', help: 'Messages', kind: 'counter', label: ['kind', 'result'], read: () => counts.samples() }]);
    counts.inc({ kind: 'status', result: 'ok' });
    counts.inc({ kind: 'status', result: 'ok' });
    counts.inc({ kind: 'events', result: 'invalid' }, 3);
    assert.equal(counts.get({ kind: 'status', result: 'ok' }), 2);
    assert.equal(counts.get({ kind: 'status', result: 'invalid' }), 0);
    const text = await registry.metrics();
    assert.match(text, /pb_test_messages_total\{kind="status",result="ok"\} 2/);
    assert.match(text, /pb_test_messages_total\{kind="events",result="invalid"\} 3/);
  });

  it('refuses labelled values from a metric declared without a label', async () => {
    const registry = new Registry();
    registerScraped(registry, [{ name: 'pb_test_bad', help: 'Bad', kind: 'gauge', read: () => ({ a: 1 }) }]);
    await assert.rejects(registry.metrics(), /needs a label name/);
  });
});
