/** The browser helpers themselves: the axe check fails on a page with serious violations and lists them. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { missingService } from '../services.ts';
import { chromiumMissing, expectAccessible, launchBrowser, screenshot } from './browser.ts';

describe('browser helpers', { skip: missingService(chromiumMissing()), timeout: 60_000 }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('axe passes a labelled page and fails an unlabelled one, naming each violation', async () => {
    const page = await browser.newPage();
    try {
      await page.setContent('<!doctype html><html lang="en"><title>ok</title><main><h1>Fine</h1><label>Name <input></label></main></html>');
      await expectAccessible(page, 'a labelled page');
      await page.setContent('<!doctype html><html lang="en"><title>bad</title><main><input><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></html>');
      await assert.rejects(expectAccessible(page, 'an unlabelled page'), (err: Error) => /label/.test(err.message) && /image-alt/.test(err.message));
      assert.ok(existsSync(await screenshot(page, 'axe-bad-example')));
    } finally {
      await page.close();
    }
  });
});
