/**
 * No page of one gym shows another gym's data: two gyms on one hub, ALPHA (a real agent with straps, a running
 * class, equipment, a webhook, members and athletes' sessions) and BRAVO (the same kinds of data, named BRAVO).
 * BRAVO's admin, coach and athlete each open every page their navigation lists, then ALPHA's detail addresses
 * directly (an occurrence, a webhook's deliveries, a session), and BRAVO's board is pointed at ALPHA's run: no
 * page's text holds any of ALPHA's markers (names with "alpha", ids). ALPHA's own users opening the same
 * addresses do see them, so the check can fail. axe-core and a screenshot (isolation-*) on every page. Below the
 * pages, the API requests they make, sent about ALPHA's things with BRAVO's tokens, are refused (403/404) without
 * ALPHA's data, and succeed with ALPHA's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { until } from '@pulsebridge/runtime';
import { startWebGym, withPassword } from './web-gym.ts';
import { ClassGym, profileOf, simulatorOf, startRun, strapSimulator, type Athlete, type ClassInfo, type Person } from '../class-harness.ts';
import { tempDir } from '../harness.ts';
import { missingService } from '../services.ts';
import { chromiumMissing, expectAccessible, launchBrowser, screenshot, signInAs } from './browser.ts';
import { DeviceSignIn } from '../../web/src/auth/device.ts';
import { ME_ROUTES } from '../../web/src/me/routes.ts';
import { COACH_ROUTES } from '../../web/src/coach/routes.ts';
import { ADMIN_ROUTES } from '../../web/src/admin/routes.ts';
import { hasRole, type Me, type Role } from '../../web/src/lib/context.tsx';
import { translator } from '../../web/src/i18n/index.ts';
import { MemoryStorage } from '../../web/src/lib/memory-storage.ts';

const skip = missingService(chromiumMissing());
const work = tempDir('web-isolation');
const ALPHA = 'gym-alpha';
const BRAVO = 'gym-bravo';
const PASSWORD = 'correct horse battery staple 42';
const STEP_MS = 15_000;
const STRAPS = 2;
const en = translator('en');
/** What a page says when the thing asked for is not there or not the user's to see. */
const NOT_THERE = new RegExp([en('notFound'), en('forbidden'), en('coachErrorNotFound')].map((text) => text.replace(/[.()]/g, '\\$&')).join('|'));

type Key = 'admin' | 'coach' | 'athlete';

interface Account extends Person {
  email: string;
  role: Role;
}

/** What one gym holds, as the pages could show it. */
interface GymData {
  id: string;
  name: string;
  accounts: Record<Key, Account>;
  cls: ClassInfo;
  webhook: string;
  session: string;
  run?: string;
  /** Everything of this gym another gym's pages must never show: "alpha" in any case, and its ids. */
  markers: string[];
}

describe('no page of one gym shows another gym’s data to the other gym’s accounts', { skip, timeout: 600_000 }, () => {
  let gym: ClassGym;
  let base: string;
  let browser: Browser;
  const gyms: Partial<Record<'alpha' | 'bravo', GymData>> = {};

  before(async () => {
    ({ gym, base } = await startWebGym({
      dir: work.dir,
      gym: ALPHA,
      agentId: 'box-alpha',
      simulator: strapSimulator(STRAPS, 11),
      lateIntervalMs: 500,
    }));
    const password = await withPassword(gym.domain.identity, PASSWORD);
    const member = async (gymId: string, name: string, role: Role): Promise<Account> => {
      const email = `${name.toLowerCase().replace(/\W+/g, '.')}@example.com`;
      const user = await gym.domain.identity.createUser({ email, displayName: name });
      await gym.call('PUT', `/gyms/${gymId}/members/${user.id}/roles/${role}`);
      await password(user.id);
      return { id: user.id, name, email, role, token: await gym.tokenFor(user.id) };
    };

    const seed = async (gymId: string, marker: 'Alpha' | 'Bravo', agent: string): Promise<GymData> => {
      const upper = marker.toUpperCase();
      const name = `${upper} Fitness`;
      await gym.call('PUT', `/gyms/${gymId}`, { body: { name, timeZone: 'UTC' } });
      if (agent !== 'box-alpha') await gym.domain.agents.create(agent, gymId);
      const accounts: Record<Key, Account> = {
        admin: await member(gymId, `${marker} Admin Greta`, 'gym_admin'),
        coach: await member(gymId, `${marker} Coach Cora`, 'coach'),
        athlete: await member(gymId, `${marker} Athlete Ada`, 'athlete'),
      };
      const other = await member(gymId, `${marker} Athlete Bo`, 'athlete');
      for (const [i, athlete] of [accounts.athlete, other].entries()) {
        await gym.call('PUT', '/me/profile', {
          token: athlete.token,
          body: { displayName: athlete.name, resultsVisibility: 'gym', boardVisibility: 'name', ...profileOf(i, Date.now()) },
        });
      }
      const start = Math.ceil((Date.now() + 20 * 60_000) / 60_000) * 60_000;
      const { body: created } = await gym.call<{ id: string }>('POST', '/classes', {
        body: {
          gym: gymId,
          name: `${upper} Spin`,
          description: `${upper} class description`,
          room: `${upper} studio`,
          instructors: [accounts.coach.id],
          capacity: 10,
          start: new Date(start).toISOString().slice(0, 16),
          durationMinutes: 60,
          bookingOpensDays: 7,
          cancellationWindowMinutes: 0,
          waitlistLimit: 5,
        },
      });
      const cls: ClassInfo = { id: created.id, start, startIso: new Date(start).toISOString() };
      for (const athlete of [accounts.athlete, other]) {
        await gym.call('POST', `/classes/${cls.id}/occurrences/${cls.startIso}/bookings`, { token: athlete.token, body: {}, expect: 201 });
      }
      const { body: type } = await gym.call<{ id: string }>('POST', '/equipment-types', {
        body: { gym: gymId, name: `${upper} rower model`, kind: 'rower', attributesSchema: { type: 'object' } },
      });
      const { body: equipment } = await gym.call<{ id: string }>('POST', '/equipment', {
        body: { gym: gymId, name: `${upper} Rower 1`, type: type.id, serial: `${upper}-SN-1`, location: `${upper} floor` },
      });
      const { body: webhook } = await gym.call<{ id: string }>('POST', '/webhooks', {
        body: { gym: gymId, url: `https://${marker.toLowerCase()}-hooks.example.com/${upper}`, events: ['booking.created', 'session.completed'] },
      });
      const { body: session } = await gym.call<{ id: string }>('POST', '/me/sessions', {
        token: accounts.athlete.token,
        body: { gym: gymId, name: `${upper} morning ride` },
        expect: 201,
      });
      await gym.call('POST', `/me/sessions/${session.id}/end`, { token: accounts.athlete.token });
      const people = [...Object.values(accounts), other];
      return {
        id: gymId,
        name,
        accounts,
        cls,
        webhook: webhook.id,
        session: session.id,
        markers: [marker.toLowerCase(), gymId, agent, cls.id, type.id, equipment.id, webhook.id, session.id, ...people.flatMap((p) => [p.id, p.email])],
      };
    };

    const alpha = await seed(ALPHA, 'Alpha', 'box-alpha');
    const bravo = await seed(BRAVO, 'Bravo', 'box-bravo');
    // ALPHA's athletes wear the agent's straps and its class runs: live and stored data to leak, if anything leaks.
    const straps = simulatorOf(strapSimulator(STRAPS, 11))
      .sensors()
      .map((s) => s.id);
    const ada: Athlete = { ...alpha.accounts.athlete, profile: profileOf(0, Date.now()) };
    await gym.tapToPair(ada, straps[0]!);
    await gym.storedUntil([straps[0]!], Date.now(), 30_000);
    const run = await startRun(gym, alpha.cls, alpha.accounts.coach);
    alpha.run = run.id;
    alpha.markers.push(run.id, ...straps);
    gyms.alpha = alpha;
    gyms.bravo = bravo;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await gym?.stop();
    work.cleanup();
  });

  /** The page's whole visible text once it loaded (no "Loading" left). */
  async function loaded(page: Page, url: string): Promise<string> {
    await page.goto(url);
    await page.getByRole('main').waitFor({ timeout: STEP_MS });
    await until(`${url} to load`, async () => (await page.getByText(en('loading'), { exact: true }).count()) === 0, STEP_MS, 100);
    return page.evaluate(() => document.body.innerText);
  }

  function leaked(text: string, data: GymData): string[] {
    const lower = text.toLowerCase();
    return data.markers.filter((marker) => lower.includes(marker.toLowerCase()));
  }

  function detailPaths(data: GymData): { occurrence: string; webhook: string; session: string } {
    return {
      occurrence: `/app/coach/classes/${encodeURIComponent(data.cls.id)}/${encodeURIComponent(data.cls.startIso)}`,
      webhook: `/app/admin/webhooks/${encodeURIComponent(data.webhook)}`,
      session: `/app/me/sessions/${encodeURIComponent(data.session)}`,
    };
  }

  for (const key of ['admin', 'coach', 'athlete'] as const) {
    test(`BRAVO's ${key} sees none of ALPHA's data on every page of the navigation, nor on ALPHA's addresses opened directly`, async () => {
      const alpha = gyms.alpha!;
      const bravo = gyms.bravo!;
      const account = bravo.accounts[key];
      const me: Me = { id: account.id, displayName: account.name, email: account.email, gyms: [{ id: BRAVO, name: bravo.name, roles: [account.role] }] };
      const allowed = [...ME_ROUTES, ...COACH_ROUTES, ...ADMIN_ROUTES].filter((route) => route.nav && (route.roles.length === 0 || hasRole(me, BRAVO, route.roles)));
      assert.ok(allowed.length > 0);
      const { context, page } = await signInAs(browser, base, account, PASSWORD, STEP_MS);
      try {
        // Where BRAVO has data of its own, wait for it: a page that loaded nothing would prove nothing.
        const own: Record<string, string> = {
          '/admin/agents': 'box-bravo',
          '/admin/equipment': 'BRAVO Rower 1',
          '/admin/classes': 'BRAVO Spin',
          '/admin/members': 'Bravo Coach Cora',
          '/admin/webhooks': 'https://bravo-hooks.example.com/BRAVO',
          ...(key === 'athlete' ? { '/me/sessions': 'BRAVO morning ride' } : {}),
        };
        for (const route of allowed) {
          await loaded(page, `${base}/app${route.path}`);
          const mine = own[route.path];
          if (mine !== undefined) {
            await until(`${route.path} to show BRAVO's ${mine}`, async () => (await page.getByRole('main').innerText()).includes(mine), STEP_MS, 100);
          }
          const text = await page.evaluate(() => document.body.innerText);
          assert.deepEqual(leaked(text, alpha), [], `${route.path} as BRAVO's ${key} shows ALPHA's data:\n${text}`);
          await expectAccessible(page, `${route.path} as BRAVO's ${key}`);
          await screenshot(page, `isolation-bravo-${key}${route.path}`);
        }
        for (const [what, path] of Object.entries(detailPaths(alpha))) {
          const text = await loaded(page, `${base}${path}`);
          // The id typed in the address may be repeated in the refusal: the user gave it, the hub did not.
          const given = decodeURIComponent(path);
          assert.deepEqual(
            leaked(text, alpha).filter((marker) => !given.includes(marker)),
            [],
            `ALPHA's ${what} (${path}) as BRAVO's ${key}:\n${text}`,
          );
          const main = await page.getByRole('main').innerText();
          assert.match(main, NOT_THERE, `ALPHA's ${what} as BRAVO's ${key} says it is not there:\n${main}`);
          await expectAccessible(page, `ALPHA's ${what} as BRAVO's ${key}`);
          await screenshot(page, `isolation-bravo-${key}-alpha-${what}`);
        }
      } finally {
        await context.close();
      }
    });
  }

  test('the API the pages read answers BRAVO’s users about ALPHA’s things with a refusal that carries none of ALPHA’s data', async () => {
    const alpha = gyms.alpha!;
    const bravo = gyms.bravo!;
    const run = encodeURIComponent(alpha.run!);
    const occurrence = `/classes/${alpha.cls.id}/occurrences/${alpha.cls.startIso}`;
    const requests: [Key, string][] = [
      ['admin', `/agents?gym=${ALPHA}`],
      ['admin', '/agents/box-alpha'],
      ['admin', `/readings?gym=${ALPHA}&agent=box-alpha&sensor=${encodeURIComponent(alpha.markers.at(-1)!)}&metric=heart_rate&from=${Date.now() - 3_600_000}`],
      ['admin', `/webhooks/${alpha.webhook}`],
      ['admin', `/webhooks/${alpha.webhook}/deliveries`],
      ['admin', `/webhooks?gym=${ALPHA}`],
      ['admin', `/gyms/${ALPHA}/members`],
      ['admin', `/equipment?gym=${ALPHA}`],
      ['coach', `/classes/${alpha.cls.id}`],
      ['coach', `/classes/${alpha.cls.id}/occurrences?from=${new Date(alpha.cls.start - 3_600_000).toISOString()}&to=${new Date(alpha.cls.start + 3_600_000).toISOString()}`],
      ['coach', `${occurrence}/roster`],
      ['coach', `/class-runs/${run}/leaderboard?metric=effortPoints`],
      ['coach', `/gym-sensors?gym=${ALPHA}`],
      ['coach', `/gyms/${ALPHA}/bindings`],
      ['coach', `/gyms/${ALPHA}`],
      ['coach', `/class-runs/${run}`],
      ['coach', `/class-runs/${run}/results`],
      ['coach', `/class-runs/${run}/board/snapshot`],
      ['coach', `/gyms/${ALPHA}/class-runs`],
      ['athlete', `/me/sessions/${alpha.session}`],
      ['athlete', `/sessions/${alpha.session}`],
      ['athlete', `/sessions/${alpha.session}/streams`],
      ['athlete', `/classes?gym=${ALPHA}`],
    ];
    const answers: string[] = [];
    for (const [key, path] of requests) {
      const response = await fetch(`${gym.baseUrl}${path}`, { headers: { Authorization: `Bearer ${bravo.accounts[key].token}` } });
      const text = await response.text();
      const given = decodeURIComponent(path);
      const shown = leaked(text, alpha).filter((marker) => !given.includes(marker));
      // 403 (not a member of that gym) or 404 (no such thing, as far as BRAVO may know): never 2xx, never 401.
      if (![403, 404].includes(response.status) || shown.length > 0) answers.push(`GET ${path} as BRAVO's ${key}: ${response.status} ${text.slice(0, 300)}`);
    }
    assert.deepEqual(answers, [], 'ALPHA’s data answered to BRAVO’s users');
    // The same requests as ALPHA's users succeed: the refusals above are about the gym, not a wrong address.
    const refusedToAlpha: string[] = [];
    for (const [key, path] of requests) {
      const response = await fetch(`${gym.baseUrl}${path}`, { headers: { Authorization: `Bearer ${alpha.accounts[key].token}` } });
      if (!response.ok) refusedToAlpha.push(`GET ${path} as ALPHA's ${key}: ${response.status} ${(await response.text()).slice(0, 300)}`);
    }
    assert.deepEqual(refusedToAlpha, []);
  });

  test('ALPHA’s own users see ALPHA’s data on those pages and addresses (the markers would be found)', async () => {
    const alpha = gyms.alpha!;
    const paths = detailPaths(alpha);
    const checks: [Key, string, string][] = [
      ['admin', '/app/admin/agents', 'box-alpha'],
      ['admin', '/app/admin/equipment', 'ALPHA Rower 1'],
      ['admin', '/app/admin/classes', 'ALPHA Spin'],
      ['admin', '/app/admin/members', 'Alpha Coach Cora'],
      ['admin', '/app/admin/webhooks', 'https://alpha-hooks.example.com/ALPHA'],
      ['admin', paths.webhook, 'https://alpha-hooks.example.com/ALPHA'],
      ['coach', paths.occurrence, 'ALPHA Spin'],
      ['athlete', '/app/me/sessions', 'ALPHA morning ride'],
      ['athlete', paths.session, 'ALPHA morning ride'],
    ];
    for (const key of ['admin', 'coach', 'athlete'] as const) {
      const { context, page } = await signInAs(browser, base, alpha.accounts[key], PASSWORD, STEP_MS);
      try {
        for (const [who, path, marker] of checks.filter(([who]) => who === key)) {
          await loaded(page, `${base}${path}`);
          await until(`${path} as ALPHA's ${who} to show ${marker}`, async () => (await page.getByRole('main').innerText()).includes(marker), STEP_MS, 100);
          await expectAccessible(page, `${path} as ALPHA's ${who}`);
          await screenshot(page, `isolation-alpha-${who}${path.replace(/^\/app/, '')}`);
        }
      } finally {
        await context.close();
      }
    }
  });

  /** A board signed in through the device flow, confirmed by `coach` in the browser: its stored tokens. */
  async function boardTokens(coach: Account): Promise<[string, string][]> {
    const storage = new MemoryStorage();
    const board = new DeviceSignIn(base, storage);
    const code = await board.start();
    const { context, page } = await signInAs(browser, base, coach, PASSWORD, STEP_MS);
    try {
      await page.goto(code.verificationUriComplete);
      await page.getByRole('button', { name: 'Yes, sign in the screen' }).click({ timeout: STEP_MS });
      await page.getByRole('button', { name: 'Continue', exact: true }).click({ timeout: STEP_MS });
      await page.getByRole('heading', { name: 'The screen is signed in' }).waitFor({ timeout: STEP_MS });
    } finally {
      await context.close();
    }
    await board.poll();
    assert.equal(board.signedIn, true);
    return storage.entries();
  }

  async function openBoard(tokens: [string, string][], gymId: string, run: string): Promise<{ page: Page; close(): Promise<void> }> {
    const context = await browser.newContext({ locale: 'en-US' });
    await context.addInitScript((items: [string, string][]) => {
      for (const [key, value] of items) localStorage.setItem(key, value);
    }, tokens);
    const page = await context.newPage();
    await page.goto(`${base}/board/?gym=${encodeURIComponent(gymId)}&run=${encodeURIComponent(run)}`);
    return { page, close: () => context.close() };
  }

  test('BRAVO’s board pointed at ALPHA’s running class shows none of it; ALPHA’s board shows it', async () => {
    const alpha = gyms.alpha!;
    const bravo = gyms.bravo!;
    const bravoBoard = await openBoard(await boardTokens(bravo.accounts.coach), ALPHA, alpha.run!);
    try {
      const { page } = bravoBoard;
      await page.getByRole('main').waitFor({ timeout: STEP_MS });
      // The board settles on BRAVO's choice (BRAVO runs no class); it never opens ALPHA's run.
      await page.getByText(en('boardNoRunning')).waitFor({ timeout: STEP_MS });
      const text = await page.evaluate(() => document.body.innerText);
      assert.deepEqual(leaked(text, alpha), [], `BRAVO's board on ALPHA's run:\n${text}`);
      await expectAccessible(page, "BRAVO's board on ALPHA's run");
      await screenshot(page, 'isolation-bravo-board-alpha-run');
    } finally {
      await bravoBoard.close();
    }
    const alphaBoard = await openBoard(await boardTokens(alpha.accounts.coach), ALPHA, alpha.run!);
    try {
      const { page } = alphaBoard;
      await until("ALPHA's board to show its class", async () => (await page.evaluate(() => document.body.innerText)).includes('ALPHA Spin'), STEP_MS, 100);
      await expectAccessible(page, "ALPHA's board on its run");
      await screenshot(page, 'isolation-alpha-board');
    } finally {
      await alphaBoard.close();
    }
  });
});
