/**
 * The live class board under load (target: reading arriving at the hub -> live-board event, p99 <= 50 ms at
 * 2 000 readings/s). A hub in this process on 127.0.0.1 with production ingest settings, a running class run of
 * 60 athletes with bound sensors, one SSE viewer on its board, and a load generator in a child process that
 * publishes reading batches over MQTT to the hub's embedded broker as enrolled agents do (QoS 1, the agents'
 * own credentials, `encodeBatch`): heart rate for every athlete, power and cadence for the first `--bikes`, spread
 * over `--agents` agents, each sending `--batches-per-s` batches a second, `--rate` readings/s in total.
 *
 * Arrival: the generator stamps each series' latest reading of a batch with the wall time it publishes the
 * batch (the earlier readings of the batch spaced back at the series' rate, as a sensor would have sent them)
 * and publishes at once, so that reading's time is the batch's arrival at the hub's socket on loopback (same
 * machine, same clock). Any wait before the hub's transport reads the socket (the hub's event loop busy) is
 * counted against the hub, so the figure is an upper bound of transport-receipt -> event; `pubackP99` (generator
 * publish -> the broker's PUBACK) bounds how much of it lies before the broker handled the batch.
 *
 * Per tile of each `tiles` event (a tile that changed): the SSE client's read time minus the tile's lastSeenAt.
 * JSON lines (DESIGN §9), over the measured `--seconds` (after a warm-up):
 *   live_board_load_arrival_to_event_ms: p50 as value, p99, max, samples, and where the time goes:
 *     toLiveBus* (arrival -> the live bus, i.e. ingest queue, write grouping and the durable store write),
 *     storeWrite* (the store's write calls alone), busToEvent* (bus -> SSE client: the board's coalescing, JSON
 *     and the socket), eventLoopDelay* (the hub process's event-loop delay);
 *   live_board_load_stored_readings_per_s: readings the hub stored (the live bus carries stored batches only);
 *   live_board_load_hub_cpu_ms_per_1000_readings: CPU time of this process (hub and the SSE client) per 1 000 stored;
 *     cpuShare (cores busy), idleCpuShare (the same process with the board open and no load, before the
 *     generator starts) and netOfIdle (per 1 000 readings without that idle share).
 *
 *   node --import tsx scripts/bench/live-board-load.ts [--seconds 20] [--rate 2000] [--athletes 60] [--bikes 20]
 *     [--agents 4] [--batches-per-s 5] [--write-delay-ms <ingest.maxWriteDelayMs default>] [--synchronous FULL|NORMAL]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Topics, encodeBatch, type MetricId, type SeriesReadings } from '@pulsebridge/protocol';
import { until, withTimeout } from '@pulsebridge/runtime';
import { Hub } from '../../hub/src/hub.ts';
import { IngestConfig } from '../../hub/src/ingest/ingest.ts';
import type { SeriesWrite } from '../../hub/src/storage/series/series-store.ts';
import { testHubConfig } from '../../hub/test/test-hub.ts';
import { tempDir } from '../../test/harness.ts';
import { followBoardTiles, percentile, runningClassRun } from './board-fixture.ts';
import { printFigure } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '2000' },
    athletes: { type: 'string', default: '60' },
    bikes: { type: 'string', default: '20' },
    agents: { type: 'string', default: '4' },
    'batches-per-s': { type: 'string', default: '5' },
    synchronous: { type: 'string', default: 'FULL' },
    'write-delay-ms': { type: 'string', default: String(IngestConfig.properties.maxWriteDelayMs.default) },
    /** Runs as the load generator of this plan (JSON): how the benchmark starts its child process. */
    generator: { type: 'string' },
  },
});

/** What the generator process is told: its agents, what each sends, and how often. */
interface LoadPlan {
  mqttUrl: string;
  topicRoot: string;
  agents: { id: string; secret: string; series: { sensor: string; metric: MetricId; phase: number }[] }[];
  seriesHz: number;
  batchesPerSecond: number;
}

type ToGenerator = { type: 'measure' } | { type: 'stop' };
type FromGenerator = { type: 'ready' } | { type: 'stats'; readings: number; batches: number; pubackP50: number; pubackP99: number; pubackMax: number; failed: number };

const BASE: Record<string, number> = { heart_rate: 130, power: 200, cadence: 85 };
const SWING: Record<string, number> = { heart_rate: 30, power: 60, cadence: 8 };

/** The generator: connects each agent, then publishes its batches on schedule until told to stop. */
async function generate(plan: LoadPlan, send: (message: FromGenerator) => void, messages: AsyncIterable<ToGenerator>): Promise<void> {
  const topics = new Topics(plan.topicRoot);
  const clients = await Promise.all(
    plan.agents.map((agent) =>
      mqtt.connectAsync(plan.mqttUrl, {
        clientId: `pb-agent-${agent.id}`,
        username: agent.id,
        password: agent.secret,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5_000,
      }),
    ),
  );
  const perBatch = Math.max(1, Math.round(plan.seriesHz / plan.batchesPerSecond));
  const stepMs = 1000 / plan.seriesHz;
  const intervalMs = 1000 / plan.batchesPerSecond;
  const stream = `load-${process.pid}`;
  let measuring = false;
  let stopped = false;
  let readings = 0;
  let batches = 0;
  let failed = 0;
  const pubacks: number[] = [];
  const timers: NodeJS.Timeout[] = [];
  const started = performance.now();
  for (const [a, agent] of plan.agents.entries()) {
    const client = clients[a]!;
    const topic = topics.of(agent.id, 'readings');
    const lastTs = new Map<string, number>();
    let sequence = 0;
    let tick = 0;
    const publishBatch = (): void => {
      const now = Date.now();
      const series: SeriesReadings[] = agent.series.map(({ sensor, metric, phase }) => {
        const key = `${sensor}|${metric}`;
        // Strictly increasing per series, so no reading collides with the previous batch's in the store.
        const floor = (lastTs.get(key) ?? 0) + 1;
        const ts = Array.from({ length: perBatch }, (_, k) => Math.max(Math.round(now - (perBatch - 1 - k) * stepMs), floor + k));
        lastTs.set(key, ts.at(-1)!);
        const values = ts.map((t) => Math.round(BASE[metric]! + SWING[metric]! * Math.sin(t / 20_000 + phase)));
        return { sensor, metric, ts, values };
      });
      const count = series.length * perBatch;
      const payload = encodeBatch({ agent: agent.id, stream, first: sequence, last: sequence + count - 1, floor: 0, clockUnsynced: false, series });
      sequence += count;
      const sentAt = performance.now();
      const counted = measuring;
      client.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) failed++;
        else if (counted) pubacks.push(performance.now() - sentAt);
      });
      if (counted) {
        readings += count;
        batches++;
      }
    };
    // A schedule per agent, phased apart, that catches up when a timer fires late, so the offered rate holds.
    const next = (): void => {
      if (stopped) return;
      publishBatch();
      tick++;
      timers[a] = setTimeout(next, Math.max(0, started + (a / plan.agents.length + tick) * intervalMs - performance.now()));
    };
    timers[a] = setTimeout(next, (a / plan.agents.length) * intervalMs);
  }
  send({ type: 'ready' });
  for await (const message of messages) {
    if (message.type === 'measure') measuring = true;
    if (message.type === 'stop') break;
  }
  measuring = false;
  stopped = true;
  for (const timer of timers) clearTimeout(timer);
  await Promise.all(clients.map((c) => c.endAsync().catch(() => {})));
  const sorted = pubacks.sort((x, y) => x - y);
  const round = (ms: number): number => +ms.toFixed(2);
  send({ type: 'stats', readings, batches, failed, pubackP50: round(percentile(sorted, 50)), pubackP99: round(percentile(sorted, 99)), pubackMax: round(sorted.at(-1) ?? 0) });
}

/**
 * The messages a forked process gets from its parent, as they come; listening from the call on, so nothing
 * sent meanwhile is lost (a message with no listener is dropped).
 */
function parentMessages(): AsyncIterable<ToGenerator> {
  const queue: ToGenerator[] = [];
  let wake: (() => void) | undefined;
  let gone = false;
  process.on('message', (m: ToGenerator) => {
    queue.push(m);
    wake?.();
  });
  process.once('disconnect', () => {
    gone = true;
    wake?.();
  });
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const message = queue.shift();
        if (message) {
          yield message;
          continue;
        }
        if (gone) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

async function runGenerator(plan: LoadPlan): Promise<void> {
  await generate(plan, (m) => process.send?.(m), parentMessages());
  process.disconnect();
}

async function runBenchmark(): Promise<void> {
  const SECONDS = Math.min(300, Number(args.seconds));
  const RATE = Number(args.rate);
  const ATHLETES = Number(args.athletes);
  const BIKES = Math.min(ATHLETES, Number(args.bikes));
  const AGENTS = Number(args.agents);
  const BATCHES_PER_SECOND = Number(args['batches-per-s']);
  const WRITE_DELAY_MS = Number(args['write-delay-ms']);
  const SYNCHRONOUS = args.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL';
  const WARMUP_MS = 3_000;
  const IDLE_MS = 2_000;
  const GYM = 'gym-bench';
  const log = pino({ level: 'silent' });
  const seriesCount = ATHLETES + 2 * BIKES;
  const seriesHz = RATE / seriesCount;

  const work = tempDir('bench-live-board-load');
  const hub = new Hub(testHubConfig(join(work.dir, 'hub'), { PB_HUB_INGEST__MAX_WRITE_DELAY_MS: String(WRITE_DELAY_MS), PB_HUB_SERIES__SQLITE__SYNCHRONOUS: SYNCHRONOUS }), {
    log,
  });
  const stream = new AbortController();
  let generator: ChildProcess | undefined;
  const fromGenerator = (generator: ChildProcess, type: FromGenerator['type']): Promise<FromGenerator> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: FromGenerator): void => {
        if (m.type !== type) return;
        generator.off('message', onMessage);
        resolve(m);
      };
      generator.on('message', onMessage);
      generator.once('exit', (code) => reject(new Error(`the load generator exited (${code}) before '${type}'`)));
    });
  const tell = (m: ToGenerator): boolean => generator?.send(m) ?? false;
  try {
    await hub.start();
    const domain = hub.domain!;
    const baseUrl = `http://127.0.0.1:${hub.addresses.http!.port}`;
    const athletes = Array.from({ length: ATHLETES }, (_, i) => ({ athlete: `athlete-${i}`, sensors: [`bench:hr-${i}`, ...(i < BIKES ? [`bench:pm-${i}`] : [])] }));
    const plan: LoadPlan = { mqttUrl: `mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, topicRoot: hub.config.topicRoot, agents: [], seriesHz, batchesPerSecond: BATCHES_PER_SECOND };
    for (let a = 0; a < AGENTS; a++) {
      const id = `box-load-${a}`;
      const { secret } = await domain.agents.create(id, GYM);
      plan.agents.push({ id, secret, series: [] });
    }
    const athleteOf = new Map<string, string>();
    for (const [i, { athlete }] of athletes.entries()) {
      const series = plan.agents[i % AGENTS]!.series;
      athleteOf.set(`bench:hr-${i}`, athlete);
      series.push({ sensor: `bench:hr-${i}`, metric: 'heart_rate', phase: i });
      if (i < BIKES) {
        athleteOf.set(`bench:pm-${i}`, athlete);
        series.push({ sensor: `bench:pm-${i}`, metric: 'power', phase: i }, { sensor: `bench:pm-${i}`, metric: 'cadence', phase: i });
      }
    }
    const run = await runningClassRun(domain, GYM, athletes, Date.now());

    let measuring = false;
    // The store's write calls, timed where ingest makes them: the durable write's share of the delay.
    const storeWrites: number[] = [];
    const store = domain.series;
    const write = store.write.bind(store);
    store.write = async (batches: readonly SeriesWrite[]) => {
      const started = performance.now();
      try {
        return await write(batches);
      } finally {
        if (measuring) storeWrites.push(performance.now() - started);
      }
    };
    let stored = 0;
    const toBus: number[] = [];
    /** When the bus carried each athlete's latest reading, by `${athlete}|${ts}`: the board's own share. */
    const busAt = new Map<string, number>();
    domain.live.subscribe({ gym: GYM }, (readings) => {
      const at = Date.now();
      if (!measuring) return;
      for (const series of readings.series) {
        stored += series.ts.length;
        const latest = Math.max(...series.ts);
        toBus.push(at - latest);
        busAt.set(`${athleteOf.get(series.sensor)}|${latest}`, at);
      }
    });
    const delays: number[] = [];
    const boardShare: number[] = [];
    let tilesEvents = 0;
    let warm = false;
    const reading = await followBoardTiles(baseUrl, run, stream.signal, (arrived, data) => {
      warm = true;
      if (!measuring) return;
      tilesEvents++;
      for (const tile of data.tiles) {
        if (tile.lastSeenAt === undefined) continue;
        delays.push(arrived - Date.parse(tile.lastSeenAt));
        const onBus = busAt.get(`${tile.athlete}|${Date.parse(tile.lastSeenAt)}`);
        if (onBus !== undefined) boardShare.push(arrived - onBus);
      }
    });

    // The hub's own timers with the board open and no readings: what the CPU figure is read against.
    const idleCpu0 = process.cpuUsage();
    const idleWall0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const idle = process.cpuUsage(idleCpu0);
    const idleShare = (idle.user + idle.system) / 1e6 / ((performance.now() - idleWall0) / 1000);
    generator = fork(fileURLToPath(import.meta.url), ['--generator', JSON.stringify(plan)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const ready = fromGenerator(generator, 'ready');
    await withTimeout(ready, 30_000, 'the load generator to connect its agents');
    await until('load readings to reach the board', () => warm, 60_000, 20);
    // Let the JIT, the store and the dedupe ranges settle before counting.
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
    delays.length = 0;
    boardShare.length = 0;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    tell({ type: 'measure' });
    measuring = true;
    loop.enable();
    await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    measuring = false;
    loop.disable();
    const cpu = process.cpuUsage(cpu0);
    const seconds = (performance.now() - wall0) / 1000;
    const stats = fromGenerator(generator, 'stats');
    tell({ type: 'stop' });
    const offered = (await withTimeout(stats, 30_000, 'the load generator to stop')) as Extract<FromGenerator, { type: 'stats' }>;
    stream.abort();
    await reading.ended;

    const sorted = (xs: number[]): number[] => [...xs].sort((x, y) => x - y);
    const ms = (ns: number): number => +(ns / 1e6).toFixed(2);
    const round = (x: number): number => +x.toFixed(2);
    const latency = sorted(delays);
    const bus = sorted(toBus);
    const board = sorted(boardShare);
    const writes = sorted(storeWrites);
    const context = {
      athletes: ATHLETES,
      bikes: BIKES,
      agents: AGENTS,
      batchesPerSecond: BATCHES_PER_SECOND,
      seriesHz: round(seriesHz),
      maxWriteDelayMs: WRITE_DELAY_MS,
      synchronous: SYNCHRONOUS,
      seconds: SECONDS,
    };
    printFigure('live_board_load_arrival_to_event_ms', percentile(latency, 50), 'ms', {
      p99: percentile(latency, 99),
      max: latency.at(-1),
      target: 50,
      samples: latency.length,
      overTarget: latency.filter((d) => d > 50).length,
      tilesEvents,
      toLiveBusP50: percentile(bus, 50),
      toLiveBusP99: percentile(bus, 99),
      toLiveBusMax: bus.at(-1),
      storeWriteP50: round(percentile(writes, 50)),
      storeWriteP99: round(percentile(writes, 99)),
      storeWriteMax: round(writes.at(-1) ?? 0),
      storeWrites: writes.length,
      busToEventP50: percentile(board, 50),
      busToEventP99: percentile(board, 99),
      busToEventMax: board.at(-1),
      eventLoopDelayP50: ms(loop.percentile(50)),
      eventLoopDelayP99: ms(loop.percentile(99)),
      eventLoopDelayMax: ms(loop.max),
      pubackP50: offered.pubackP50,
      pubackP99: offered.pubackP99,
      pubackMax: offered.pubackMax,
      ...context,
    });
    printFigure('live_board_load_stored_readings_per_s', Math.round(stored / seconds), 'readings/s', {
      offered: Math.round(offered.readings / seconds),
      target: RATE,
      batches: offered.batches,
      failedPublishes: offered.failed,
      ...context,
    });
    const cpuShare = (cpu.user + cpu.system) / 1e6 / seconds;
    printFigure('live_board_load_hub_cpu_ms_per_1000_readings', round((cpu.user + cpu.system) / 1000 / (stored / 1000)), 'ms', {
      cpuShare: round(cpuShare),
      idleCpuShare: round(idleShare),
      netOfIdle: round(((cpuShare - idleShare) * seconds * 1000) / (stored / 1000)),
      ...context,
    });
  } finally {
    stream.abort();
    if (generator?.connected) generator.disconnect();
    if (generator?.exitCode === null) generator.kill();
    await hub.stop();
    work.cleanup();
  }
}

if (args.generator !== undefined) await runGenerator(JSON.parse(args.generator) as LoadPlan);
else await runBenchmark();
