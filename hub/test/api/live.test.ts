import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Counter, Gauge } from 'prom-client';
import type { LiveReadings } from '../../src/live/live-bus.ts';
import { AUTH, readProblem, sseClients, startApi, TOKEN, withApi, type RunningApi } from './harness.ts';
import { until } from '@pulsebridge/runtime';

interface SseMessage {
  event?: string;
  data?: string;
  comment?: string;
}

/** A minimal EventSource over fetch: collects messages as they arrive. */
async function openStream(api: RunningApi, path: string, headers: Record<string, string> = { ...AUTH }) {
  const controller = new AbortController();
  const response = await fetch(`${api.url}${path}`, { headers, signal: controller.signal });
  const messages: SseMessage[] = [];
  let buffer = '';
  const pump = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) message.comment = line.slice(1).trim();
            else if (line.startsWith('event: ')) message.event = line.slice(7);
            else if (line.startsWith('data: ')) message.data = line.slice(6);
          }
          messages.push(message);
        }
      }
    } catch {
      // Aborted by close(): the end of the stream is what the test wanted.
    }
  })();
  return {
    response,
    messages,
    events: () => messages.filter((m) => m.event === 'readings').map((m) => JSON.parse(m.data ?? 'null') as LiveEventBody),
    close: async () => {
      controller.abort();
      await pump;
    },
  };
}

interface LiveEventBody {
  gym: string;
  agent: string;
  series: { sensor: string; metric: string; unit: string; ts: number[]; values: number[] }[];
}

const HR = 'ble:c0:ff:ee:00:11:22';
const PWR = 'ant:pwr:7:1';

function readingsFrom(agent: string, gym = 'gym-a'): LiveReadings {
  return {
    gym,
    agent,
    series: [
      { sensor: HR, metric: 'heart_rate', ts: [1_000, 2_000], values: [120, 121] },
      { sensor: PWR, metric: 'power', ts: [1_500], values: [250] },
    ],
  };
}

test('SSE delivers published readings with filters applied, through proxies, and unsubscribes on close', async () => {
  await withApi(async (api) => {
    const all = await openStream(api, '/api/v1/live');
    const box1 = await openStream(api, '/api/v1/live?agent=box-1');
    const hrOnly = await openStream(api, `/api/v1/live?sensor=${encodeURIComponent(HR)}&metric=heart_rate`);
    const otherGym = await openStream(api, '/api/v1/live?gym=gym-b');
    assert.equal(all.response.status, 200);
    assert.match(all.response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(all.response.headers.get('cache-control'), 'no-cache, no-transform');
    assert.equal(all.response.headers.get('x-accel-buffering'), 'no');
    assert.ok(all.response.headers.get('x-request-id'));
    assert.equal(await sseClients(api), 4);

    api.live.publish(readingsFrom('box-1'));
    api.live.publish(readingsFrom('box-2'));
    await until('events on every stream', () => all.events().length === 2 && box1.events().length === 1 && hrOnly.events().length === 2, 2_000);

    assert.deepEqual(all.events()[0], {
      gym: 'gym-a',
      agent: 'box-1',
      series: [
        { sensor: HR, metric: 'heart_rate', unit: 'bpm', ts: [1_000, 2_000], values: [120, 121] },
        { sensor: PWR, metric: 'power', unit: 'W', ts: [1_500], values: [250] },
      ],
    });
    assert.deepEqual(
      all.events().map((e) => e.agent),
      ['box-1', 'box-2'],
    );
    assert.deepEqual(
      box1.events().map((e) => e.agent),
      ['box-1'],
    );
    assert.deepEqual(
      hrOnly.events().map((e) => [e.agent, e.series.map((s) => s.sensor)]),
      [
        ['box-1', [HR]],
        ['box-2', [HR]],
      ],
    );
    assert.deepEqual(otherGym.events(), []);
    assert.equal(all.messages[0]?.comment, 'connected', 'the stream opens with a comment so clients see it is live');

    for (const stream of [all, box1, hrOnly, otherGym]) await stream.close();
    await until('every subscription to be removed', async () => (await sseClients(api)) === 0, 2_000);
    const gauge = api.metrics.getSingleMetric('pb_hub_sse_clients') as Gauge;
    assert.equal((await gauge.get()).values[0]?.value, 0);
    const events = api.metrics.getSingleMetric('pb_hub_sse_events_total') as Counter;
    assert.equal((await events.get()).values[0]?.value, 5);
    api.live.publish(readingsFrom('box-1'));
  });
});

test('an idle stream gets heartbeat comments', async () => {
  await withApi({ liveStreams: { heartbeatMs: 30 } }, async (api) => {
    const stream = await openStream(api, `/api/v1/live?access_token=${TOKEN}`, {});
    await until('two heartbeats', () => stream.messages.filter((m) => m.comment === 'heartbeat').length >= 2, 2_000);
    await stream.close();
    await until('the subscription to be removed', async () => (await sseClients(api)) === 0, 2_000);
  });
});

test('a client that does not read is disconnected instead of growing memory; others keep streaming', async () => {
  const maxBufferedBytes = 256 * 1024;
  const api = await startApi({ liveStreams: { maxBufferedBytes } });
  const { port } = new URL(api.url);
  const slow = connect(Number(port), '127.0.0.1');
  try {
    await once(slow, 'connect');
    slow.write(`GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    const [head] = (await once(slow, 'data')) as [Buffer];
    assert.match(head.toString('latin1'), /^HTTP\/1\.1 200/);
    slow.pause();
    const fast = await openStream(api, '/api/v1/live');
    assert.equal(await sseClients(api), 2);

    const n = 5_000;
    const big: LiveReadings = {
      gym: 'gym-a',
      agent: 'box-1',
      series: [{ sensor: HR, metric: 'heart_rate', ts: Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i), values: Array.from({ length: n }, (_, i) => i % 200) }],
    };
    const dropped = api.metrics.getSingleMetric('pb_hub_sse_disconnects_total') as Counter;
    const slowDrops = async (): Promise<number> => (await dropped.get()).values.find((v) => v.labels['reason'] === 'slow')?.value ?? 0;
    let published = 0;
    // Bounded: 400 events of ~90 kB is far beyond what loopback socket buffers absorb.
    while ((await slowDrops()) === 0 && published < 400) {
      api.live.publish(big);
      published++;
      // Let the sockets take what they can between events, as they would between agent batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(await slowDrops(), 1, `the slow client was dropped after ${published} events`);
    await until('the slow client to be unsubscribed', async () => (await sseClients(api)) === 1, 2_000);
    await until('the fast client to receive every event', () => fast.events().length === published, 10_000);
    await fast.close();
    await until('the fast client to be unsubscribed', async () => (await sseClients(api)) === 0, 2_000);
  } finally {
    slow.destroy();
    await api.close();
  }
});

test('live streams beyond the configured maximum get a 503 problem', async () => {
  await withApi({ liveStreams: { maxClients: 1 } }, async (api) => {
    const first = await openStream(api, '/api/v1/live');
    const second = await api.get('/api/v1/live');
    assert.equal(second.status, 503);
    assert.equal(second.headers.get('retry-after'), '30');
    assert.equal((await readProblem(second)).type, '/api/v1/docs#problem-too_many_clients');
    assert.equal(await sseClients(api), 1);
    await first.close();
    await until('the first stream to end', async () => (await sseClients(api)) === 0, 2_000);
    const third = await openStream(api, '/api/v1/live');
    assert.equal(third.response.status, 200, 'a slot frees when a client leaves');
    await third.close();
  });
});

test('one event larger than the buffer bound does not disconnect a client that keeps up', async () => {
  await withApi({ liveStreams: { maxBufferedBytes: 16 * 1024 } }, async (api) => {
    const stream = await openStream(api, '/api/v1/live');
    const n = 20_000;
    const big: LiveReadings = {
      gym: 'gym-a',
      agent: 'box-1',
      series: [{ sensor: HR, metric: 'heart_rate', ts: Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i), values: Array.from({ length: n }, () => 150) }],
    };
    for (let i = 0; i < 3; i++) {
      api.live.publish(big);
      await until(`event ${i + 1}`, () => stream.events().length === i + 1, 5_000);
    }
    assert.equal(stream.events()[2]?.series[0]?.ts.length, n);
    assert.equal(await sseClients(api), 1);
    await stream.close();
  });
});

test('aborting the shutdown signal ends open streams and refuses new ones', async () => {
  const shutdown = new AbortController();
  await withApi({ shutdown: shutdown.signal }, async (api) => {
    const streams = await Promise.all(Array.from({ length: 12 }, () => openStream(api, '/api/v1/live')));
    assert.equal(await sseClients(api), 12);
    shutdown.abort();
    await until('every stream to end', async () => (await sseClients(api)) === 0, 2_000);
    for (const stream of streams) await stream.close();
    const refused = await api.get('/api/v1/live');
    assert.equal(refused.status, 503);
    assert.equal((await readProblem(refused)).type, '/api/v1/docs#problem-unavailable');
    assert.equal(await sseClients(api), 0);
  });
});

test('HEAD on the live stream answers its headers without subscribing', async () => {
  await withApi(async (api) => {
    const response = await fetch(`${api.url}/api/v1/live`, { method: 'HEAD', headers: AUTH, signal: AbortSignal.timeout(2_000) });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(await sseClients(api), 0);
  });
});
