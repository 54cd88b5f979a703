/**
 * Every page of the web app, as each role opens it, on a hub fed by a simulated class (an agent with straps, a
 * class with bookings and a running class): an athlete, a coach and a gym admin sign in through the hub's page;
 * their navigation lists exactly the `nav` routes of ME_ROUTES, COACH_ROUTES and ADMIN_ROUTES their role opens,
 * and each of those pages loads without an error shown, passes axe-core and is screenshotted (.tmp/web-screenshots/). The routes are
 * read from the areas' lists, so pages added to them are checked without touching this test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { until } from '@pulsebridge/runtime';
import { startWebGym, withPassword } from './web-gym.ts';
import { ClassGym, profileOf, simulatorOf, startRun, strapSimulator, type Person } from '../class-harness.ts';
import { tempDir } from '../harness.ts';
import { missingService } from '../services.ts';
import { chromiumMissing, expectAccessible, launchBrowser, screenshot, signInAs } from './browser.ts';
import { ME_ROUTES } from '../../web/src/me/routes.ts';
import { COACH_ROUTES } from '../../web/src/coach/routes.ts';
import { ADMIN_ROUTES } from '../../web/src/admin/routes.ts';
import { hasRole, type Me, type Role } from '../../web/src/lib/context.tsx';
import { translator } from '../../web/src/i18n/index.ts';

const skip = missingService(chromiumMissing());
const work = tempDir('web-pages');
const GYM = 'gym-web';
const PASSWORD = 'correct horse battery staple 42';
const STEP_MS = 15_000;
const STRAPS = 3;
const en = translator('en');

interface Account extends Person {
  email: string;
  role: Role;
}

describe('every page of the web app, by role, on a gym fed by a simulated class', { skip, timeout: 300_000 }, () => {
  let gym: ClassGym;
  let base: string;
  let browser: Browser;
  const accounts: Partial<Record<'athlete' | 'coach' | 'admin', Account>> = {};

  before(async () => {
    ({ gym, base } = await startWebGym({
      dir: work.dir,
      gym: GYM,
      agentId: 'box-web',
      simulator: strapSimulator(STRAPS, 7),
      lateIntervalMs: 500,
    }));
    const password = await withPassword(gym.domain.identity, PASSWORD);
    const account = async (person: Person, role: Role): Promise<Account> => ({ ...person, role, email: await password(person.id) });
    const coach = await gym.person('Cora Coach', 'coach');
    accounts.coach = await account(coach, 'coach');
    const admin = await gym.domain.identity.createUser({ email: 'greta.admin@example.com', displayName: 'Greta Admin' });
    await gym.call('PUT', `/gyms/${GYM}/members/${admin.id}/roles/gym_admin`);
    accounts.admin = await account({ id: admin.id, name: 'Greta Admin', token: await gym.tokenFor(admin.id) }, 'gym_admin');
    const now = Date.now();
    const athletes = [];
    for (let i = 0; i < STRAPS; i++) athletes.push(await gym.athlete(`Athlete ${i + 1}`, profileOf(i, now)));
    accounts.athlete = await account(athletes[0]!, 'athlete');
    // Their straps, a class they booked, and the class running: the pages have live and stored data to show.
    const straps = simulatorOf(strapSimulator(STRAPS, 7))
      .sensors()
      .map((s) => s.id);
    await Promise.all(athletes.map((athlete, i) => gym.tapToPair(athlete, straps[i]!)));
    const cls = await gym.createClass('Simulated spin', coach, 10);
    for (const athlete of athletes) await gym.call('POST', `${gym.occurrencePath(cls)}/bookings`, { token: athlete.token, body: {}, expect: 201 });
    await gym.storedUntil(straps, Date.now(), 30_000);
    await startRun(gym, cls, coach);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await gym?.stop();
    work.cleanup();
  });

  for (const key of ['athlete', 'coach', 'admin'] as const) {
    test(`the ${key}'s navigation lists exactly the pages the role opens; each loads, passes axe-core and is screenshotted`, async () => {
      const account = accounts[key]!;
      const me: Me = { id: account.id, displayName: account.name, email: account.email, gyms: [{ id: GYM, name: 'Class test gym', roles: [account.role] }] };
      const allowed = [...ME_ROUTES, ...COACH_ROUTES, ...ADMIN_ROUTES].filter((route) => route.nav && (route.roles.length === 0 || hasRole(me, GYM, route.roles)));
      const { context, page } = await signInAs(browser, base, account, PASSWORD, STEP_MS);
      try {
        await expectAccessible(page, `the home page as ${key}`);
        await screenshot(page, `${key}-home`);
        const links = page.getByRole('navigation', { name: en('navMain') }).getByRole('link');
        const shown = allowed.length === 0 ? [] : (await links.allInnerTexts()).map((text) => text.trim());
        assert.deepEqual(
          shown,
          allowed.map((route) => en(route.title)),
        );
        for (const route of allowed) {
          await page.goto(`${base}/app${route.path}`);
          await page.getByRole('main').waitFor({ timeout: STEP_MS });
          await until(`${route.path} to load`, async () => (await page.getByText(en('loading'), { exact: true }).count()) === 0, STEP_MS, 100);
          // A page that loaded but shows a refusal (a scope or role the app lacks) is a failure, not a page.
          const alerts = (await page.getByRole('alert').allInnerTexts()).map((text) => text.trim()).filter((text) => text !== '');
          assert.deepEqual(alerts, [], `${route.path} as ${key} shows an error`);
          if (route.path === '/admin/agents') {
            // The simulated straps' signal reaches the page through the agent's status (every 10 s) and the agents API.
            const signal = page.getByText(/^-\d+ dBm, (strong|fair|weak)$/);
            await until('a strap signal on the agents page', async () => (await signal.count()) > 0, 2 * STEP_MS, 250);
          }
          await expectAccessible(page, `${route.path} as ${key}`);
          await screenshot(page, `${key}${route.path}`);
        }
      } finally {
        await context.close();
      }
    });
  }
});
