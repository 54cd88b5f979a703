/**
 * The web app's shell in Debian's chromium against a real hub serving a fresh build: sign-in through the hub's
 * own sign-in page (code + PKCE), a reload that stays signed in, sign-out, the language and theme switches, the
 * not-found and forbidden pages, axe-core and a screenshot of each, and the board's device sign-in confirmed by
 * a signed-in user. Every page of every role, with a simulated class: pages.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { until } from '@pulsebridge/runtime';
import { buildWeb } from '../../scripts/build-web.ts';
import { loadHubConfig } from '../../hub/src/config.ts';
import { Hub } from '../../hub/src/hub.ts';
import { hashPassword, PASSWORD_PARAMS } from '../../hub/src/identity/passwords.ts';
import { freePort } from '../../hub/test/broker/mosquitto-harness.ts';
import { clientsWithTestService } from '../../hub/test/service-token.ts';
import { platformToken } from '../../hub/test/test-hub.ts';
import { missingService } from '../services.ts';
import { chromiumMissing, expectAccessible, launchBrowser, screenshot, signInAs } from './browser.ts';
import { DeviceSignIn } from '../../web/src/auth/device.ts';
import { COACH_ROUTES } from '../../web/src/coach/routes.ts';
import { ADMIN_ROUTES } from '../../web/src/admin/routes.ts';
import { hasRole, type Me, type Role } from '../../web/src/lib/context.tsx';
import { translator } from '../../web/src/i18n/index.ts';
import { MemoryStorage } from '../../web/src/lib/memory-storage.ts';

const skip = missingService(chromiumMissing());
const PASSWORD = 'correct horse battery staple 42';
const GYM = 'gym-a';
const STEP_MS = 15_000;
const en = translator('en');
const ru = translator('ru');

interface Person {
  id: string;
  email: string;
  name: string;
  role: Role;
}

describe('the web app shell in chromium', { skip, timeout: 240_000 }, () => {
  let dir: string;
  let hub: Hub;
  let base: string;
  let browser: Browser;
  const people: Record<'athlete' | 'coach' | 'admin', Person> = {} as never;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pb-web-shell-'));
    const webDir = join(dir, 'web');
    await buildWeb({ outDir: webDir, quiet: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    hub = new Hub(
      loadHubConfig({
        // People sign in with their password only: second factors have their own tests (hub/test/oidc).
        overrides: { identity: { issuer: base, clients: clientsWithTestService(), secondFactor: { requiredForRoles: [] } }, web: { enabled: true, dir: webDir } },
        env: { PB_HUB_HUB__DATA_DIR: join(dir, 'hub'), PB_HUB_HTTP__HOST: '127.0.0.1', PB_HUB_HTTP__PORT: String(port), PB_HUB_MQTT__HOST: '127.0.0.1', PB_HUB_MQTT__PORT: '0' },
      }),
      { log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) },
    );
    await hub.start();
    const admin = await platformToken(hub);
    const put = await fetch(`${base}/api/v1/gyms/${GYM}`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Gym A', timeZone: 'UTC' }),
    });
    assert.ok(put.ok, await put.text());
    const identity = hub.domain!.identity;
    const hash = await hashPassword(PASSWORD);
    for (const [key, name, role] of [
      ['athlete', 'Ada Athlete', 'athlete'],
      ['coach', 'Cora Coach', 'coach'],
      ['admin', 'Greta Admin', 'gym_admin'],
    ] as const) {
      const email = `${key}@example.com`;
      const user = await identity.createUser({ email, displayName: name });
      await identity.setPassword(user.id, { hash, paramsVersion: PASSWORD_PARAMS.version });
      await identity.addMembership({ userId: user.id, gym: GYM, role });
      people[key] = { id: user.id, email, name, role };
    }
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signIn(person: Person): Promise<{ context: BrowserContext; page: Page }> {
    const signedIn = await signInAs(browser, base, person, PASSWORD, STEP_MS);
    assert.match(signedIn.page.url(), /\/app\/$/);
    return signedIn;
  }

  function meOf(person: Person): Me {
    return { id: person.id, displayName: person.name, email: person.email, gyms: [{ id: GYM, name: 'Gym A', roles: [person.role] }] };
  }

  test('an athlete signs in with their password through the hub, and a reload keeps them signed in', async () => {
    const { context, page } = await signIn(people.athlete);
    try {
      assert.ok(await page.evaluate(() => sessionStorage.getItem('pulsebridge.tokens') !== null), 'tokens kept for the tab');
      await page.reload();
      await page.getByText(people.athlete.name, { exact: true }).waitFor({ timeout: STEP_MS });
      assert.match(page.url(), /\/app\/$/, 'no trip through the sign-in page');
      await expectAccessible(page, 'the shell (athlete)');
      await screenshot(page, 'shell-athlete');
    } finally {
      await context.close();
    }
  });

  test('signing out ends the session: the next visit asks for the password again', async () => {
    const { context, page } = await signIn(people.athlete);
    try {
      await page.getByRole('button', { name: en('signOut') }).click();
      await page.getByRole('button', { name: 'Yes, sign me out' }).click({ timeout: STEP_MS });
      await page.waitForURL(/\/interaction\//, { timeout: STEP_MS });
      assert.equal(await page.evaluate(() => sessionStorage.getItem('pulsebridge.tokens')), null);
      await page.getByLabel('Password').waitFor({ timeout: STEP_MS });
    } finally {
      await context.close();
    }
  });

  test('the language switch shows the shell in Russian and is remembered', async () => {
    const { context, page } = await signIn(people.athlete);
    try {
      await page.getByLabel(en('language')).selectOption('ru');
      await page.getByRole('button', { name: ru('signOut') }).waitFor({ timeout: STEP_MS });
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'ru');
      await page.reload();
      await page.getByRole('button', { name: ru('signOut') }).waitFor({ timeout: STEP_MS });
      await expectAccessible(page, 'the shell in Russian');
      await screenshot(page, 'shell-ru');
    } finally {
      await context.close();
    }
  });

  test('the dark theme applies and the shell stays accessible', async () => {
    const { context, page } = await signIn(people.coach);
    try {
      await page.getByLabel(en('theme')).selectOption('dark');
      await until('dark theme', async () => (await page.evaluate(() => document.documentElement.dataset['theme'])) === 'dark', STEP_MS, 50);
      await expectAccessible(page, 'the shell, dark');
      await screenshot(page, 'shell-dark');
    } finally {
      await context.close();
    }
  });

  test('an unknown page shows not found, and a page the role may not open shows forbidden', async () => {
    const { context, page } = await signIn(people.athlete);
    try {
      await page.goto(`${base}/app/no/such/page`);
      await page.getByRole('heading', { name: en('notFound') }).waitFor({ timeout: STEP_MS });
      await expectAccessible(page, 'the not-found page');
      await screenshot(page, 'not-found');
      const adminOnly = [...COACH_ROUTES, ...ADMIN_ROUTES].find((route) => route.roles.length > 0 && !hasRole(meOf(people.athlete), GYM, route.roles) && !route.path.includes(':'));
      if (adminOnly !== undefined) {
        await page.goto(`${base}/app${adminOnly.path}`);
        await page.getByRole('heading', { name: en('forbidden') }).waitFor({ timeout: STEP_MS });
        await screenshot(page, 'forbidden');
      }
    } finally {
      await context.close();
    }
  });

  test('the board gets its own tokens once a signed-in coach confirms its code', async () => {
    const board = new DeviceSignIn(base, new MemoryStorage());
    const code = await board.start();
    assert.match(code.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
    assert.ok(code.expiresAt > Date.now());
    const { context, page } = await signIn(people.coach);
    try {
      await page.goto(code.verificationUriComplete);
      const confirm = page.getByRole('button', { name: 'Yes, sign in the screen' });
      await confirm.waitFor({ timeout: STEP_MS }).catch(async (err: unknown) => {
        throw new Error(`no confirmation at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 500)}`, { cause: err });
      });
      await confirm.click();
      // The provider asks the signed-in user once more which account confirms the screen.
      await page.getByRole('button', { name: 'Continue', exact: true }).click({ timeout: STEP_MS });
      await page
        .getByRole('heading', { name: 'The screen is signed in' })
        .waitFor({ timeout: STEP_MS })
        .catch(async (err: unknown) => {
          throw new Error(`not confirmed at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 500)}`, { cause: err });
        });
      // Confirmed before the first poll: it answers at once, so no polling interval passes.
      await board.poll();
      assert.equal(board.signedIn, true);
      const token = await board.tokens.accessToken();
      assert.ok(token !== undefined);
      const gyms = await fetch(`${base}/api/v1/gyms`, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(gyms.status, 200);
      const body = (await gyms.json()) as { items: { id: string }[] };
      assert.deepEqual(
        body.items.map((gym) => gym.id),
        [GYM],
      );
      const before = board.tokens.read()!;
      assert.ok(before.refreshToken !== undefined, 'a refresh token keeps the board signed in');
      // An access token about to expire is refreshed before use, and the refresh token rotates.
      board.tokens.save({ ...before, expiresAt: Date.now() + 1000 });
      const renewed = await board.tokens.accessToken();
      assert.ok(renewed !== undefined && renewed !== token);
      assert.notEqual(board.tokens.read()?.refreshToken, before.refreshToken);
      assert.ok(board.tokens.read()!.expiresAt > Date.now() + 60_000);
      const again = await fetch(`${base}/api/v1/gyms`, { headers: { Authorization: `Bearer ${renewed}` } });
      assert.equal(again.status, 200);
    } finally {
      await context.close();
    }
  });
});
