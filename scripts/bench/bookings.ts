/**
 * Booking throughput and p99 latency under load: POST /api/v1/classes/:id/occurrences/:start/bookings on
 * createApi with the real SQLite document store (a file in a temporary folder), served by a child process so
 * that the load generator (autocannon, over loopback keep-alive connections) does not share its event loop.
 * Many athletes book many occurrences of one daily class: each request is a new (athlete, occurrence) pair, so
 * every one is a real booking, a place while places last, then a waitlist position. Afterwards the document
 * file is read again: no occurrence may hold more bookings than places (`bookings_overbooked`, must be 0).
 *
 *   node --import tsx scripts/bench/bookings.ts [--seconds 10] [--connections 10] [--athletes 2000] [--occurrences 10] [--capacity 100]
 *
 * Target: p99 ≤ 50 ms, never more bookings than places.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createApi } from '../../hub/src/api/app.ts';
import { BOOKINGS, CLASSES, OCCURRENCES } from '../../hub/src/domain/classes/collections.ts';
import { DOMAIN_COLLECTIONS } from '../../hub/src/domain/collections.ts';
import { GYMS } from '../../hub/src/domain/gyms.ts';
import type { Domain } from '../../hub/src/domain/domain.ts';
import { occurrencesBetween } from '../../hub/src/domain/classes/recurrence.ts';
import { SqliteDocumentStore } from '../../hub/src/documents/sqlite-document-store.ts';
import { SqliteIdentityStore } from '../../hub/src/identity/sqlite-identity-store.ts';
import { FolderImageStore } from '../../hub/src/images/folder-image-store.ts';
import { MemoryLiveBus } from '../../hub/src/live/live-bus.ts';
import { MemoryCache } from '../../hub/src/cache/cache.ts';
import { FixedTokens, principal } from '../../hub/test/api/principals.ts';
import { RecordingPairingChannel } from '../../hub/test/domain/test-domain.ts';
import { MemoryAgentRegistry, MemorySeriesStore } from '../../hub/test/memory-stores.ts';
import { printFigure, withTempDir } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    athletes: { type: 'string', default: '2000' },
    occurrences: { type: 'string', default: '10' },
    capacity: { type: 'string', default: '100' },
    // Internal: run as the serving process on this folder.
    serve: { type: 'string' },
  },
});
const SECONDS = Math.max(1, Number(args.seconds));
const CONNECTIONS = Math.max(1, Number(args.connections));
const ATHLETES = Math.max(10, Number(args.athletes));
const OCCURRENCES_BOOKED = Math.min(13, Math.max(1, Number(args.occurrences)));
const CAPACITY = Math.max(1, Number(args.capacity));
const GYM = 'bench-gym';
const CLASS = 'bench-class';
const DAY_MS = 86_400_000;

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}
// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)('autocannon') as (options: {
  url: string;
  connections: number;
  duration: number;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;

const documentsPath = (dir: string) => join(dir, 'documents.db');

// ---- the serving process ----

async function serve(dir: string): Promise<void> {
  const log = pino({ level: 'warn' });
  const documents = new SqliteDocumentStore({ path: documentsPath(dir) });
  await documents.start(DOMAIN_COLLECTIONS);
  const identity = new SqliteIdentityStore({ path: join(dir, 'identity.db') });
  await identity.start();
  const tokens = new FixedTokens({});
  for (let i = 0; i < ATHLETES; i++) tokens.set(`athlete-${i}`, principal([{ gym: GYM, role: 'athlete' }], { subject: `athlete-${i}` }));
  const domain: Domain = {
    documents,
    identity,
    images: new FolderImageStore({ dir: join(dir, 'images') }),
    pairing: new RecordingPairingChannel(),
    agents: new MemoryAgentRegistry(),
    series: new MemorySeriesStore(),
    live: new MemoryLiveBus(),
    cache: new MemoryCache(),
    now: Date.now,
    log,
  };
  // A daily 07:00 class in Berlin from tomorrow on, with room for everyone in the waitlist.
  const tomorrow = new Date(Date.now() + DAY_MS).toISOString().slice(0, 10);
  await documents.collection(GYMS).insert({ id: GYM, name: 'Bench gym', timeZone: 'Europe/Berlin', createdAt: 0, updatedAt: 0 });
  const cls = {
    id: CLASS,
    gym: GYM,
    name: 'Bench spin',
    description: '',
    room: 'Studio',
    instructors: [],
    capacity: CAPACITY,
    start: `${tomorrow}T07:00`,
    durationMinutes: 45,
    rrule: 'FREQ=DAILY',
    bookingOpensDays: 14,
    cancellationWindowMinutes: 60,
    waitlistLimit: ATHLETES,
    createdAt: 0,
    updatedAt: 0,
  };
  await documents.collection(CLASSES).insert(cls);
  const starts = occurrencesBetween({ start: cls.start, rrule: cls.rrule, timeZone: 'Europe/Berlin' }, Date.now(), Date.now() + 14 * DAY_MS)
    .slice(0, OCCURRENCES_BOOKED)
    .map((ms) => new Date(ms).toISOString().replace('.000Z', 'Z'));
  const app = createApi({
    domain,
    registry: new MemoryAgentRegistry(),
    store: new MemorySeriesStore(),
    live: new MemoryLiveBus(),
    metrics: new Registry(),
    verifier: tokens,
    log,
    ready: async () => ({ ok: true, checks: {} }),
  });
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, starts })}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await documents.stop();
  await identity.stop();
  process.exit(0);
}

// ---- the load and the check ----

async function main(): Promise<void> {
  if (args.serve !== undefined) return serve(args.serve);
  await withTempDir('bookings', async (dir) => {
    const child = spawn(
      process.execPath,
      [
        ...(process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_CPU_PROF']] : []),
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--serve',
        dir,
        ...process.argv.slice(2),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const exited = new Promise((resolve) => child.on('exit', resolve));
    let result: AutocannonResult;
    let pairs: number;
    try {
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      const first = await lines.next();
      if (first.done === true) throw new Error('the serving process ended before listening');
      const { port, starts } = JSON.parse(first.value) as { port: number; starts: string[] };
      pairs = ATHLETES * starts.length;
      let next = 0;
      // Each request a new (athlete, occurrence) pair, spread over the occurrences; past the last pair, the same ones again (409).
      const setupRequest = (request: AutocannonRequest): AutocannonRequest => {
        const i = next++ % pairs;
        const occurrence = starts[i % starts.length]!;
        const athlete = Math.floor(i / starts.length);
        return {
          ...request,
          path: `/api/v1/classes/${CLASS}/occurrences/${occurrence}/bookings`,
          headers: { authorization: `Bearer athlete-${athlete}`, 'content-type': 'application/json' },
        };
      };
      // Warm-up (JIT, connections), on its own occurrences' pairs like the rest.
      result = await autocannon({ url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, duration: 1, requests: [{ method: 'POST', body: '{}', setupRequest }] });
      result = await autocannon({ url: `http://127.0.0.1:${port}`, connections: CONNECTIONS, duration: SECONDS, requests: [{ method: 'POST', body: '{}', setupRequest }] });
    } finally {
      child.stdin!.end();
      await exited;
    }

    const documents = new SqliteDocumentStore({ path: documentsPath(dir) });
    await documents.start(DOMAIN_COLLECTIONS);
    let overbooked = 0;
    let booked = 0;
    let waitlisted = 0;
    for (const occurrence of await documents.collection(OCCURRENCES).find({ class: CLASS })) {
      const places = await documents.collection(BOOKINGS).count({ occurrence: occurrence.id, status: 'booked', active: true });
      const waiting = await documents.collection(BOOKINGS).count({ occurrence: occurrence.id, status: 'waitlisted', active: true });
      booked += places;
      waitlisted += waiting;
      if (places > occurrence.capacity || occurrence.booked !== places || occurrence.waitlisted !== waiting) overbooked++;
    }
    await documents.stop();

    const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, stats]) => [code, stats.count]));
    const details = {
      route: 'POST /api/v1/classes/:id/occurrences/:start/bookings',
      store: 'sqlite (file)',
      connections: CONNECTIONS,
      seconds: SECONDS,
      statuses,
      errors: result.errors,
    };
    printFigure('booking_requests_per_s', Math.round(result.requests.average), 'requests/s', details);
    printFigure('booking_latency_p99', result.latency.p99, 'ms', { target: 50, p50: result.latency.p50, max: result.latency.max, ...details });
    printFigure('bookings_overbooked', overbooked, 'occurrences', {
      target: 0,
      detail: 'occurrences holding more bookings than places, or counters differing from their bookings',
      booked,
      waitlisted,
      capacity: CAPACITY,
    });
  });
}

await main();
