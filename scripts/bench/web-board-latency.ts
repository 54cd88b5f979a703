/**
 * Time from a heart-rate reading at the agent to its change on the class board in Chromium: a hub with the web
 * build and a real agent process whose simulator plays the athletes' straps (test/class-harness.ts ClassGym:
 * athletes with profiles, straps paired, a class booked and its run started by the coach), all on 127.0.0.1.
 * The board page at /board/ is signed in through the device flow as a gym would do it (a coach confirms the
 * screen's code on the hub) and opens the running class by itself. A MutationObserver in the page records,
 * for every change of a tile's heart rate, the athlete, the value and when the DOM changed
 * (performance.timeOrigin + performance.now(): the wall clock the agent stamps readings with, same machine).
 *
 * A reading's timestamp is the strap's sample time: the simulator stamps it with the time on the strap's sample
 * grid and hands it to the agent at its next tick (simulator.tickMs, default 50 ms, later), as a real strap's
 * notification arrives after the measurement it carries. Each DOM change is matched to the reading that brought
 * its value: of the strap's readings (read back from the hub's series store) up to the change, the first of the
 * latest run with that value (the tile changes only when the value does; a batch of several readings shows its
 * latest). The agent sends with its own uplink defaults unless --live-batch-delay-ms says otherwise.
 * One JSON line:
 *   {"name": "web_board_reading_to_dom_ms", "value": <p50>, "unit": "ms", "p99": ..., "max": ..., "samples": N,
 *    "unmatched": changes no stored reading explains, "pageClockDriftMs": the page clock against the wall clock at the end, ...}
 *
 *   node --import tsx scripts/bench/web-board-latency.ts [--changes 200] [--athletes 10] [--timeout-s 240]
 *     [--live-batch-delay-ms <agent default>]
 *
 * Without Chromium it says so on standard error and prints nothing.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { until } from '@pulsebridge/runtime';
import { UplinkConfig } from '../../edge-agent/src/uplink/config.ts';
import { hashPassword, PASSWORD_PARAMS } from '../../hub/src/identity/passwords.ts';
import { ClassGym, profileOf, simulatorOf, startRun, strapSimulator, type Athlete } from '../../test/class-harness.ts';
import { freePort, tempDir } from '../../test/harness.ts';
import { buildWeb } from '../build-web.ts';
import { chromiumPath, confirmScreenCode, launchBrowser } from '../../test/web/browser.ts';
import { BOARD } from '../../web/src/i18n/en/board.ts';
import { percentile } from './board-fixture.ts';
import { printFigure } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    changes: { type: 'string', default: '200' },
    athletes: { type: 'string', default: '10' },
    'timeout-s': { type: 'string', default: '240' },
    'live-batch-delay-ms': { type: 'string', default: String(UplinkConfig.properties.liveBatchDelayMs.default) },
  },
});
const CHANGES = Number(args.changes);
const ATHLETES = Number(args.athletes);
const TIMEOUT_MS = Math.min(600, Number(args['timeout-s'])) * 1000;
const LIVE_BATCH_DELAY_MS = Number(args['live-batch-delay-ms']);
const GYM = 'gym-bench';
const PASSWORD = 'correct horse battery staple 42';
const STEP_MS = 30_000;
/** A match further back than this is no match: the board fell behind, or the value came from another reading. */
const MAX_MATCH_MS = 10_000;

interface DomChange {
  name: string;
  value: number;
  at: number;
}

// Plain JavaScript run in the page (tsx would wrap a TypeScript function's named helpers in its own `__name`).
// Every tile's heart rate as shown now, then every change of it, with the wall-clock time of the DOM change.
const OBSERVE_HEART_RATES = `(() => {
  const shown = new Map();
  const changes = [];
  const look = (at) => {
    for (const tile of document.querySelectorAll('li.board-tile')) {
      const text = tile.querySelector('.board-tile__hr')?.firstChild?.textContent?.trim();
      const value = text === undefined || text === '' ? NaN : Number(text);
      const name = tile.getAttribute('aria-label');
      if (Number.isNaN(value) || shown.get(name) === value) continue;
      if (at !== undefined) changes.push({ name, value, at });
      shown.set(name, value);
    }
  };
  look(undefined);
  new MutationObserver(() => look(performance.timeOrigin + performance.now())).observe(document.body, { subtree: true, childList: true, characterData: true });
  globalThis.heartRateChanges = changes;
  return shown.size;
})()`;

if (chromiumPath() === undefined) {
  console.error('web-board-latency: no Chromium (apt-get install chromium, or PB_CHROMIUM=PATH); skipped');
  process.exit(0);
}

const work = tempDir('bench-web-board-latency');
let gym: ClassGym | undefined;
let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
try {
  const webDir = join(work.dir, 'web');
  await buildWeb({ outDir: webDir, quiet: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const simulator = strapSimulator(ATHLETES, 7);
  gym = await ClassGym.start({
    dir: work.dir,
    gym: GYM,
    agentId: 'box-bench',
    simulator,
    lateIntervalMs: 1_000,
    uplink: { liveBatchDelayMs: LIVE_BATCH_DELAY_MS },
    hubEnv: {
      PB_HUB_HTTP__PORT: String(port),
      PB_HUB_HTTP__HOST: '127.0.0.1',
      PB_HUB_IDENTITY__ISSUER: base,
      PB_HUB_WEB__DIR: webDir,
      PB_HUB_IDENTITY__SECOND_FACTOR__REQUIRED_FOR_ROLES: '[]',
    },
  });
  const coach = await gym.person('Cora Coach', 'coach');
  await gym.domain.identity.setPassword(coach.id, { hash: await hashPassword(PASSWORD), paramsVersion: PASSWORD_PARAMS.version });
  const coachEmail = (await gym.domain.identity.getUser(coach.id))!.email;
  const now = Date.now();
  const athletes: Athlete[] = [];
  for (let i = 0; i < ATHLETES; i++) athletes.push(await gym.athlete(`Athlete ${String(i + 1).padStart(2, '0')}`, profileOf(i, now)));
  const straps = simulatorOf(simulator)
    .sensors()
    .map((s) => s.id);
  await Promise.all(athletes.map((athlete, i) => gym!.tapToPair(athlete, straps[i]!)));
  const cls = await gym.createClass('Simulated spin', coach, ATHLETES);
  for (const athlete of athletes) await gym.call('POST', `${gym.occurrencePath(cls)}/bookings`, { token: athlete.token, body: {}, expect: 201 });
  await gym.storedUntil(straps, Date.now(), 30_000);
  await startRun(gym, cls, coach);

  browser = await launchBrowser();
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
  const board = await context.newPage();
  await board.goto(`${base}/board/`);
  const code = board.getByLabel(BOARD.boardSignInCode);
  await code.waitFor({ timeout: STEP_MS });
  const shown = { userCode: (await code.innerText()).trim(), verificationUri: (await board.locator('.board-signin__uri').innerText()).trim() };
  await confirmScreenCode(browser, base, { email: coachEmail, name: coach.name }, PASSWORD, shown, STEP_MS);
  await board.getByRole('heading', { name: 'Simulated spin' }).waitFor({ timeout: STEP_MS });
  await until("every athlete's heart rate on the board", async () => (await board.locator('li.board-tile .board-tile__hr').count()) === ATHLETES, STEP_MS, 100);
  const observed = (await board.evaluate(OBSERVE_HEART_RATES)) as number;
  if (observed !== ATHLETES) throw new Error(`the observer found ${observed} heart rates, not ${ATHLETES}`);
  const started = Date.now();
  await until(`${CHANGES} heart-rate changes on the board`, async () => ((await board.evaluate('globalThis.heartRateChanges.length')) as number) >= CHANGES, TIMEOUT_MS, 500);
  const changes = ((await board.evaluate('globalThis.heartRateChanges')) as DomChange[]).slice(0, CHANGES);
  const seconds = Math.round((Date.now() - started) / 1000);
  // How far the page's high-resolution clock drifted from the wall clock the agent stamps with, over the run.
  const pageClockDriftMs = (await board.evaluate('Date.now() - (performance.timeOrigin + performance.now())')) as number;
  await context.close();

  const readingsOf = new Map<string, { ts: number; value: number }[]>();
  for (const athlete of athletes) readingsOf.set(athlete.name, await gym.storedHeartRate(athlete.strap!, started - MAX_MATCH_MS, Date.now() + 1));
  const delays: number[] = [];
  let unmatched = 0;
  for (const change of changes) {
    const readings = readingsOf.get(change.name)!;
    let latest = readings.findLastIndex((r) => r.ts <= change.at && Math.round(r.value) === change.value);
    while (latest > 0 && Math.round(readings[latest - 1]!.value) === change.value) latest--;
    const delay = latest < 0 ? Infinity : change.at - readings[latest]!.ts;
    if (delay > MAX_MATCH_MS) unmatched++;
    else delays.push(delay);
  }
  const sorted = delays.sort((a, b) => a - b);
  const round = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms * 10) / 10);
  printFigure('web_board_reading_to_dom_ms', round(percentile(sorted, 50))!, 'ms', {
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1)),
    min: round(sorted[0]),
    samples: sorted.length,
    unmatched,
    athletes: ATHLETES,
    seconds,
    liveBatchDelayMs: LIVE_BATCH_DELAY_MS,
    pageClockDriftMs: round(pageClockDriftMs),
  });
} finally {
  await browser?.close();
  await gym?.stop();
  work.cleanup();
}
