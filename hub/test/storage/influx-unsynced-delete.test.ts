/**
 * How InfluxSeriesStore deletes a boot of unsynced readings on each server generation, against a stand-in
 * server (the contract suite covers 1.x for real; no 2.x server runs in the test services): 1.x gets
 * InfluxQL DROP SERIES, 2.x (which has no InfluxQL delete) its delete API with a predicate.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { InfluxSeriesStore } from '../../src/storage/series/influx-series-store.ts';

interface Seen {
  path: string;
  query: URLSearchParams;
  body: string;
}

async function standIn(version: string): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ path: url.pathname, query: url.searchParams, body });
      res.setHeader('X-Influxdb-Version', version);
      if (url.pathname === '/ping' || url.pathname === '/api/v2/delete') {
        res.writeHead(204).end();
        return;
      }
      const statement = new URLSearchParams(body).get('q') ?? '';
      const series = statement.startsWith('SHOW RETENTION POLICIES')
        ? [{ columns: ['name'], values: [['autogen']] }]
        : statement.startsWith('SELECT count')
          ? [{ name: 'unsynced', columns: ['time', 'count'], values: [[0, 7]] }]
          : [];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results: [{ statement_id: 0, series }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function discardOn(version: string): Promise<Seen[]> {
  const server = await standIn(version);
  const store = new InfluxSeriesStore({ url: server.url, token: 't', org: 'gymco', bucket: 'readings', log: pino({ level: 'silent' }) });
  try {
    await store.start();
    assert.equal(await store.discardUnsynced('a1', 'boot-1'), 7);
    return server.seen;
  } finally {
    await store.stop();
    await server.close();
  }
}

test('on InfluxDB 2.x a boot is deleted through /api/v2/delete with a predicate on its agent and boot', async () => {
  const seen = await discardOn('v2.7.4');
  const deletes = seen.filter((s) => s.path === '/api/v2/delete');
  assert.equal(deletes.length, 1);
  assert.equal(deletes[0]!.query.get('org'), 'gymco');
  assert.equal(deletes[0]!.query.get('bucket'), 'readings');
  const body = JSON.parse(deletes[0]!.body) as { start: string; stop: string; predicate: string };
  assert.equal(body.predicate, '_measurement="unsynced" AND agent="a1" AND boot="boot-1"');
  assert.equal(body.start, '1970-01-01T00:00:00Z');
  assert.ok(Date.parse(body.stop) > Date.UTC(2262, 0, 1));
  assert.ok(!seen.some((s) => new URLSearchParams(s.body).get('q')?.startsWith('DROP')), 'no InfluxQL delete');
});

test('on InfluxDB 1.x a boot is deleted with DROP SERIES on its agent and boot', async () => {
  const seen = await discardOn('1.8.10');
  assert.ok(!seen.some((s) => s.path === '/api/v2/delete'));
  const drops = seen.map((s) => new URLSearchParams(s.body).get('q') ?? '').filter((q) => q.startsWith('DROP'));
  assert.deepEqual(drops, [`DROP SERIES FROM "unsynced" WHERE "agent" = 'a1' AND "boot" = 'boot-1'`]);
});

test('on InfluxDB 2.x a range of readings is deleted through /api/v2/delete with its sensor and gym, and an inclusive stop one millisecond before its end', async () => {
  const server = await standIn('v2.7.4');
  const store = new InfluxSeriesStore({ url: server.url, token: 't', org: 'gymco', bucket: 'readings', log: pino({ level: 'silent' }) });
  try {
    await store.start();
    const from = Date.UTC(2025, 0, 1, 8);
    assert.equal(await store.deleteRange({ gym: 'g1', sensor: 'strap-1', from, to: from + 60_000 }), 7, 'counted before the delete, which answers nothing');
    const deletes = server.seen.filter((s) => s.path === '/api/v2/delete');
    assert.equal(deletes.length, 1);
    const body = JSON.parse(deletes[0]!.body) as { start: string; stop: string; predicate: string };
    assert.equal(body.predicate, '_measurement="readings" AND sensor="strap-1" AND gym="g1"');
    assert.deepEqual([body.start, body.stop], ['2025-01-01T08:00:00.000Z', '2025-01-01T08:00:59.999Z']);
    assert.ok(!server.seen.some((s) => new URLSearchParams(s.body).get('q')?.startsWith('DELETE')), 'no InfluxQL delete');
  } finally {
    await store.stop();
    await server.close();
  }
});
