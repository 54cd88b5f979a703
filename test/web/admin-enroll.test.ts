/**
 * A gym admin enrolls an edge agent from the Edge agents page: the page shows a one-time code and the command to
 * type on the box; the test reads both from the page, runs that command (a real `pulsebridge-agent enroll`
 * against the hub), starts the agent with the configuration it wrote and a simulated source, and the page, left
 * as it is (it refreshes itself every AGENTS_REFRESH_MS), turns the new agent online with its sensors listed.
 * Refusals too: an empty and a malformed id are named next to the field before anything is sent, and an id
 * already taken shows the hub's refusal.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { until } from '@pulsebridge/runtime';
import { startWebGym, withPassword } from './web-gym.ts';
import { ClassGym, simulatorOf, strapSimulator } from '../class-harness.ts';
import { freePort, Proc, showLogsOnFailure, tempDir } from '../harness.ts';
import { missingService } from '../services.ts';
import { chromiumMissing, expectAccessible, launchBrowser, screenshot, signInAs } from './browser.ts';
import { AGENTS_REFRESH_MS } from '../../web/src/admin/agents-page.tsx';
import { translator } from '../../web/src/i18n/index.ts';

const skip = missingService(chromiumMissing());
const work = tempDir('web-admin-enroll');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const GYM = 'gym-enroll';
const EXISTING_AGENT = 'box-existing';
const NEW_AGENT = 'box-new-1';
const PASSWORD = 'correct horse battery staple 42';
const STEP_MS = 15_000;
const en = translator('en');
/** The new box's simulator: two straps, no equipment; built here too to know the straps' ids. */
const NEW_BOX_SIMULATOR = { athletes: 2, seed: 23, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } };

describe('a gym admin enrolls an agent from the Edge agents page and sees it come online', { skip, timeout: 300_000 }, () => {
  let gym: ClassGym;
  let base: string;
  let browser: Browser;
  let page: Page;
  const admin = { id: '', name: 'Erin Admin', email: 'erin.admin@example.com' };
  let agent: Proc | undefined;

  before(async () => {
    ({ gym, base } = await startWebGym({
      dir: work.dir,
      gym: GYM,
      agentId: EXISTING_AGENT,
      simulator: strapSimulator(1, 5),
      lateIntervalMs: 500,
    }));
    const user = await gym.domain.identity.createUser({ email: admin.email, displayName: admin.name });
    admin.id = user.id;
    await gym.call('PUT', `/gyms/${GYM}/members/${user.id}/roles/gym_admin`);
    await (
      await withPassword(gym.domain.identity, PASSWORD)
    )(user.id);
    browser = await launchBrowser();
    ({ page } = await signInAs(browser, base, admin, PASSWORD, STEP_MS));
  });

  after(async () => {
    await agent?.stop();
    await browser?.close();
    await gym?.stop();
    work.cleanup();
  });

  const idField = () => page.getByLabel(en('adminAgentId'), { exact: true });
  const create = () => page.getByRole('button', { name: en('adminAgentCreate') });
  const agentHeading = (id: string) => page.getByRole('heading', { level: 3, name: new RegExp(`^${id} · `) });

  test('an empty or malformed id is named next to the field and nothing is created', async () => {
    await page.goto(`${base}/app/admin/agents`);
    await agentHeading(EXISTING_AGENT).waitFor({ timeout: STEP_MS });
    await create().click();
    const fieldError = page.locator('#agent-id-error');
    await fieldError.waitFor({ timeout: STEP_MS });
    assert.equal((await fieldError.innerText()).trim(), en('adminCheckRequired'));
    assert.equal(await idField().getAttribute('aria-invalid'), 'true');
    await expectAccessible(page, 'the agents page with an empty id refused');
    await screenshot(page, 'admin-enroll-empty-id');

    await idField().fill('bad id/with spaces');
    await create().click();
    await until('the malformed id to be named', async () => (await fieldError.innerText()).trim() === en('adminCheckId'), STEP_MS, 50);
    await screenshot(page, 'admin-enroll-malformed-id');
    const { body } = await gym.call<{ id: string }[]>('GET', `/agents?gym=${GYM}`);
    assert.deepEqual(
      body.map((a) => a.id),
      [EXISTING_AGENT],
      'no agent was created',
    );
  });

  test('an id already taken shows the hub’s refusal and the page keeps working', async () => {
    await page.goto(`${base}/app/admin/agents`);
    await agentHeading(EXISTING_AGENT).waitFor({ timeout: STEP_MS });
    await idField().fill(EXISTING_AGENT);
    await create().click();
    // The hub answers 409 naming the `id` field; the page shows its words next to that field.
    const fieldError = page.locator('#agent-id-error');
    await until('the hub’s refusal to show', async () => (await fieldError.count()) > 0 && /already exists/.test(await fieldError.innerText()), STEP_MS, 50);
    assert.match(await fieldError.innerText(), new RegExp(`an agent with id ${EXISTING_AGENT} already exists`));
    assert.equal(await idField().getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#enrollment-code').count(), 0, 'no code is shown for a refused id');
    await expectAccessible(page, 'the agents page with a taken id refused');
    await screenshot(page, 'admin-enroll-taken-id');
  });

  test('the code and command the page shows enroll a real agent, which the page then shows online with its sensors', async () => {
    await page.goto(`${base}/app/admin/agents`);
    await agentHeading(EXISTING_AGENT).waitFor({ timeout: STEP_MS });
    await idField().fill(NEW_AGENT);
    await create().click();
    const codeShown = page.locator('#enrollment-code');
    await codeShown.waitFor({ timeout: STEP_MS });
    const code = (await codeShown.innerText()).trim();
    const command = (await page.locator('pre code').innerText()).trim();
    const shown = /^pulsebridge-agent enroll --hub (\S+) --code (\S+)$/.exec(command);
    assert.ok(shown !== null, `the command as shown: ${command}`);
    assert.equal(shown[1], base, 'the command names this hub');
    assert.equal(shown[2], code, 'the command carries the code shown above it');
    assert.equal((await page.locator('#enrollment-state').innerText()).trim(), en('adminEnrollWaiting'));
    await agentHeading(NEW_AGENT).waitFor({ timeout: STEP_MS });
    assert.match(await agentHeading(NEW_AGENT).innerText(), new RegExp(en('adminAgentAwaitingEnrollment')));
    await expectAccessible(page, 'the agents page with an enrollment code');
    await screenshot(page, 'admin-enroll-code');

    // On the box: the command exactly as shown (the `pulsebridge-agent` binary is edge-agent/src/main.ts).
    const box = join(work.dir, 'box');
    const args = [...command.split(' ').slice(1), '--dir', box];
    const enrolled = await run(process.execPath, ['--import', 'tsx', 'edge-agent/src/main.ts', ...args], { cwd: ROOT, timeout: 30_000 });
    assert.match(enrolled.stdout, new RegExp(`Enrolled agent ${NEW_AGENT} for gym ${GYM}`));

    // The configuration it wrote, with a simulated source and a data folder for this run.
    agent = new Proc(['edge-agent/src/main.ts', '--config', join(box, 'agent.yaml')], join(work.dir, 'new-agent.log'), {
      PB_AGENT_AGENT__DATA_DIR: join(box, 'data'),
      PB_AGENT_SOURCES__SIMULATOR__ENABLED: 'true',
      PB_AGENT_SOURCES__SIMULATOR__ATHLETES: String(NEW_BOX_SIMULATOR.athletes),
      PB_AGENT_SOURCES__SIMULATOR__SEED: String(NEW_BOX_SIMULATOR.seed),
      PB_AGENT_SOURCES__SIMULATOR__EQUIPMENT: JSON.stringify(NEW_BOX_SIMULATOR.equipment),
      PB_AGENT_HEALTH__HOST: '127.0.0.1',
      PB_AGENT_HEALTH__PORT: String(await freePort()),
      PB_AGENT_LOG__PRETTY: 'false',
    });
    const straps = simulatorOf(NEW_BOX_SIMULATOR)
      .sensors()
      .map((sensor) => sensor.id);
    assert.equal(straps.length, NEW_BOX_SIMULATOR.athletes);

    // No reload: the page refreshes its list itself.
    await showLogsOnFailure([agent], async () => {
      await until(
        `the page to show ${NEW_AGENT} online`,
        async () => (await page.locator('#enrollment-state').innerText()).trim() === en('adminEnrollOnline', { agent: NEW_AGENT }),
        60_000 + 2 * AGENTS_REFRESH_MS,
        200,
      );
      assert.match(await agentHeading(NEW_AGENT).innerText(), new RegExp(`${en('adminAgentOnline')}$`));
      const sensors = page.getByRole('table', { name: en('adminSensorsOf', { agent: NEW_AGENT }) });
      await until(
        `the page to list ${NEW_AGENT}'s straps`,
        async () => {
          if ((await sensors.count()) === 0) return false;
          const rows = await sensors.getByRole('rowheader').allInnerTexts();
          return straps.every((strap) => rows.some((row) => row.includes(strap)));
        },
        2 * AGENTS_REFRESH_MS + STEP_MS,
        200,
      );
    });
    assert.deepEqual(
      (await page.getByRole('alert').allInnerTexts()).filter((text) => text.trim() !== ''),
      [],
      'no error on the page',
    );
    await expectAccessible(page, 'the agents page with the new agent online');
    await screenshot(page, 'admin-enroll-online');
  });
});
