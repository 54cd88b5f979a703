import assert from 'node:assert/strict';
import { test } from 'node:test';
import { translator } from '../src/i18n/index.ts';
import { ApiProblem } from '../src/lib/api.ts';
import { eraseRefusal, importRefusal } from '../src/me/problems.ts';
import { ME_ROUTES } from '../src/me/routes.ts';

const en = translator('en');
const ru = translator('ru');

test('an import refused for size, format or as a duplicate is said in words; other refusals carry the API’s reason', () => {
  assert.equal(importRefusal(en, new ApiProblem(413, { detail: 'too big' })), 'The file is too large.');
  assert.equal(importRefusal(ru, new ApiProblem(415, { detail: 'no' })), 'Это не файл FIT, GPX или TCX.');
  assert.equal(importRefusal(en, new ApiProblem(409, { detail: 'same sha' })), 'This file was imported already.');
  assert.equal(
    importRefusal(en, new ApiProblem(400, { detail: 'the file has no timed sample', type: '/api/v1/docs#problem-invalid_parameter' })),
    'The file was refused: the file has no timed sample',
  );
  assert.equal(importRefusal(en, new TypeError('Failed to fetch')), 'The file was refused: Failed to fetch');
});

test('an erasure refused because the email did not match or a gym would lose its last admin says so', () => {
  assert.equal(eraseRefusal(en, new ApiProblem(400, { detail: 'confirm: is not the email of your account', param: 'confirm' })), 'The email typed is not your account’s.');
  assert.equal(eraseRefusal(en, new ApiProblem(409, { detail: 'last admin' })), 'You are the last admin of a gym: give the role to someone else first.');
  assert.equal(eraseRefusal(en, new ApiProblem(503, { detail: 'down' })), 'Something went wrong: down');
});

test('the athlete pages are open to anyone signed in, under unique paths, with titles in both languages', () => {
  assert.equal(new Set(ME_ROUTES.map((r) => r.path)).size, ME_ROUTES.length);
  for (const route of ME_ROUTES) {
    assert.deepEqual(route.roles, [], route.path);
    assert.match(route.path, /^\/me\//);
    assert.notEqual(en(route.title), route.title);
    assert.notEqual(ru(route.title), en(route.title), `${route.title} is translated`);
  }
  assert.deepEqual(
    ME_ROUTES.filter((r) => !r.nav).map((r) => r.path),
    ['/me/sessions/:id'],
  );
});

test('an API problem takes its code from the anchor of its type URI, as the hub writes it', () => {
  assert.equal(new ApiProblem(409, { type: '/api/v1/docs#problem-conflict', title: 'Conflict', detail: 'taken' }).code, 'conflict');
  assert.equal(new ApiProblem(502, { detail: 'a proxy said no' }).code, undefined);
});
