/**
 * The class board at /board/ in chromium on a hub fed by a simulated class: the screen shows a code, a coach
 * signed in in another browser enters it on the hub's verification page, and the board opens the running run by
 * itself. Each athlete's tile shows their name, the heart rate their strap really sent (read back from the hub's
 * series store), % of max and zone as the profile gives them, effort points and kcal; the heart rate changes
 * while the simulator runs. Sort order and the team view switch from the keyboard. One athlete's strap is on a
 * second agent that is then stopped: its tile shows "No signal" within sessions.quietAfterMs + one board tick of
 * the strap's last stored reading, while the others keep their figures. axe-core on the code screen and the
 * board; screenshots board-code, board-1080p and board-4k (.tmp/web-screenshots/).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { until } from '@pulsebridge/runtime';
import { startWebGym, withPassword } from './web-gym.ts';
import { maxHeartRateOf } from '../../hub/src/domain/profile/heart-rate.ts';
import { heartRateZone } from '../../hub/src/results/metrics.ts';
import { ClassGym, profileOf, simulatorOf, startRun, strapSimulator, type Athlete, type Person } from '../class-harness.ts';
import { AgentRunner, tempDir } from '../harness.ts';
import { missingService } from '../services.ts';
import { chromiumMissing, confirmScreenCode, expectAccessible, launchBrowser, screenshot } from './browser.ts';
import { translator } from '../../web/src/i18n/index.ts';

const skip = missingService(chromiumMissing());
const work = tempDir('web-board');
const GYM = 'gym-board';
const PASSWORD = 'correct horse battery staple 42';
const STEP_MS = 15_000;
const STRAPS = 3;
const QUIET_AFTER_MS = 3_000;
const BOARD_TICK_MS = 1_000;
/** Polling the DOM, rendering, and a loaded two-core machine: what the quiet state may take beyond its rule. */
const QUIET_MARGIN_MS = 1_500;
// The quiet athlete's strap is on its own agent (another seed: another strap id), without rr intervals.
const QUIET_SIMULATOR = { ...strapSimulator(1, 99), rrIntervals: false };
const UPLINK = { reconnectMinMs: 100, reconnectMaxMs: 500, ackTimeoutMs: 5000, liveBatchDelayMs: 200 };
const en = translator('en');

interface TileFigures {
  name: string;
  quiet: boolean;
  heartRate?: number;
  percent?: number;
  zone?: string;
  effort?: number;
  kcal?: number;
}

// Plain JavaScript run in the page: tsx would wrap named helpers of a TypeScript function in its own `__name`.
const TILES_IN_PAGE = `[...document.querySelectorAll('li.board-tile')].map((item) => {
  const number = (selector) => {
    const text = item.querySelector(selector)?.firstChild?.textContent?.trim();
    return text === undefined || text === '' || Number.isNaN(Number(text)) ? undefined : Number(text);
  };
  const figure = (unit) => {
    const found = [...item.querySelectorAll('.board-tile__figure')].find((el) => el.querySelector('small')?.textContent === unit);
    return found === undefined ? undefined : Number(found.firstChild?.textContent?.trim());
  };
  return {
    name: item.getAttribute('aria-label') ?? '',
    quiet: item.classList.contains('board-tile--quiet'),
    heartRate: number('.board-tile__hr'),
    percent: number('.board-tile__percent'),
    zone: item.querySelector('.board-tile__zone')?.textContent ?? undefined,
    effort: figure('Effort'),
    kcal: figure('kcal'),
  };
})`;

/** What each tile of the board shows, in DOM order. */
async function tilesShown(page: Page): Promise<TileFigures[]> {
  return page.evaluate(TILES_IN_PAGE) as Promise<TileFigures[]>;
}

describe('the class board in chromium, signed in by a code, on a gym fed by a simulated class', { skip, timeout: 300_000 }, () => {
  let gym: ClassGym;
  let quietAgent: AgentRunner;
  let base: string;
  let browser: Browser;
  let coach: Person & { email: string };
  const athletes: Athlete[] = [];
  let quietAthlete: Athlete;
  let boardContext: BrowserContext;
  let board: Page;

  before(async () => {
    ({ gym, base } = await startWebGym({
      dir: work.dir,
      gym: GYM,
      agentId: 'box-board',
      simulator: strapSimulator(STRAPS, 7),
      lateIntervalMs: 500,
      uplink: UPLINK,
      hubEnv: {
        PB_HUB_SESSIONS__QUIET_AFTER_MS: String(QUIET_AFTER_MS),
        PB_HUB_SESSIONS__BOARD_TICK_MS: String(BOARD_TICK_MS),
      },
    }));
    assert.equal(gym.hub.config.sessions.quietAfterMs, QUIET_AFTER_MS);
    const { secret } = await gym.domain.agents.create('box-quiet', GYM);
    quietAgent = new AgentRunner({
      dir: work.dir,
      id: 'box-quiet',
      secret,
      mqttUrl: `mqtt://127.0.0.1:${gym.hub.addresses.mqtt!.port}`,
      simulator: QUIET_SIMULATOR,
      config: { uplink: UPLINK },
    });
    await quietAgent.start();
    const person = await gym.person('Cora Coach', 'coach');
    coach = { ...person, email: await (await withPassword(gym.domain.identity, PASSWORD))(person.id) };
    const now = Date.now();
    for (let i = 0; i <= STRAPS; i++) athletes.push(await gym.athlete(`Athlete ${i + 1}`, profileOf(i, now)));
    const straps = [
      ...simulatorOf(strapSimulator(STRAPS, 7))
        .sensors()
        .map((s) => s.id),
      simulatorOf(QUIET_SIMULATOR).sensors()[0]!.id,
    ];
    await Promise.all(athletes.map((athlete, i) => gym.tapToPair(athlete, straps[i]!)));
    quietAthlete = athletes[STRAPS]!;
    const cls = await gym.createClass('Simulated spin', coach, 10);
    for (const athlete of athletes) await gym.call('POST', `${gym.occurrencePath(cls)}/bookings`, { token: athlete.token, body: {}, expect: 201 });
    await gym.storedUntil(straps, Date.now(), 30_000);
    await startRun(gym, cls, coach);
    browser = await launchBrowser();
    boardContext = await browser.newContext({ locale: 'en-US', viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
    board = await boardContext.newPage();
  });

  after(async () => {
    await browser?.close();
    await quietAgent?.stop();
    await gym?.stop();
    work.cleanup();
  });

  test('the screen shows a code; once a signed-in coach enters it on the hub, the board opens the running class by itself', async () => {
    await board.goto(`${base}/board/`);
    const codeShown = board.getByLabel(en('boardSignInCode'));
    await codeShown.waitFor({ timeout: STEP_MS });
    const userCode = (await codeShown.innerText()).trim();
    assert.match(userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    const verificationUri = (await board.locator('.board-signin__uri').innerText()).trim();
    assert.ok(verificationUri.startsWith(base), `the screen sends people to the hub: ${verificationUri}`);
    await expectAccessible(board, 'the board’s code screen');
    await screenshot(board, 'board-code');

    // The coach, on their phone, opens the address the screen shows and types the code.
    await confirmScreenCode(browser, base, coach, PASSWORD, { verificationUri, userCode }, STEP_MS);
    // The board polls at the provider's interval (5 s), then finds the one running run.
    await board.getByRole('heading', { name: 'Simulated spin' }).waitFor({ timeout: 30_000 });
    await board
      .getByRole('status', { name: en('boardConnection') })
      .getByText(en('boardConnectionLive'))
      .waitFor({ timeout: STEP_MS });
    await until('a tile per athlete', async () => (await board.locator('li.board-tile').count()) === athletes.length, STEP_MS, 100);
  });

  test('each tile shows the athlete’s name, the heart rate the strap sent, % of max, zone, effort and kcal; the heart rate changes', async () => {
    await until('every strap’s heart rate on the board', async () => (await tilesShown(board)).every((tile) => tile.heartRate !== undefined && !tile.quiet), STEP_MS, 100);
    const first = await tilesShown(board);
    const shownAt = Date.now();
    assert.deepEqual(first.map((tile) => tile.name).sort(), athletes.map((a) => a.name).sort());
    for (const athlete of athletes) {
      const tile = first.find((t) => t.name === athlete.name)!;
      const sent = await gym.storedHeartRate(athlete.strap!, shownAt - 10_000, shownAt + 1_000);
      assert.ok(
        sent.some((r) => Math.round(r.value) === tile.heartRate),
        `${athlete.name}'s ${tile.heartRate} bpm is among what the strap sent: ${sent.map((r) => r.value).join(' ')}`,
      );
      const max = maxHeartRateOf(athlete.profile, shownAt)!.bpm;
      assert.ok(Math.abs(tile.percent! - (tile.heartRate! / max) * 100) <= 1, `${athlete.name}: ${tile.percent} % of ${max}`);
      const zone = heartRateZone(tile.heartRate!, max);
      assert.equal(tile.zone, zone === 0 ? en('boardZoneRest') : en('boardZone', { zone: String(zone) }), `${athlete.name}'s zone at ${tile.heartRate} of ${max}`);
      assert.ok(tile.effort !== undefined && tile.effort >= 0, `${athlete.name}'s effort points`);
      assert.ok(tile.kcal !== undefined && tile.kcal >= 0, `${athlete.name}'s kcal`);
    }
    const watched = athletes[0]!;
    const before = first.find((t) => t.name === watched.name)!.heartRate;
    let after: number | undefined;
    await until(
      `${watched.name}'s heart rate to change on the board`,
      async () => {
        after = (await tilesShown(board)).find((t) => t.name === watched.name)?.heartRate;
        return after !== undefined && after !== before;
      },
      30_000,
      200,
    );
    const changedAt = Date.now();
    const sent = await gym.storedHeartRate(watched.strap!, changedAt - 10_000, changedAt + 1_000);
    assert.ok(
      sent.some((r) => Math.round(r.value) === after),
      `the new ${after} bpm is among what the strap sent: ${sent.map((r) => r.value).join(' ')}`,
    );
    await expectAccessible(board, 'the live board');
    await screenshot(board, 'board-1080p');
  });

  test('the sort order and the team view switch from the keyboard', async () => {
    const sort = board.getByLabel(en('boardSort'));
    // Tab through the header until the sort order has the focus, as someone with a keyboard would.
    await until(
      'the sort order to get the focus',
      async () => {
        if (await sort.evaluate((el) => el === document.activeElement)) return true;
        await board.keyboard.press('Tab');
        return false;
      },
      STEP_MS,
      0,
    );
    await board.keyboard.press('End');
    await until('the sort by calories', async () => (await sort.inputValue()) === 'kcal', STEP_MS, 50);
    await until(
      'the tiles ordered by calories, highest first',
      async () => {
        const kcal = (await tilesShown(board)).filter((tile) => !tile.quiet).map((tile) => tile.kcal ?? -1);
        return kcal.length > 1 && kcal.every((value, i) => i === 0 || value <= kcal[i - 1]!);
      },
      STEP_MS,
      100,
    );
    await board.keyboard.press('Home');
    await until('the sort by name', async () => (await sort.inputValue()) === 'name', STEP_MS, 50);
    await until(
      'the tiles in name order',
      async () => {
        const names = (await tilesShown(board)).map((tile) => tile.name);
        return names.join() === [...names].sort().join();
      },
      STEP_MS,
      100,
    );

    const team = board.getByRole('button', { name: en('boardViewTeam') });
    await board.keyboard.press('Tab');
    await board.keyboard.press('Tab');
    assert.ok(await team.evaluate((el) => el === document.activeElement), 'two tabs on, the team view button has the focus');
    await board.keyboard.press('Enter');
    await board.locator('.board-team').waitFor({ timeout: STEP_MS });
    assert.equal(await team.getAttribute('aria-pressed'), 'true');
    const lanes = await board.locator('section.board-lane').evaluateAll((sections) => sections.map((s) => s.getAttribute('aria-label')));
    assert.ok(lanes.length > 0 && lanes.every((label) => label !== null && label !== ''), `labelled zone lanes: ${lanes.join(', ')}`);
    assert.equal(await board.locator('.board-team li.board-tile').count(), athletes.length, 'every athlete in a lane');
    await expectAccessible(board, 'the board’s team view');
    await screenshot(board, 'board-team');

    const tiles = board.getByRole('button', { name: en('boardViewTiles') });
    await board.keyboard.press('Shift+Tab');
    assert.ok(await tiles.evaluate((el) => el === document.activeElement), 'back one tab, the tiles view button has the focus');
    await board.keyboard.press('Space');
    await board.locator('ul.board-grid').waitFor({ timeout: STEP_MS });
    assert.equal(await board.locator('.board-team').count(), 0);
  });

  test('at 4K the board fills the screen and stays accessible', async () => {
    await board.setViewportSize({ width: 3840, height: 2160 });
    try {
      await until('the grid laid out for 4K', async () => (await board.evaluate(() => window.innerWidth)) === 3840, STEP_MS, 50);
      const grid = await board.locator('ul.board-grid').boundingBox();
      assert.ok(grid !== null && grid.width > 3000, `the grid spans the screen: ${JSON.stringify(grid)}`);
      await expectAccessible(board, 'the board at 4K');
      await screenshot(board, 'board-4k');
    } finally {
      await board.setViewportSize({ width: 1920, height: 1080 });
    }
  });

  test('a strap that stops sending shows as quiet within quietAfterMs and one board tick; the others keep their figures', async (t) => {
    await until(`${quietAthlete.name}'s tile live`, async () => (await tilesShown(board)).find((t) => t.name === quietAthlete.name)?.quiet === false, STEP_MS, 100);
    await quietAgent.stop();
    const stored = await gym.storedHeartRate(quietAthlete.strap!, 0, Number.MAX_SAFE_INTEGER);
    const lastReading = Math.max(...stored.map((r) => r.ts));
    assert.ok(Date.now() - lastReading < QUIET_AFTER_MS, 'the strap sent until the agent stopped');
    let quietAt = 0;
    let others: TileFigures[] = [];
    await until(
      `${quietAthlete.name}'s tile to show no signal`,
      async () => {
        const shown = await tilesShown(board);
        if (shown.find((t) => t.name === quietAthlete.name)?.quiet !== true) return false;
        quietAt = Date.now();
        others = shown.filter((t) => t.name !== quietAthlete.name);
        return true;
      },
      QUIET_AFTER_MS + BOARD_TICK_MS + 10_000,
      50,
    );
    // Nothing reached the hub after the agent stopped: the last stored reading is the one the rule counts from.
    assert.equal(Math.max(...(await gym.storedHeartRate(quietAthlete.strap!, 0, Number.MAX_SAFE_INTEGER)).map((r) => r.ts)), lastReading);
    const took = quietAt - lastReading;
    t.diagnostic(`quiet on the board ${took} ms after the strap's last stored reading (quietAfterMs ${QUIET_AFTER_MS}, tick ${BOARD_TICK_MS})`);
    assert.ok(took > QUIET_AFTER_MS, `not quiet before ${QUIET_AFTER_MS} ms without a reading (${took} ms)`);
    assert.ok(took <= QUIET_AFTER_MS + BOARD_TICK_MS + QUIET_MARGIN_MS, `quiet ${took} ms after the last reading`);
    assert.ok(
      others.every((t) => !t.quiet && t.heartRate !== undefined),
      `the other straps still show: ${JSON.stringify(others)}`,
    );
    const tile = board.locator(`li.board-tile[aria-label="${quietAthlete.name}"]`);
    assert.equal(await tile.locator('.board-tile__quiet-label').innerText(), en('boardQuiet'));
    assert.equal(await tile.locator('.board-tile__hr').count(), 0, 'a quiet tile shows no stale heart rate');
    assert.match(await tile.locator('.board-tile__quiet small').innerText(), /^seen \d+ s ago$/);
    await expectAccessible(board, 'the board with a quiet strap');
    await screenshot(board, 'board-quiet');
  });
});
