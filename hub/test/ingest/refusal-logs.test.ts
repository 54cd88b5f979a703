import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { BAD, GOOD, setupIngest } from './ingest-harness.ts';

const GARBAGE = Buffer.from([0xc1]);

test('an agent sending garbage costs one log line per reason, then one summary line with the count, without stack traces', async () => {
  const s = setupIngest({ rejectLogIntervalMs: 200 });
  for (let i = 0; i < 30; i++) {
    s.transport.deliver(BAD, 'readings', GARBAGE);
    s.transport.deliver(BAD, 'status', GARBAGE);
  }
  s.transport.deliver(GOOD, 'readings', GARBAGE);
  await s.metricReaches('pb_hub_ingest_batches_total', { result: 'rejected' }, 31);

  const refused = (agent: string) => s.logLines().filter((l) => l.agent === agent && l.msg === 'readings batch rejected');
  assert.equal(refused(BAD).length, 1, 'the first refusal is logged at once, the next 29 only counted');
  assert.equal(refused(GOOD).length, 1, 'another agent is not hidden behind the noisy one');
  assert.equal(s.logLines().filter((l) => l.msg === 'agent message refused').length, 1);

  const summary = 'readings batch rejected (repeated 29 times in the last 0.2 s)';
  await until('the summary line of the repeated refusals', () => s.logLines().some((l) => l.msg === summary), 3_000);
  const line = s.logLines().find((l) => l.msg === summary)!;
  assert.equal(line.agent, BAD);
  assert.equal(line.reason, 'malformed');
  assert.equal(line.repeated, 29);
  await until('the summary of the refused status messages', () => s.logLines().some((l) => l.msg === 'agent message refused (repeated 29 times in the last 0.2 s)'), 3_000);
  assert.equal(s.logLines().filter((l) => String(l.msg).startsWith('readings batch rejected') && l.agent === GOOD).length, 1, 'no summary for a refusal that did not repeat');

  for (const l of s.logLines()) assert.equal(JSON.stringify(l).includes('    at '), false, `no stack trace in: ${l.msg as string}`);
  await s.close();
});

test('stopping ingest writes the repeat counts of the interval not yet over', async () => {
  const s = setupIngest({ rejectLogIntervalMs: 3_600_000 });
  for (let i = 0; i < 5; i++) s.transport.deliver(BAD, 'readings', GARBAGE);
  await s.metricReaches('pb_hub_ingest_batches_total', { result: 'rejected' }, 5);
  await s.close();
  assert.ok(s.logLines().some((l) => /^readings batch rejected \(repeated 4 times in the last [\d.]+ s\)$/.test(String(l.msg))));
});
