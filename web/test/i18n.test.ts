import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preferredLanguage, translator } from '../src/i18n/index.ts';

test('the stored language wins, then the first browser language the app has, then English', () => {
  assert.equal(preferredLanguage({ getItem: () => 'ru' }, ['en-GB']), 'ru');
  assert.equal(preferredLanguage({ getItem: () => null }, ['de-DE', 'ru-RU', 'en']), 'ru');
  assert.equal(preferredLanguage({ getItem: () => 'fr' }, ['de']), 'en');
  assert.equal(preferredLanguage(undefined, []), 'en');
});

test('plural forms follow the language: Russian has one, few and many', () => {
  const ru = translator('ru');
  assert.equal(ru('minutes', { count: 1 }), '1 минута');
  assert.equal(ru('minutes', { count: 3 }), '3 минуты');
  assert.equal(ru('minutes', { count: 5 }), '5 минут');
  assert.equal(ru('minutes', { count: 21 }), '21 минута');
  const en = translator('en');
  assert.equal(en('minutes', { count: 1 }), '1 minute');
  assert.equal(en('minutes', { count: 1000 }), '1,000 minutes');
});

test('a missing parameter stays visible and an unknown key answers itself, never undefined', () => {
  const en = translator('en');
  assert.equal(en('signIn'), 'Sign in');
  assert.equal(translator('ru')('signIn'), 'Войти');
  assert.equal(en('minutes', {}), 'minutes');
});

test('the board translates its own texts as the app does, and carries no other area’s texts', async () => {
  const { boardTranslator } = await import('../src/i18n/board.ts');
  for (const language of ['en', 'ru'] as const) {
    assert.equal(boardTranslator(language)('signIn'), translator(language)('signIn'));
    assert.equal(boardTranslator(language)('minutes', { count: 3 }), translator(language)('minutes', { count: 3 }));
  }
  assert.equal(boardTranslator('en')('adminNavAgents'), 'adminNavAgents');
});
