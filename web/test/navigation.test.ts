import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appHref, inAppTarget } from '../src/lib/navigation.ts';

const ORIGIN = 'https://hub.example.com';
const click = { button: 0, metaKey: false, ctrlKey: false, shiftKey: false, altKey: false, defaultPrevented: false };
const link = (href: string, more: Partial<{ target: string; hasDownload: boolean }> = {}) => ({ href, target: '', hasDownload: false, ...more });

test('a plain click on a link to an app page opens it in place, with its query and fragment', () => {
  assert.equal(inAppTarget(click, link(`${ORIGIN}/app/me/sessions?x=1#top`), ORIGIN), '/app/me/sessions?x=1#top');
  assert.equal(inAppTarget(click, link(`${ORIGIN}/app`), ORIGIN), '/app');
  assert.equal(appHref('/coach'), '/app/coach');
});

test('links the browser should follow are left to it', () => {
  assert.equal(inAppTarget(click, link(`${ORIGIN}/board/?run=r`), ORIGIN), undefined, 'the board is its own page');
  assert.equal(inAppTarget(click, link(`${ORIGIN}/application`), ORIGIN), undefined, 'only /app itself and below');
  assert.equal(inAppTarget(click, link('https://elsewhere.example.com/app/me'), ORIGIN), undefined, 'another origin');
  assert.equal(inAppTarget(click, link(`${ORIGIN}/app/me`, { target: '_blank' }), ORIGIN), undefined, 'a new window');
  assert.equal(inAppTarget(click, link(`${ORIGIN}/app/me`, { hasDownload: true }), ORIGIN), undefined, 'a download');
  for (const modifier of ['metaKey', 'ctrlKey', 'shiftKey', 'altKey'] as const) {
    assert.equal(inAppTarget({ ...click, [modifier]: true }, link(`${ORIGIN}/app/me`), ORIGIN), undefined, modifier);
  }
  assert.equal(inAppTarget({ ...click, button: 1 }, link(`${ORIGIN}/app/me`), ORIGIN), undefined, 'middle button');
  assert.equal(inAppTarget({ ...click, defaultPrevented: true }, link(`${ORIGIN}/app/me`), ORIGIN), undefined, 'handled already');
});
