/**
 * Traces and logs across both processes: a real hub and a real agent export their spans over OTLP/HTTP to a
 * receiver in this test, which decodes the OTLP JSON they send. One batch makes one connected trace from the
 * agent's send through the hub's ingest, store write and ack; an API request makes a server span; log lines
 * carry the request id and the trace id of what they were written for.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { Topics, encodeBatch } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import { AgentRunner, HubRunner, hubWithAgent, showLogsOnFailure, tempDir } from './harness.ts';
import { CLIENT, CONSUMER, OtlpReceiver, PRODUCER, SERVER, type ReceivedSpan } from './otlp-receiver.ts';

const work = tempDir('tracing');
after(() => work.cleanup());

// The children inherit it: spans are exported a tenth of a second after they end instead of five seconds.
process.env['OTEL_BSP_SCHEDULE_DELAY'] = '100';

const receiver = new OtlpReceiver();

const traced = (): Record<string, unknown> => ({ telemetry: { traces: { exporter: 'otlp', endpoint: receiver.url } } });

function jsonLines(log: string): Record<string, unknown>[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

let hub: HubRunner;
let agent: AgentRunner;

before(async () => {
  await receiver.start();
  ({ hub, agent } = await hubWithAgent(
    { dir: tempDir('tracing-hub').dir, config: { ...traced(), log: { level: 'debug', pretty: false } } },
    { dir: work.dir, id: 'box-traced', simulator: { athletes: 1, sensorRateHz: 1, maxReadings: 3, seed: 3 }, config: { ...traced(), log: { level: 'debug', pretty: false } } },
    'gym-traced',
  ));
});
after(async () => {
  await agent?.stop();
  await hub?.stop();
  await receiver.stop();
});

test('a batch makes one trace across both processes: the agent sends, the hub ingests, writes and acks under it', { timeout: 120_000 }, async () => {
  await showLogsOnFailure([hub, agent], async () => {
    await agent.start();
    await agent.settled('simulator', 60_000);
    const sends = (): ReceivedSpan[] => receiver.spans.filter((s) => s.service === 'pulsebridge-agent' && s.name === 'readings send');
    const inTrace = (traceId: string, name: string): ReceivedSpan[] => receiver.spans.filter((s) => s.traceId === traceId && s.name === name);
    // The agent ends its span at the ack and the hub its ack span when the broker took the ack: both exported soon after.
    await until(
      'the spans of an acknowledged batch from both processes',
      () => sends().some((send) => send.attributes['pulsebridge.ack.result'] === 'stored' && inTrace(send.traceId, 'readings ack').length > 0),
      30_000,
      100,
    );
    assert.ok(
      [...receiver.contentTypes].every((type) => type.startsWith('application/json')),
      [...receiver.contentTypes].join(),
    );

    const send = sends().find((s) => s.attributes['pulsebridge.ack.result'] === 'stored')!;
    assert.equal(send.kind, PRODUCER);
    assert.equal(send.parentSpanId, '', 'the send starts the trace');
    assert.equal(send.attributes['pulsebridge.agent'], 'box-traced');
    assert.equal(send.attributes['messaging.system'], 'mqtt');

    const [ingest, ...otherIngests] = inTrace(send.traceId, 'readings ingest');
    assert.ok(ingest, 'the hub continued the trace carried in the batch');
    assert.equal(otherIngests.length, 0);
    assert.equal(ingest.service, 'pulsebridge-hub');
    assert.equal(ingest.kind, CONSUMER);
    assert.equal(ingest.parentSpanId, send.spanId, "the hub's ingest is a child of the agent's send");
    assert.equal(ingest.attributes['pulsebridge.first'], send.attributes['pulsebridge.first']);
    assert.equal(ingest.attributes['pulsebridge.last'], send.attributes['pulsebridge.last']);
    assert.equal(ingest.attributes['pulsebridge.outcome'], 'stored');

    const ack = inTrace(send.traceId, 'readings ack');
    assert.equal(ack.length, 1);
    assert.equal(ack[0]!.parentSpanId, ingest.spanId);
    assert.equal(ack[0]!.kind, PRODUCER);
    assert.equal(ack[0]!.attributes['pulsebridge.ack.result'], 'stored');

    // The write of a group hangs under its first batch and links the others: this batch's write is one of the two.
    const writes = receiver.spans.filter((s) => s.name === 'series write');
    const write = writes.find((w) => w.parentSpanId === ingest.spanId || w.links.some((l) => l.spanId === ingest.spanId));
    assert.ok(write, 'a series write span holds the batch');
    assert.equal(write.kind, CLIENT);
    assert.equal(write.attributes['db.system.name'], 'sqlite');
    if (write.parentSpanId === ingest.spanId) assert.equal(write.traceId, send.traceId);

    // Every batch the agent sent continued on the hub: no trace was cut at the broker.
    for (const other of sends().filter((s) => s.attributes['pulsebridge.ack.result'] === 'stored')) {
      assert.equal(inTrace(other.traceId, 'readings ingest')[0]?.parentSpanId, other.spanId);
    }
  });
});

test("the agent's log line of a batch sent carries that batch's trace id", async () => {
  const sent = jsonLines(agent.log()).filter((line) => line['msg'] === 'batch sent');
  assert.ok(sent.length > 0);
  const sendSpans = receiver.spans.filter((s) => s.name === 'readings send');
  for (const line of sent) {
    const span = sendSpans.find((s) => s.attributes['pulsebridge.first'] === line['first'] && s.traceId === line['traceId']);
    assert.ok(span, `a send span with the trace id of ${JSON.stringify(line)}`);
    assert.equal(line['spanId'], span.spanId);
  }
});

test('an API request makes a server span named by its route template, and its log lines carry its request id and trace id', { timeout: 60_000 }, async () => {
  await showLogsOnFailure([hub], async () => {
    const requestId = 'trace-test-request-1';
    const callerTrace = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`${hub.httpUrl}/api/v1/agents/box-traced`, {
      headers: { authorization: `Bearer ${await hub.token()}`, 'x-request-id': requestId, traceparent: `00-${callerTrace}-b7ad6b7169203331-01` },
    });
    assert.equal(res.status, 200);
    await until('the server span of the request', () => receiver.spans.some((s) => s.attributes['pulsebridge.request_id'] === requestId), 20_000, 100);
    const span = receiver.spans.find((s) => s.attributes['pulsebridge.request_id'] === requestId)!;
    assert.equal(span.service, 'pulsebridge-hub');
    assert.equal(span.kind, SERVER);
    assert.equal(span.traceId, callerTrace, "the caller's trace is continued");
    assert.equal(span.parentSpanId, 'b7ad6b7169203331');
    assert.equal(span.attributes['http.request.method'], 'GET');
    assert.equal(span.attributes['http.response.status_code'], 200);
    assert.match(String(span.attributes['http.route']), /^\/api\/v1\/agents\/:[a-z]+$/);
    assert.equal(span.name, `GET ${span.attributes['http.route']}`);
    assert.ok(!JSON.stringify(span).includes('/agents/box-traced'), 'the raw path, with its id, stays out of the span');

    const lines = jsonLines(hub.log()).filter((line) => line['reqId'] === requestId);
    assert.ok(lines.length > 0, 'the request logged at least its access line');
    for (const line of lines) {
      assert.equal(line['traceId'], span.traceId, JSON.stringify(line));
      assert.equal(line['spanId'], span.spanId);
    }
  });
});

test("a hub log line about a batch carries the trace id the batch brought, and a caller's traceparent is continued", { timeout: 60_000 }, async () => {
  await showLogsOnFailure([hub], async () => {
    const secret = await hub.addAgent('box-logged', 'gym-traced');
    const client = await mqtt.connectAsync(hub.mqttUrl, { username: 'box-logged', password: secret, clientId: 'box-logged', protocolVersion: 4, reconnectPeriod: 0 });
    try {
      const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
      // Readings stamped in 2001 are outside the hub's time window: ingest refuses them and says so in its log.
      const batch = encodeBatch({
        agent: 'box-logged',
        stream: 'logged1',
        first: 1,
        last: 2,
        floor: 0,
        clockUnsynced: false,
        series: [{ sensor: 'sim:hr-1', metric: 'heart_rate', ts: [1_000_000_000_000, 1_000_000_001_000], values: [80, 81] }],
        traceparent: `00-${traceId}-1112131415161718-01`,
      });
      await client.publishAsync(new Topics().of('box-logged', 'readings'), batch, { qos: 1 });
      await until(
        'the time-window refusal in the hub log',
        () => jsonLines(hub.log()).some((line) => line['agent'] === 'box-logged' && line['refused'] !== undefined),
        20_000,
        100,
      );
      const line = jsonLines(hub.log()).find((l) => l['agent'] === 'box-logged' && l['refused'] !== undefined)!;
      assert.equal(line['traceId'], traceId);
      await until('the ingest span of the crafted batch', () => receiver.spans.some((s) => s.traceId === traceId && s.name === 'readings ingest'), 20_000, 100);
      const ingest = receiver.spans.find((s) => s.traceId === traceId && s.name === 'readings ingest')!;
      assert.equal(ingest.parentSpanId, '1112131415161718');
      assert.equal(line['spanId'], ingest.spanId);
    } finally {
      await client.endAsync();
    }
  });
});
