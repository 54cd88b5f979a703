import assert from 'node:assert/strict';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { HealthServer, HealthServerError, type HealthServerOptions, type OutboxHealthStats } from '../../src/health/health-server.ts';
import type { SourceHealth } from '../../src/sources/source.ts';

const log = pino({ level: 'silent' });

interface World {
  sources: Record<string, SourceHealth>;
  outbox: OutboxHealthStats & { dropped: { overflow: number; expired: number; rejected: number; invalid: number } };
  uplink: { state: string; batchesSent: number };
  outboxFails: boolean;
}

function world(): World {
  return {
    sources: { simulator: { state: 'running', sensors: 40, readings: 1_000, rejected: 2 } },
    outbox: {
      readings: 250,
      bytes: 4_096,
      oldestAgeMs: 1_500,
      buffered: 12,
      storage: 'ok',
      storageProblem: null,
      limits: { maxBytes: 1_000_000, maxAgeMs: 86_400_000, maxBuffered: 20_000 },
      dropped: { overflow: 0, expired: 0, rejected: 0, invalid: 0 },
    },
    uplink: { state: 'connected', batchesSent: 12 },
    outboxFails: false,
  };
}

async function serve(t: TestContext, w: World, over: Partial<HealthServerOptions> = {}): Promise<{ server: HealthServer; base: string; metrics: Registry }> {
  const metrics = new Registry();
  const server = new HealthServer({
    host: '127.0.0.1',
    port: 0,
    degradedOutboxAgeMs: 60_000,
    degradedOutboxShare: 0.8,
    degradedDropWindowMs: 300_000,
    agent: 'gym-1',
    version: '1.2.3',
    log,
    metrics,
    sources: () => w.sources,
    outbox: () => {
      if (w.outboxFails) throw new Error('database is locked');
      return w.outbox;
    },
    uplink: () => w.uplink,
    sampleIntervalMs: 50,
    rateWindowSamples: 4,
    ...over,
  });
  await server.start();
  t.after(() => server.stop());
  return { server, base: `http://127.0.0.1:${server.address()!.port}`, metrics };
}

test('GET /healthz reports every part of the agent', async (t) => {
  const w = world();
  const { base } = await serve(t, w);
  const res = await fetch(`${base}/healthz`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.status, 'ok');
  assert.deepEqual(body.reasons, []);
  assert.equal(body.agent, 'gym-1');
  assert.equal(body.version, '1.2.3');
  assert.equal(typeof body.uptimeS, 'number');
  assert.deepEqual(body.sources, { simulator: { state: 'running', detail: null, sensors: 40, readings: 1_000, rejected: 2 } });
  assert.deepEqual(body.outbox, { ...w.outbox, depth: 250 });
  assert.deepEqual(body.uplink, { state: 'connected', batchesSent: 12 });
  assert.equal(body.readingsPerSecond, 0);
});

test("the readings rate is the slope of the sources' total over the last samples, never negative", async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
  const w = world();
  // The sampler runs every 50 ms over a window of 4 samples (see serve), on the mocked clock.
  const { server } = await serve(t, w, { mono: () => Date.now() });
  const simulator = w.sources.simulator!;
  const sampleAfter = (readings: number): void => {
    simulator.readings += readings;
    t.mock.timers.tick(50);
  };
  for (let i = 0; i < 4; i++) sampleAfter(25);
  assert.equal(server.report().readingsPerSecond, 500, '25 readings every 50 ms');
  sampleAfter(0);
  sampleAfter(0);
  assert.equal(server.report().readingsPerSecond, 250, 'half the window is quiet');
  sampleAfter(0);
  sampleAfter(0);
  assert.equal(server.report().readingsPerSecond, 0, 'the whole window is quiet');
  sampleAfter(7);
  assert.equal(server.report().readingsPerSecond, 35, 'a partial window: 7 readings over 200 ms');
  simulator.readings = 0;
  sampleAfter(0);
  assert.equal(server.report().readingsPerSecond, 0, 'a source that restarts its count does not give a negative rate');
});

test('degraded, with reasons, when a part is not well', async (t) => {
  const w = world();
  w.sources.ble = { state: 'unavailable', detail: 'no Bluetooth adapter', sensors: 0, readings: 0, rejected: 0 };
  w.uplink.state = 'disconnected';
  w.outbox.oldestAgeMs = 600_000;
  const { base } = await serve(t, w);
  const res = await fetch(`${base}/healthz`);
  assert.equal(res.status, 200, 'degraded answers 200: the body says what is wrong');
  const body = (await res.json()) as { status: string; reasons: string[]; sources: Record<string, { detail: string | null }> };
  assert.equal(body.status, 'degraded');
  assert.deepEqual(body.reasons, ['source ble is unavailable: no Bluetooth adapter', 'oldest unsent reading is 600 s old', 'uplink is disconnected']);
  assert.equal(body.sources.ble!.detail, 'no Bluetooth adapter');
});

test('an outbox that cannot open or write its file makes the agent degraded, with why; healthy again once it writes', async (t) => {
  const w = world();
  const { server, base } = await serve(t, w);
  w.outbox.storage = 'unopened';
  w.outbox.storageProblem = 'open: cannot open the outbox database /var/lib/pulsebridge/outbox.db: database or disk is full';
  w.outbox.buffered = 300;
  const res = await fetch(`${base}/healthz`);
  assert.equal(res.status, 200, 'degraded is still alive: a restart would not free the disk');
  const body = (await res.json()) as { status: string; reasons: string[] };
  assert.equal(body.status, 'degraded');
  assert.deepEqual(body.reasons, [
    'outbox cannot open its file: open: cannot open the outbox database /var/lib/pulsebridge/outbox.db: database or disk is full; 300 readings wait in memory (at most 20000)',
  ]);
  w.outbox.storage = 'failing';
  w.outbox.storageProblem = 'commit readings: database or disk is full';
  assert.deepEqual(server.report().reasons, ['outbox cannot write: commit readings: database or disk is full; 300 readings wait in memory (at most 20000)']);
  w.outbox.storage = 'ok';
  w.outbox.storageProblem = null;
  w.outbox.buffered = 0;
  const healed = server.report();
  assert.equal(healed.status, 'ok');
  assert.deepEqual(healed.reasons, []);
});

test('an outbox past the configured share of one of its bounds makes the agent degraded, and ok again below it', async (t) => {
  const w = world();
  const { server } = await serve(t, w, { degradedOutboxAgeMs: 10 * 86_400_000 });
  const reasons = (): string[] => server.report().reasons;
  w.outbox.bytes = 800_000;
  assert.deepEqual(reasons(), [], 'exactly at 80 % is not past it');
  w.outbox.bytes = 850_000;
  assert.deepEqual(reasons(), ['outbox holds 85 % of maxBytes: past it the oldest readings are dropped']);
  w.outbox.bytes = 4_096;
  w.outbox.oldestAgeMs = 0.9 * 86_400_000;
  assert.deepEqual(reasons(), ['oldest unsent reading is at 90 % of maxAgeMs: past it readings expire']);
  w.outbox.oldestAgeMs = 1_500;
  w.outbox.buffered = 19_000;
  assert.deepEqual(reasons(), ['readings waiting in memory are at 95 % of their bound: past it the oldest are dropped']);
  w.outbox.buffered = 12;
  assert.equal(server.report().status, 'ok');

  const strict = await serve(t, world(), { degradedOutboxShare: 0.001, degradedOutboxAgeMs: 10 * 86_400_000 });
  assert.deepEqual(strict.server.report().reasons, ['outbox holds 0 % of maxBytes: past it the oldest readings are dropped'], 'the share is configurable');
});

test('readings dropped within the window make the agent degraded, by reason; ok again once the window has passed', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
  const w = world();
  const { server } = await serve(t, w, { mono: () => Date.now(), degradedDropWindowMs: 300_000 });
  assert.equal(server.report().status, 'ok');
  w.outbox.dropped.overflow = 12;
  assert.deepEqual(server.report().reasons, ['12 readings dropped in the last 300 s (overflow 12)']);
  t.mock.timers.tick(200_000);
  // Seen by the sampler only, without a report in between.
  w.outbox.dropped.expired = 3;
  t.mock.timers.tick(50);
  t.mock.timers.tick(100_000);
  assert.deepEqual(server.report().reasons, ['3 readings dropped in the last 300 s (expired 3)'], 'the overflow drops are out of the window');
  t.mock.timers.tick(200_000);
  assert.equal(server.report().status, 'ok', 'nothing dropped for a whole window');
  w.outbox.dropped.rejected = 1;
  assert.deepEqual(server.report().reasons, ['1 readings dropped in the last 300 s (rejected 1)'], 'the hub refusing readings for good is loss too');
});

test('with degradedDropWindowMs 0 drops alone never make the agent degraded', async (t) => {
  const w = world();
  const { server } = await serve(t, w, { degradedDropWindowMs: 0 });
  w.outbox.dropped.overflow = 1_000;
  assert.equal(server.report().status, 'ok');
});

test('per-sensor devices of a source pass through /healthz; sources without them keep their shape', async (t) => {
  const w = world();
  const devices = [
    { id: 'ble:c0-ff-ee-00-00-01', state: 'connected', lastSeen: 1_700_000_000_000, rssi: -61, adapter: 'hci0' },
    { id: 'ble:c0-ff-ee-00-00-02', state: 'backoff', lastSeen: null, rssi: null, adapter: null },
    { id: 'ble:c0-ff-ee-00-00-03', state: 'broadcast', lastSeen: 1_700_000_000_500, rssi: -70, adapter: null },
  ];
  w.sources.ble = { state: 'degraded', detail: 'hci1 is powered off', sensors: 3, readings: 42, rejected: 1, devices };
  const { base } = await serve(t, w);
  const body = (await (await fetch(`${base}/healthz`)).json()) as { sources: Record<string, Record<string, unknown>> };
  assert.deepEqual(body.sources.ble, { state: 'degraded', detail: 'hci1 is powered off', sensors: 3, readings: 42, rejected: 1, devices });
  assert.equal('devices' in body.sources.simulator!, false, 'no devices key for a source that reports none');
});

test('a failing component is reported, not a failing endpoint', async (t) => {
  const w = world();
  w.outboxFails = true;
  const { base } = await serve(t, w);
  const res = await fetch(`${base}/healthz`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { status: string; reasons: string[]; outbox: unknown };
  assert.equal(body.status, 'degraded');
  assert.deepEqual(body.outbox, { error: 'database is locked' });
  assert.deepEqual(body.reasons, ['outbox: database is locked']);
  const metrics = await fetch(`${base}/metrics`);
  assert.equal(metrics.status, 200, 'metrics still served without the outbox');
});

test('GET /metrics serves Prometheus text with process and agent metrics', async (t) => {
  const w = world();
  w.sources.ble = { state: 'unavailable', sensors: 0, readings: 0, rejected: 0 };
  const { base } = await serve(t, w);
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  assert.match(text, /^pb_agent_source_state\{source="simulator",state="running"\} 1$/m);
  assert.match(text, /^pb_agent_source_state\{source="simulator",state="unavailable"\} 0$/m);
  assert.match(text, /^pb_agent_source_state\{source="ble",state="unavailable"\} 1$/m);
  assert.match(text, /^pb_agent_source_sensors\{source="simulator"\} 40$/m);
  assert.match(text, /^pb_agent_source_readings_total\{source="simulator"\} 1000$/m);
  assert.match(text, /^pb_agent_source_rejected_total\{source="simulator"\} 2$/m);
  assert.match(text, /^pb_agent_outbox_readings 250$/m);
  assert.match(text, /^pb_agent_outbox_oldest_age_seconds 1\.5$/m);
  assert.match(text, /^# TYPE pb_agent_readings_per_second gauge$/m);
  // A source that went away leaves no stale series behind.
  delete w.sources.ble;
  const again = await (await fetch(`${base}/metrics`)).text();
  assert.doesNotMatch(again, /source="ble"/);
});

test('an unknown path gets a JSON 404, POST a JSON 405 with Allow, and HEAD an empty 200', async (t) => {
  const { base } = await serve(t, world());
  const missing = await fetch(`${base}/nope?x=1`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: 'not_found', message: 'no such path /nope; try /healthz or /metrics' });
  const post = await fetch(`${base}/healthz`, { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal(((await post.json()) as { error: string }).error, 'method_not_allowed');
  const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('a taken port is a typed error; stop frees the port', async (t) => {
  const w = world();
  const { server } = await serve(t, w);
  const port = server.address()!.port;
  const second = new HealthServer({
    host: '127.0.0.1',
    port,
    degradedOutboxAgeMs: 1,
    degradedOutboxShare: 0.8,
    degradedDropWindowMs: 0,
    agent: 'gym-1',
    version: 'x',
    log,
    metrics: new Registry(),
    sources: () => ({}),
    outbox: () => w.outbox,
    uplink: () => w.uplink,
    defaultMetrics: false,
  });
  await assert.rejects(second.start(), (err: unknown) => err instanceof HealthServerError && err.code === 'listen_failed' && /EADDRINUSE/.test(err.message));
  await server.stop();
  await assert.rejects(
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket.end()));
      socket.on('error', reject);
    }),
    /ECONNREFUSED/,
  );
});
