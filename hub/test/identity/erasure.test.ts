import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DELETED_USER, mentions, redacted, tracesOf } from '../../src/identity/erasure.ts';

const ann = { id: '0b6c1f0e-4d2a-4c1e-9a57-3f1e2d4c5b6a', email: 'Ann@Example.org', displayName: 'Ann', createdAt: 0, disabled: false };

test('redacted replaces the id, email and name at any depth and in any case, keys too, and leaves other values as they are', () => {
  const traces = tracesOf(ann);
  const detail = { user: ann.id, to: 'ann@example.ORG', note: "ANN's strap", count: 3, list: [`grant-${ann.id}`, null, true], [ann.id]: { name: 'Ann' } };
  assert.deepEqual(redacted(detail, traces), {
    user: DELETED_USER,
    to: DELETED_USER,
    note: `${DELETED_USER}'s strap`,
    count: 3,
    list: [`grant-${DELETED_USER}`, null, true],
    [DELETED_USER]: { name: DELETED_USER },
  });
});

test('a name is a trace only as a whole word: "Ann" is not in "Annual pass" nor in "Joanna", with letters of any script', () => {
  const traces = tracesOf(ann);
  assert.equal(mentions('Annual pass for Joanna', traces), false);
  assert.equal(redacted('Annual pass for Joanna', traces), 'Annual pass for Joanna');
  assert.equal(mentions('Hello Ann, here is your link', traces), true);
  assert.equal(mentions('Anné', tracesOf({ ...ann, displayName: 'Ann' })), false);
  assert.equal(mentions('Zoë (Ann)', traces), true);
  assert.equal(mentions('{"name":"Ann"}', traces), true);
});

test('characters that mean something in a pattern are taken literally', () => {
  const odd = { ...ann, displayName: 'A.n+n (x)' };
  assert.equal(mentions('Annxx', tracesOf(odd)), false);
  assert.equal(redacted('by A.n+n (x) today', tracesOf(odd)), `by ${DELETED_USER} today`);
});
