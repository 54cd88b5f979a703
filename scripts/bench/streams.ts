/**
 * The streams endpoint under load: GET /api/v1/sessions/:id/streams of a completed 60-minute session with heart
 * rate, power and cadence at 4 Hz (43 200 readings in a SQLite series store file, SQLite documents), served by
 * createApi in a child process so that the load generator (autocannon, loopback keep-alive connections) does not
 * share its event loop. First the time of the first, uncached read (the streams computed from the readings),
 * then p50/p99 latency and requests/s of cached reads at resolution high (3600 points) and low (100 points).
 *
 *   node --import tsx scripts/bench/streams.ts [--seconds 10] [--connections 10] [--minutes 60]
 *
 * Target: cached reads p99 ≤ 50 ms.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SeriesReadings } from '@pulsebridge/protocol';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createApi } from '../../hub/src/api/app.ts';
import { MemoryCache } from '../../hub/src/cache/cache.ts';
import { DOMAIN_COLLECTIONS } from '../../hub/src/domain/collections.ts';
import type { Domain } from '../../hub/src/domain/domain.ts';
import { GYMS } from '../../hub/src/domain/gyms.ts';
import { BINDINGS } from '../../hub/src/domain/pairing/collections.ts';
import { SESSIONS } from '../../hub/src/domain/sessions/collections.ts';
import { completeSession } from '../../hub/src/domain/sessions/sessions.ts';
import { SqliteDocumentStore } from '../../hub/src/documents/sqlite-document-store.ts';
import { SqliteIdentityStore } from '../../hub/src/identity/sqlite-identity-store.ts';
import { FolderImageStore } from '../../hub/src/images/folder-image-store.ts';
import { MemoryLiveBus } from '../../hub/src/live/live-bus.ts';
import { SqliteSeriesStore } from '../../hub/src/storage/series/sqlite-series-store.ts';
import { FixedTokens, principal } from '../../hub/test/api/principals.ts';
import { RecordingPairingChannel } from '../../hub/test/domain/test-domain.ts';
import { MemoryAgentRegistry, MemorySeriesStore } from '../../hub/test/memory-stores.ts';
import { printFigure, withTempDir } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    minutes: { type: 'string', default: '60' },
    // Internal: run as the serving process on this folder.
    serve: { type: 'string' },
  },
});
const SECONDS = Math.max(1, Number(args.seconds));
const CONNECTIONS = Math.max(1, Number(args.connections));
const MINUTES = Math.min(360, Math.max(1, Number(args.minutes)));
const GYM = 'bench-gym';
const ATHLETE = 'bench-athlete';
const SESSION = 'bench-session';
const HZ = 4;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  throughput: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as (options: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}) => Promise<AutocannonResult>;

// ---- the serving process ----

/** A 4 Hz series over [from, from + minutes), one batch per minute (the size agents send is far smaller). */
function* minutesOf(sensor: string, metric: 'heart_rate' | 'power' | 'cadence', from: number, value: (i: number) => number): Generator<SeriesReadings> {
  for (let minute = 0; minute < MINUTES; minute++) {
    const ts: number[] = [];
    const values: number[] = [];
    for (let i = minute * 60 * HZ; i < (minute + 1) * 60 * HZ; i++) {
      ts.push(from + (i * 1000) / HZ);
      values.push(value(i));
    }
    yield { sensor, metric, ts, values } as SeriesReadings;
  }
}

async function serve(dir: string): Promise<void> {
  const log = pino({ level: 'warn' });
  const documents = new SqliteDocumentStore({ path: join(dir, 'documents.db') });
  await documents.start(DOMAIN_COLLECTIONS);
  const identity = new SqliteIdentityStore({ path: join(dir, 'identity.db') });
  await identity.start();
  const series = new SqliteSeriesStore({ path: join(dir, 'series.db'), log, synchronous: 'NORMAL' });
  await series.start();
  const start = Date.now() - (MINUTES + 5) * 60_000;
  const domain: Domain = {
    documents,
    identity,
    images: new FolderImageStore({ dir: join(dir, 'images') }),
    pairing: new RecordingPairingChannel(),
    agents: new MemoryAgentRegistry(),
    series,
    live: new MemoryLiveBus(),
    cache: new MemoryCache(),
    now: Date.now,
    log,
  };
  await documents.collection(GYMS).insert({ id: GYM, name: 'Bench gym', timeZone: 'UTC', createdAt: 0, updatedAt: 0 });
  for (const sensor of ['strap', 'bike']) {
    await documents.collection(BINDINGS).insert({ id: sensor, gym: GYM, sensor, athlete: ATHLETE, active: true, from: start - 60_000, kind: 'own', createdBy: ATHLETE });
  }
  const batches = [
    ...minutesOf('strap', 'heart_rate', start, (i) => 120 + 30 * Math.sin(i / 400)),
    ...minutesOf('bike', 'power', start, (i) => 200 + 80 * Math.sin(i / 97)),
    ...minutesOf('bike', 'cadence', start, (i) => 85 + 10 * Math.sin(i / 53)),
  ];
  for (const batch of batches) await series.write([{ gym: GYM, agent: 'bench-agent', series: [batch] }]);
  await documents.collection(SESSIONS).insert({
    id: SESSION,
    athlete: ATHLETE,
    kind: 'personal',
    gym: GYM,
    name: 'Bench ride',
    sport: 'cycling',
    state: 'live',
    startedAt: start,
    revision: 0,
    stale: false,
    createdAt: start,
  });
  if ((await completeSession(domain, SESSION, start + MINUTES * 60_000)) === undefined) throw new Error('the session did not complete');
  const app = createApi({
    domain,
    registry: new MemoryAgentRegistry(),
    store: new MemorySeriesStore(),
    live: new MemoryLiveBus(),
    metrics: new Registry(),
    verifier: new FixedTokens({ athlete: principal([{ gym: GYM, role: 'athlete' }], { subject: ATHLETE }) }),
    log,
    ready: async () => ({ ok: true, checks: {} }),
  });
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, readings: batches.length * 60 * HZ })}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await series.stop();
  await documents.stop();
  await identity.stop();
  process.exit(0);
}

// ---- the load ----

const HEADERS = { authorization: 'Bearer athlete' };

/** One timed request; its status must be 200. */
async function timedGet(url: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const response = await fetch(url, { headers: HEADERS });
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${text.slice(0, 200)}`);
  return { ms, bytes: Buffer.byteLength(text) };
}

async function main(): Promise<void> {
  if (args.serve !== undefined) return serve(args.serve);
  await withTempDir('streams', async (dir) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', dir, ...process.argv.slice(2)], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      const first = await lines.next();
      if (first.done === true) throw new Error('the serving process ended before listening');
      const { port, readings } = JSON.parse(first.value) as { port: number; readings: number };
      const base = `http://127.0.0.1:${port}/api/v1/sessions/${SESSION}/streams`;
      const session = { minutes: MINUTES, hz: HZ, metrics: ['heart_rate', 'power', 'cadence'], readings, store: 'sqlite (file)' };

      // Uncached: the streams computed from the readings (series store, attribution, 1 Hz resampling), then low from the cached 1 Hz streams.
      const uncachedHigh = await timedGet(`${base}?resolution=high`);
      const uncachedLow = await timedGet(`${base}?resolution=low`);
      printFigure('streams_first_computation', +uncachedHigh.ms.toFixed(1), 'ms', {
        detail: 'first GET of a completed session’s streams at resolution high: read, attributed and resampled from the series store, then cached',
        bytes: uncachedHigh.bytes,
        lowFromCachedHighMs: +uncachedLow.ms.toFixed(1),
        ...session,
      });

      for (const resolution of ['high', 'low'] as const) {
        const url = `${base}?resolution=${resolution}`;
        // Warm-up (JIT, connections).
        await autocannon({ url, connections: CONNECTIONS, duration: 1, headers: HEADERS });
        const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, headers: HEADERS });
        const details = {
          route: 'GET /api/v1/sessions/:id/streams',
          resolution,
          cached: true,
          connections: CONNECTIONS,
          seconds: SECONDS,
          bytesPerResponse: Math.round(result.throughput.average / Math.max(1, result.requests.average)),
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
        };
        printFigure(`streams_${resolution}_requests_per_s`, Math.round(result.requests.average), 'requests/s', details);
        printFigure(`streams_${resolution}_latency_p99`, result.latency.p99, 'ms', { target: 50, p50: result.latency.p50, max: result.latency.max, ...details });
      }
    } finally {
      child.stdin!.end();
      await exited;
    }
  });
}

await main();
