/**
 * End-to-end delay of the live class board: from a simulated sensor reading (its timestamp, taken by the
 * simulator when it produces the notification) through agent, MQTT, hub ingest, series store and the live
 * bus to the board's `tiles` event that shows it, read by an SSE client. A hub in this process and a real
 * agent process with simulated straps on 127.0.0.1, a running class run whose athletes have the straps bound
 * (the agent admits only bound sensors, as in a gym). Each tile of each `tiles` event is one sample: arrival
 * time minus the tile's lastSeenAt (the same machine's wall clock). One JSON line (DESIGN §9):
 *   {"name": "live_board_reading_to_event_ms", "value": <p50>, "unit": "ms", "p99": ..., "max": ..., "samples": N,
 *    "toLiveBusP50": ..., "toLiveBusP99": ..., "busToEventP50": ..., "busToEventP99": ...}
 * toLiveBus*: readings' delay up to the hub's live bus (simulator, agent outbox, MQTT, ingest, store), per series;
 * busToEvent*: from the bus handing a tile's latest reading to the board to the SSE client reading its event.
 *
 *   node --import tsx scripts/bench/live-board.ts [--seconds 20] [--athletes 10]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { until } from '@pulsebridge/runtime';
import { Hub } from '../../hub/src/hub.ts';
import { testHubConfig } from '../../hub/test/test-hub.ts';
import { SimulatorSource, simulatorConfig } from '../../edge-agent/src/sources/simulator/index.ts';
import { AgentRunner, tempDir } from '../../test/harness.ts';
import { followBoardTiles, percentile, runningClassRun } from './board-fixture.ts';
import { printFigure } from './figures.ts';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '20' }, athletes: { type: 'string', default: '10' } } });
const SECONDS = Math.min(300, Number(args.seconds));
const ATHLETES = Number(args.athletes);
const GYM = 'gym-bench';
const AGENT = 'box-bench';
const SIMULATOR = { athletes: ATHLETES, seed: 7, admission: true, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } };
const log = pino({ level: 'silent' });

const work = tempDir('bench-live-board');
const hub = new Hub(testHubConfig(join(work.dir, 'hub')), { log });
let agent: AgentRunner | undefined;
const stream = new AbortController();
try {
  await hub.start();
  const domain = hub.domain!;
  const baseUrl = `http://127.0.0.1:${hub.addresses.http!.port}`;
  const { secret } = await domain.agents.create(AGENT, GYM);
  const straps = new SimulatorSource({ ...simulatorConfig(SIMULATOR), now: Date.now, log }).sensors().filter((s) => s.kind === 'heart_rate');
  const run = await runningClassRun(
    domain,
    GYM,
    straps.map((strap, i) => ({ athlete: `athlete-${i}`, sensors: [strap.id] })),
    Date.now(),
  );

  const delays: number[] = [];
  let measuring = false;
  // The same readings as the hub's live bus hands them to the board: what of the delay is before the board.
  const published: number[] = [];
  /** When the bus carried each athlete's latest reading, by `${athlete}|${ts}`: the board's own share of the delay. */
  const publishedAt = new Map<string, number>();
  const athleteOf = new Map(straps.map((strap, i) => [strap.id, `athlete-${i}`]));
  domain.live.subscribe({ gym: GYM }, (readings) => {
    const at = Date.now();
    if (!measuring) return;
    for (const series of readings.series) {
      const latest = Math.max(...series.ts);
      published.push(at - latest);
      publishedAt.set(`${athleteOf.get(series.sensor)}|${latest}`, at);
    }
  });
  const boardShare: number[] = [];
  const reading = await followBoardTiles(baseUrl, run, stream.signal, (arrived, data) => {
    for (const tile of data.tiles) {
      if (!measuring || tile.lastSeenAt === undefined) continue;
      delays.push(arrived - Date.parse(tile.lastSeenAt));
      const onBus = publishedAt.get(`${tile.athlete}|${Date.parse(tile.lastSeenAt)}`);
      if (onBus !== undefined) boardShare.push(arrived - onBus);
    }
  });

  const running = new AgentRunner({ dir: work.dir, id: AGENT, secret, mqttUrl: `mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, simulator: SIMULATOR });
  agent = running;
  await running.start();
  // Warm-up: until readings reach the board (the agent has its list and its link), then measure.
  await until(
    'readings to reach the board',
    () => {
      measuring = true;
      return delays.length > 0;
    },
    60_000,
    20,
  );
  delays.length = 0;
  published.length = 0;
  boardShare.length = 0;
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  measuring = false;
  stream.abort();
  await reading.ended;
  const sorted = [...delays].sort((a, b) => a - b);
  const toBus = [...published].sort((a, b) => a - b);
  const ofBoard = [...boardShare].sort((a, b) => a - b);
  printFigure('live_board_reading_to_event_ms', percentile(sorted, 50), 'ms', {
    p99: percentile(sorted, 99),
    toLiveBusP50: percentile(toBus, 50),
    toLiveBusP99: percentile(toBus, 99),
    busToEventP50: percentile(ofBoard, 50),
    busToEventP99: percentile(ofBoard, 99),
    max: sorted.at(-1),
    samples: sorted.length,
    athletes: straps.length,
    seconds: SECONDS,
  });
} finally {
  stream.abort();
  await agent?.stop();
  await hub.stop();
  work.cleanup();
}
