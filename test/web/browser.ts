/**
 * The browser the web tests drive: Debian's chromium (scripts/test-services.sh installs it) launched by
 * playwright-core, whose own browser download cannot work here. Also the axe-core check and the screenshots
 * kept as test artefacts under .tmp/web-screenshots/.
 *
 *   const skip = missingService(chromiumMissing());
 *   const browser = await launchBrowser();
 *   ... await expectAccessible(page, 'the shell'); await screenshot(page, 'shell');
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { until } from '@pulsebridge/runtime';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOT_DIR = join(ROOT, '.tmp', 'web-screenshots');
const CANDIDATES = [process.env['PB_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];

export function chromiumPath(): string | undefined {
  return CANDIDATES.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

/** The reason for missingService when there is no chromium, else false. */
export function chromiumMissing(): string | false {
  return chromiumPath() === undefined ? 'chromium is not installed (scripts/test-services.sh installs Debian’s chromium)' : false;
}

export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  assert.ok(executablePath !== undefined, 'chromium is not installed');
  // As root (CI containers) chromium refuses to start with its sandbox.
  const root = process.getuid?.() === 0;
  return chromium.launch({ executablePath, headless: true, args: [...(root ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--disable-gpu'] });
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** Runs axe-core in the page; fails listing every serious or critical violation. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  // Injected as a script element would need 'unsafe-inline' under the app's CSP; evaluate() is not subject to it.
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    // Typed without the DOM library: scripts (benchmarks) import this file under the node-only typecheck.
    const page = globalThis as unknown as { document: unknown; axe: { run(context: unknown, options: object): Promise<{ violations: AxeViolation[] }> } };
    const result = await page.axe.run(page.document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`),
    [],
    `axe-core on ${what}`,
  );
}

/** A full-page screenshot kept as a test artefact: .tmp/web-screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Opens <base>/app/ in a new context, signs in on the hub's page with email and password, skips the offered
 * second factor, and waits until the shell shows `name` (signed in).
 */
export async function signInAs(
  browser: Browser,
  base: string,
  person: { email: string; name: string },
  password: string,
  timeoutMs = 15_000,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  const explain = async (err: unknown): Promise<never> => {
    throw new Error(`not signed in at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 500)}`, { cause: err });
  };
  await page.goto(`${base}/app/`);
  await page.waitForURL(/\/interaction\//, { timeout: timeoutMs });
  await page.getByLabel('Email').fill(person.email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const offered = page.getByRole('button', { name: 'Not now' });
  const user = page.getByText(person.name, { exact: true });
  await until('signed in or offered a second factor', async () => (await offered.count()) > 0 || (await user.count()) > 0, timeoutMs, 50).catch(explain);
  if ((await offered.count()) > 0) await offered.click();
  await user.waitFor({ timeout: timeoutMs }).catch(explain);
  return { context, page };
}

/**
 * The other half of the board's device sign-in, as a coach does it on their phone: signs `person` in in a new
 * context, opens the verification address the screen shows, types the code, confirms, and closes the context
 * once the hub says the screen is signed in.
 */
export async function confirmScreenCode(
  browser: Browser,
  base: string,
  person: { email: string; name: string },
  password: string,
  shown: { verificationUri: string; userCode: string },
  timeoutMs = 15_000,
): Promise<void> {
  const { context, page } = await signInAs(browser, base, person, password, timeoutMs);
  try {
    await page.goto(shown.verificationUri);
    await page.getByLabel('Code').fill(shown.userCode);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await page.getByRole('button', { name: 'Yes, sign in the screen' }).click({ timeout: timeoutMs });
    // The provider asks the signed-in user once more which account confirms the screen.
    await page.getByRole('button', { name: 'Continue', exact: true }).click({ timeout: timeoutMs });
    await page
      .getByRole('heading', { name: 'The screen is signed in' })
      .waitFor({ timeout: timeoutMs })
      .catch(async (err: unknown) => {
        throw new Error(`the screen's code not confirmed at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 500)}`, { cause: err });
      });
  } finally {
    await context.close();
  }
}
