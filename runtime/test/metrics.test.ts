import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { registerScraped } from '../src/metrics.ts';

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

  it('refuses labelled values from a metric declared without a label', async () => {
    const registry = new Registry();
    registerScraped(registry, [{ name: 'pb_test_bad', help: 'Bad', kind: 'gauge', read: () => ({ a: 1 }) }]);
    await assert.rejects(registry.metrics(), /needs a label name/);
  });
});
