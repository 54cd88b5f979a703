/**
 * Ingest on the InfluxDB store: an ack is published only after InfluxDB answered the write with 2xx, and a
 * write that fails (5xx, no answer) leaves the batch unacknowledged. A local HTTP server stands in for
 * InfluxDB so each write request can be held, failed or answered when the test decides; one test runs the
 * same path against the real InfluxDB 1.x (INFLUX_URL) with the answer delayed by the test proxy.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once, EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { until } from '@pulsebridge/runtime';
import { Dedupe } from '../../src/ingest/dedupe.ts';
import { Ingest } from '../../src/ingest/ingest.ts';
import { MemoryLiveBus } from '../../src/live/live-bus.ts';
import { InfluxSeriesStore } from '../../src/storage/series/influx-series-store.ts';
import { FakeTransport } from './fakes.ts';
import { MemoryAgentRegistry } from '../memory-stores.ts';
import { HUB_TIME } from './ingest-harness.ts';
import { influxql, startInfluxV2Proxy } from '../storage/influx-v2-proxy.ts';
import { missingService } from '../../../test/services.ts';

const log = pino({ level: 'silent' });
const AGENT = 'gym-a-1';
const INFLUX_URL = process.env.INFLUX_URL;
const NO_INFLUX = missingService(INFLUX_URL ? false : 'INFLUX_URL not set (run the tests through scripts/test-services.sh to start InfluxDB)');

interface HeldWrite {
  lines: number;
  answer(status: number, body?: string): void;
  /** The time the answer was sent (performance.now()), once it was. */
  answeredAt?: number;
}

/** Enough of InfluxDB for the store: ping, the two InfluxQL statements it sends, and writes the test answers. */
class StandInInflux extends EventEmitter {
  readonly writes: HeldWrite[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** The next write request that arrives (or the one that already did and was not taken yet). */
  async nextWrite(taken: number): Promise<HeldWrite> {
    await until(`write request ${taken + 1} to reach the stand-in InfluxDB`, () => this.writes.length > taken, 5_000, 2);
    return this.writes[taken]!;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = { 'X-Influxdb-Version': '1.8.10', 'Content-Type': 'application/json' };
    const path = (req.url ?? '').split('?')[0];
    if (path === '/ping') {
      res.writeHead(204, headers).end();
    } else if (path === '/query') {
      const statement = new URLSearchParams(body).get('q') ?? '';
      const series = /^SHOW RETENTION POLICIES/.test(statement) ? [{ columns: ['name', 'duration'], values: [['autogen', '0s']] }] : undefined;
      res.writeHead(200, headers).end(`${JSON.stringify({ results: [{ statement_id: 0, ...(series ? { series } : {}) }] })}\n`);
    } else if (path === '/api/v2/write') {
      const held: HeldWrite = {
        lines: body.split('\n').filter((l) => l !== '').length,
        answer: (status, text = '') => {
          held.answeredAt = performance.now();
          res.writeHead(status, headers).end(text);
        },
      };
      this.writes.push(held);
      this.emit('write', held);
    } else {
      res.writeHead(404, headers).end('{"error":"not found"}');
    }
  }
}

const standIn = new StandInInflux();
after(() => standIn.close());

/** Ingest on an InfluxSeriesStore at `url`; each ack is stamped with performance.now() when published. */
async function startIngest(url: string, bucket: string, timeoutMs = 10_000) {
  const store = new InfluxSeriesStore({ url, org: 'pulsebridge', bucket, timeoutMs, log });
  await store.start();
  const db = new Database(':memory:');
  const transport = new FakeTransport();
  const ackedAt: number[] = [];
  const publish = transport.publish.bind(transport);
  transport.publish = async (agent, kind, payload) => {
    if (kind === 'ack') ackedAt.push(performance.now());
    await publish(agent, kind, payload);
  };
  // A long retry delay: after a failed write the test looks at a quiet queue, and then lets the retry run.
  const ingest = new Ingest({
    transport,
    registry: new MemoryAgentRegistry({ [AGENT]: 'gym-a' }),
    store,
    live: new MemoryLiveBus(),
    dedupe: new Dedupe({ db }),
    log,
    now: () => HUB_TIME,
    retryDelayMs: 300,
    drainTimeoutMs: 0,
  });
  ingest.start();
  return {
    transport,
    ackedAt,
    async close() {
      await ingest.stop();
      await store.stop();
      db.close();
    },
  };
}

test('no ack is published while InfluxDB holds the write; the ack follows its 204', async () => {
  await standIn.start();
  const hub = await startIngest(standIn.url, 'pb/autogen');
  try {
    hub.transport.deliverReadings({ agent: AGENT, first: 0, count: 50 });
    const write = await standIn.nextWrite(0);
    assert.equal(write.lines, 50);
    // Not a synchronisation: a window in which an early ack, if ingest published one, would show.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(hub.transport.acks().length, 0, 'acked before InfluxDB confirmed the write');
    write.answer(204);
    await until('the ack', () => hub.transport.acks().length === 1, 5_000, 2);
    assert.equal(hub.transport.acks()[0]!.result, 'stored');
    assert.ok(hub.ackedAt[0]! >= write.answeredAt!, 'the ack was published before the 204');
  } finally {
    await hub.close();
  }
});

test('a write InfluxDB answers with 503 leaves the batch unacknowledged until a later write of it gets 204', async () => {
  const hub = await startIngest(standIn.url, 'pb/autogen');
  const taken = standIn.writes.length;
  try {
    hub.transport.deliverReadings({ agent: AGENT, first: 100, count: 20 });
    const failed = await standIn.nextWrite(taken);
    failed.answer(503, '{"error":"overloaded"}');
    // The agent resends while the hub waits to retry: the resend is recognised, and still not acked.
    hub.transport.deliverReadings({ agent: AGENT, first: 100, count: 20 });
    const retried = await standIn.nextWrite(taken + 1);
    assert.equal(hub.transport.acks().length, 0, 'a batch whose write failed was acknowledged');
    assert.equal(retried.lines, 20, 'the retry carries the whole batch once');
    retried.answer(204);
    await until('the ack after the retry', () => hub.transport.acks().length === 1, 5_000, 2);
    assert.equal(hub.transport.acks()[0]!.result, 'stored');
    assert.ok(hub.ackedAt[0]! >= retried.answeredAt!);
  } finally {
    await hub.close();
  }
});

test('a write InfluxDB never answers times out and leaves the batch unacknowledged', async () => {
  const hub = await startIngest(standIn.url, 'pb/autogen', 300);
  const taken = standIn.writes.length;
  try {
    hub.transport.deliverReadings({ agent: AGENT, first: 200, count: 10 });
    // The first request is never answered; the store gives up after 300 ms and ingest retries.
    await standIn.nextWrite(taken);
    const retried = await standIn.nextWrite(taken + 1);
    assert.equal(hub.transport.acks().length, 0, 'a batch whose write timed out was acknowledged');
    retried.answer(204);
    await until('the ack after the retry', () => hub.transport.acks().length === 1, 5_000, 2);
  } finally {
    await hub.close();
  }
});

test('against InfluxDB: a write answered 400 ms late is acked after the answer, and the readings are there', { skip: NO_INFLUX }, async () => {
  const proxy = await startInfluxV2Proxy(INFLUX_URL!);
  const db = `pb_ack_${process.pid}_${randomBytes(4).toString('hex')}`;
  await influxql(INFLUX_URL!, `CREATE DATABASE "${db}"`);
  const hub = await startIngest(proxy.url, `${db}/autogen`);
  try {
    proxy.faultFor = () => ({ delayMs: 400 });
    const sentAt = Date.now();
    hub.transport.deliverReadings({ agent: AGENT, first: 0, count: 30 });
    await until('the ack', () => hub.transport.acks().length === 1, 10_000, 5);
    const ackedAt = Date.now();
    const write = proxy.requests.find((r) => r.path === '/api/v2/write');
    assert.ok(write?.answeredAt !== undefined && write.answeredAt <= ackedAt, 'acked before InfluxDB answered');
    assert.ok(ackedAt - sentAt >= 400, `acked ${ackedAt - sentAt} ms after sending, before the 400 ms answer`);
    const answer = (await influxql(INFLUX_URL!, `SELECT count("value") FROM "${db}"."autogen"."readings"`)) as { results: { series?: { values: unknown[][] }[] }[] };
    assert.equal(answer.results[0]?.series?.[0]?.values[0]?.[1], 30);
  } finally {
    await hub.close();
    await proxy.close();
    await influxql(INFLUX_URL!, `DROP DATABASE "${db}"`);
  }
});
