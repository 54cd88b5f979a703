/**
 * Issue 11, test 3: a coach checks in athletes, lends a loaner strap and ends the class in the browser; the
 * athlete who wore the loaner then opens their session in the browser and sees its results.
 *
 * The setup (gym, accounts with passwords, the class and its bookings, the athletes' own straps, the gym's loaner
 * strap) is seeded through the API as test/web/pages.test.ts does; everything the coach and the athlete do goes
 * through the pages. What the pages claim is checked against the API (the roster says checked in, the session's
 * figures are the API's), so a page that only pretends fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { until } from '@pulsebridge/runtime';
import { startWebGym, withPassword } from './web-gym.ts';
import type { SessionView } from '../../hub/src/api/sessions-schemas.ts';
import { SESSION_SENSORS } from '../../hub/src/domain/sessions/collections.ts';
import { ClassGym, profileOf, runResults, simulatorOf, strapSimulator, type Athlete, type ClassInfo, type Person } from '../class-harness.ts';
import { tempDir } from '../harness.ts';
import { missingService } from '../services.ts';
import { chromiumMissing, expectAccessible, launchBrowser, screenshot, signInAs } from './browser.ts';
import { translator } from '../../web/src/i18n/index.ts';
import { shownResults } from '../../web/src/me/results.ts';
import { formatDuration } from '../../web/src/me/format.ts';
import type { Results } from '../../web/src/me/types.ts';

const skip = missingService(chromiumMissing());
const work = tempDir('web-coach-flow');
const GYM = 'gym-coach-flow';
const PASSWORD = 'correct horse battery staple 42';
const STEP_MS = 15_000;
const STRAPS = 3;
const CLASS_NAME = 'Loaner spin';
const LOANER_LABEL = 'Loaner 7';
/** How long readings flow after the loan before the coach ends the class. */
const FLOW_MS = 10_000;
const en = translator('en');

interface RosterItem {
  userId: string;
  checkedIn: boolean;
  sensors: { sensor: string; kind: string; label?: string }[];
}

/** The figures a definition list shows, label -> value, in order. */
async function figuresShown(page: Page, section: string): Promise<[string, string][]> {
  const list = page.getByRole('region', { name: section }).locator('dl.me-figures').first();
  const labels = await list.locator('dt').allInnerTexts();
  const values = await list.locator('dd').allInnerTexts();
  return labels.map((label, i) => [label.trim(), (values[i] ?? '').trim()]);
}

describe('a coach runs a class with a loaner strap in the browser; the athlete then sees the results', { skip, timeout: 300_000 }, () => {
  let gym: ClassGym;
  let base: string;
  let browser: Browser;
  let coach: Person & { email: string };
  let cls: ClassInfo;
  const athletes: (Athlete & { email: string })[] = [];
  let straps: string[];
  let runId = '';
  /** Set once the coach's test ended the class in the browser: the athlete's test reads its results. */
  let classEnded = false;

  before(async () => {
    ({ gym, base } = await startWebGym({
      dir: work.dir,
      gym: GYM,
      agentId: 'box-coach-flow',
      simulator: strapSimulator(STRAPS, 11),
      lateIntervalMs: 500,
    }));
    const password = await withPassword(gym.domain.identity, PASSWORD);
    const signingIn = async <P extends Person>(person: P): Promise<P & { email: string }> => ({ ...person, email: await password(person.id) });
    coach = await signingIn(await gym.person('Cora Coach', 'coach'));
    const now = Date.now();
    for (let i = 0; i < STRAPS; i++) athletes.push(await signingIn(await gym.athlete(`Athlete ${i + 1}`, profileOf(i, now))));
    straps = simulatorOf(strapSimulator(STRAPS, 11))
      .sensors()
      .map((s) => s.id);
    // Athletes 1 and 2 wear their own straps; athlete 3 has none, and the third strap is the gym's loaner.
    await gym.tapToPair(athletes[0]!, straps[0]!);
    await gym.tapToPair(athletes[1]!, straps[1]!);
    await gym.call('POST', '/gym-sensors', { token: coach.token, body: { gym: GYM, sensor: straps[2]!, kind: 'heart_rate', label: LOANER_LABEL }, expect: 201 });
    cls = await gym.createClass(CLASS_NAME, coach, 10);
    for (const athlete of athletes) await gym.call('POST', `${gym.occurrencePath(cls)}/bookings`, { token: athlete.token, body: {}, expect: 201 });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await gym?.stop();
    work.cleanup();
  });

  const roster = async (): Promise<RosterItem[]> => (await gym.call<{ items: RosterItem[] }>('GET', `${gym.occurrencePath(cls)}/roster`, { token: coach.token })).body.items;

  test('the coach starts the class, checks everyone in, lends the loaner to the athlete without a strap, and ends it; the results list every athlete', async () => {
    const { context, page } = await signInAs(browser, base, coach, PASSWORD, STEP_MS);
    try {
      await page
        .getByRole('navigation', { name: en('navMain') })
        .getByRole('link', { name: en('coachTodayTitle') })
        .click();
      await page.getByRole('main').getByRole('heading', { level: 1 }).waitFor({ timeout: STEP_MS });
      await expectAccessible(page, "today's classes");
      await screenshot(page, 'coach-flow-today');
      // The class starts 20 minutes from now; run within 20 minutes of midnight (the gym is on UTC) it is
      // tomorrow's, which Today rightly leaves out: then the coach opens its page by its address.
      if (new Date(cls.start).toISOString().slice(0, 10) === new Date().toISOString().slice(0, 10)) {
        const classLink = page.getByRole('link', { name: CLASS_NAME });
        await classLink.waitFor({ timeout: STEP_MS });
        await classLink.click();
      } else {
        await page.goto(`${base}/app/coach/classes/${encodeURIComponent(cls.id)}/${cls.startIso.replace('.000Z', 'Z')}`);
      }

      const main = page.getByRole('main');
      await main.getByRole('heading', { level: 1, name: CLASS_NAME }).waitFor({ timeout: STEP_MS });
      await main.getByRole('button', { name: en('coachStartButton') }).click();
      await main.getByText(en('coachStartConfirm', { name: CLASS_NAME })).waitFor({ timeout: STEP_MS });
      await expectAccessible(page, 'the start confirmation');
      await screenshot(page, 'coach-flow-confirm-start');
      await main.getByRole('button', { name: en('coachConfirmYes') }).click();
      await main.getByRole('button', { name: en('coachEndButton') }).waitFor({ timeout: STEP_MS });
      runId = `${cls.id}@${cls.start}`;
      assert.equal(
        (await gym.call<{ state: string }>('GET', `/class-runs/${encodeURIComponent(runId)}`, { token: coach.token })).body.state,
        'running',
        'the run the page started',
      );

      for (const athlete of athletes) {
        await main.getByRole('button', { name: en('coachCheckInButton', { name: athlete.name }) }).click();
        await main
          .getByRole('row', { name: new RegExp(athlete.name) })
          .getByText(/^Checked in at /)
          .waitFor({ timeout: STEP_MS });
      }
      await main.getByText(en('coachRosterCheckedIn', { checked: STRAPS, booked: STRAPS })).waitFor({ timeout: STEP_MS });
      assert.deepEqual(
        (await roster()).map((item) => [item.userId, item.checkedIn]),
        athletes.map((athlete) => [athlete.id, true]),
        'the roster as the API answers it: every athlete checked in',
      );
      await expectAccessible(page, 'the roster with everyone checked in');
      await screenshot(page, 'coach-flow-checked-in');

      const loanForm = main.getByRole('region', { name: en('coachLoanTitle') });
      await loanForm.getByLabel(en('coachLoanAthlete')).selectOption({ label: athletes[2]!.name });
      await loanForm.getByLabel(en('coachLoanStrap')).selectOption({ label: `${LOANER_LABEL} (${straps[2]!})` });
      const lentAt = Date.now();
      await loanForm.getByRole('button', { name: en('coachLoanButton') }).click();

      // Who wears which strap, as the roster table shows it and as the API answers. The only loaner is lent now, so
      // the form gives way to "no strap is free"; the confirmation of the loan stays.
      const strapCell = async (athlete: Athlete) =>
        (
          await main
            .getByRole('row', { name: new RegExp(athlete.name) })
            .getByRole('cell')
            .first()
            .innerText()
        ).trim();
      await until('the roster to show the loaner on athlete 3', async () => (await strapCell(athletes[2]!)).includes(en('coachStrapLoaner')), STEP_MS, 100);
      await loanForm.getByText(en('coachLoanNoStraps')).waitFor({ timeout: STEP_MS });
      assert.deepEqual(
        (await loanForm.getByRole('status').allInnerTexts()).map((text) => text.trim()),
        [en('coachLoanDone', { strap: LOANER_LABEL, name: athletes[2]!.name })],
        'the loan confirmed once the strap list reloaded',
      );
      const items = await roster();
      assert.deepEqual(
        items.map((item) => item.sensors.map((s) => [s.sensor, s.kind])),
        [[[straps[0]!, 'own']], [[straps[1]!, 'own']], [[straps[2]!, 'loaner']]],
        'the roster as the API answers it: who wears which strap',
      );
      for (const [i, athlete] of athletes.entries()) {
        const worn = items[i]!.sensors[0]!;
        const kind = en(worn.kind === 'loaner' ? 'coachStrapLoaner' : 'coachStrapOwn');
        assert.equal(await strapCell(athlete), `${worn.label ?? worn.sensor} (${kind})`, `the strap ${athlete.name} wears, as the roster shows it`);
      }
      await expectAccessible(page, 'the roster with the loaner lent');
      await screenshot(page, 'coach-flow-loaner');

      // Readings flow for a while, the loaner's too, before the class ends.
      await gym.storedUntil(straps, lentAt + FLOW_MS, 60_000);

      await main.getByRole('button', { name: en('coachEndButton') }).click();
      await main.getByText(en('coachEndConfirm', { name: CLASS_NAME })).waitFor({ timeout: STEP_MS });
      await main.getByRole('button', { name: en('coachConfirmYes') }).click();
      await main.getByText(en('coachStateEnded'), { exact: true }).waitFor({ timeout: STEP_MS });
      assert.equal((await gym.call<{ state: string }>('GET', `/class-runs/${encodeURIComponent(runId)}`, { token: coach.token })).body.state, 'ended', 'the run the page ended');

      // A row per athlete with the API's figures (duration, average and max heart rate, effort points, kcal): athlete
      // 3's heart rate is the loaner's. A late reading may have the hub compute a session again after the page loaded
      // its results: reload until the page and the API agree.
      const table = main
        .getByRole('region', { name: en('coachResultsTitle') })
        .getByRole('table')
        .first();
      const rowsShown = async () => {
        const rows: string[][] = [];
        for (const row of await table.locator('tbody tr').all()) rows.push((await row.locator('th, td').allInnerTexts()).map((text) => text.trim()));
        return rows;
      };
      let shownRows: string[][] = [];
      let apiRows: string[][] = [];
      await until(
        "the class results to show every athlete with the API's figures",
        async () => {
          const sessions = await runResults(gym, runId, coach);
          const byAthlete = new Map(sessions.map((session) => [session.athlete, session]));
          apiRows = athletes.map((athlete) => {
            const figures = byAthlete.get(athlete.id)?.results as unknown as Results | undefined;
            const heartRate = figures?.heartRate;
            const round = (value: number | undefined) => (value === undefined ? '–' : new Intl.NumberFormat('en').format(Math.round(value)));
            return [
              athlete.name,
              figures === undefined ? '–' : formatDuration(figures.durationS),
              round(heartRate?.averageBpm),
              round(heartRate?.maxBpm),
              round(heartRate?.effortPoints),
              round(figures?.calories.kcal),
            ];
          });
          shownRows = (await rowsShown()).map((cells) => cells.slice(0, 6)).sort((a, b) => a[0]!.localeCompare(b[0]!));
          if (JSON.stringify(shownRows) === JSON.stringify(apiRows)) return true;
          await page.reload();
          await table.waitFor({ timeout: STEP_MS });
          return false;
        },
        30_000,
        200,
      ).catch((err: unknown) => {
        throw new Error(`shown ${JSON.stringify(shownRows)}, the API's ${JSON.stringify(apiRows)}`, { cause: err });
      });
      for (const row of apiRows) assert.match(row[2]!, /^\d+$/, `${row[0]}'s average heart rate in the results`);
      await expectAccessible(page, 'the class results');
      await screenshot(page, 'coach-flow-results');
      classEnded = true;
    } finally {
      await context.close();
    }
  });

  test("the athlete who wore the loaner opens the class session and sees the API's results and a heart-rate chart", async () => {
    assert.ok(classEnded, 'the coach ended the class in the previous test');
    const athlete = athletes[2]!;
    const sessions = (await gym.call<{ items: SessionView[] }>('GET', '/me/sessions?limit=100', { token: athlete.token })).body.items;
    const classSession = sessions.find((s) => s.run === runId);
    assert.ok(classSession !== undefined, "athlete 3's session of the run");

    const { context, page } = await signInAs(browser, base, athlete, PASSWORD, STEP_MS);
    try {
      await page
        .getByRole('navigation', { name: en('navMain') })
        .getByRole('link', { name: en('meNavSessions') })
        .click();
      const row = page.getByRole('row').filter({ hasText: CLASS_NAME });
      await row.waitFor({ timeout: STEP_MS });
      await expectAccessible(page, 'my sessions');
      await screenshot(page, 'coach-flow-my-sessions');
      await row.getByRole('link').click();
      await page.waitForURL((url) => url.pathname === `/app/me/sessions/${encodeURIComponent(classSession.id)}`, { timeout: STEP_MS });
      await page.getByRole('heading', { level: 1, name: CLASS_NAME }).waitFor({ timeout: STEP_MS });

      // The session may be computed again once more late readings arrive: compare against the API's answer of the
      // same revision, reloading the page until both agree.
      let api: SessionView | undefined;
      let shown: [string, string][] = [];
      let expected: [string, string][] = [];
      await until(
        "the session page to show the API's results",
        async () => {
          api = (await gym.call<SessionView>('GET', `/sessions/${encodeURIComponent(classSession.id)}`, { token: athlete.token })).body;
          if (api.state !== 'completed' || api.results === undefined) return false;
          expected = shownResults(en, 'en', api, api.results as unknown as Results).figures.map((f) => [en(f.label), f.value]);
          const section = page.getByRole('region', { name: en('meResults') });
          if ((await section.count()) === 0) {
            await page.reload();
            await page.getByRole('heading', { level: 1, name: CLASS_NAME }).waitFor({ timeout: STEP_MS });
            return false;
          }
          shown = await figuresShown(page, en('meResults'));
          if (JSON.stringify(shown) === JSON.stringify(expected)) return true;
          await page.reload();
          await page.getByRole('region', { name: en('meResults') }).waitFor({ timeout: STEP_MS });
          return false;
        },
        30_000,
        200,
      ).catch((err: unknown) => {
        throw new Error(`shown ${JSON.stringify(shown)}, the API's ${JSON.stringify(expected)}`, { cause: err });
      });
      const results = api!.results as unknown as Results;
      // The loaner's readings are athlete 3's: their session has a heart rate, from the loaner and nothing else.
      assert.ok(results.heartRate !== undefined, "athlete 3's session has a heart rate (the loaner's readings)");
      const used = await gym.domain.documents.collection(SESSION_SENSORS).find({ session: classSession.id });
      assert.deepEqual(
        used.map((binding) => binding.sensor),
        [straps[2]!],
        "the sensors athlete 3's session used: the loaner",
      );
      const figure = (label: string) => shown.find(([l]) => l === en(label as never))?.[1];
      assert.equal(figure('meAverageHeartRate'), `${Math.round(results.heartRate.averageBpm)} bpm`);
      assert.equal(figure('meMaxHeartRate'), `${Math.round(results.heartRate.maxBpm)} bpm`);
      assert.ok(results.durationS > 0);
      const seconds = Math.round(results.durationS);
      assert.equal(figure('meDuration'), `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`);
      assert.equal(figure('meEffortPoints'), new Intl.NumberFormat('en').format(Math.round(results.heartRate.effortPoints)));
      if (results.calories.kcal !== undefined) assert.equal(figure('meCalories'), `${Math.round(results.calories.kcal)} kcal`);

      const chart = page.getByRole('img', { name: en('meChartHeartRate') });
      await chart.locator('canvas').first().waitFor({ timeout: STEP_MS });
      assert.ok((await chart.locator('.uplot canvas').count()) > 0, 'the heart-rate chart is drawn by uPlot');
      await expectAccessible(page, "athlete 3's class session");
      await screenshot(page, 'coach-flow-athlete-session');
    } finally {
      await context.close();
    }
  });
});
