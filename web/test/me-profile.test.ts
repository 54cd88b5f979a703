import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bodyOf, fieldOfProblem, formOf, problemDetail } from '../src/me/profile-form.ts';
import type { Profile } from '../src/me/types.ts';

const profile: Profile = {
  userId: 'u1',
  email: 'ann@example.test',
  displayName: 'Ann',
  birthDate: '1990-04-01',
  sex: 'female',
  weightKg: 61.5,
  maxHeartRate: 188,
  resultsVisibility: 'friends',
  boardVisibility: 'alias',
  boardAlias: 'Rocket',
  leaderboards: true,
  maxHeartRateInUse: { bpm: 188, source: 'test' },
  updatedAt: '2026-01-01T00:00:00.000Z',
};

test('a saved profile round-trips through the form unchanged, unknown facts staying unknown', () => {
  const { body, invalid } = bodyOf(formOf(profile));
  assert.deepEqual(invalid, []);
  assert.deepEqual(body, {
    displayName: 'Ann',
    birthDate: '1990-04-01',
    sex: 'female',
    weightKg: 61.5,
    maxHeartRate: 188,
    resultsVisibility: 'friends',
    boardVisibility: 'alias',
    boardAlias: 'Rocket',
    leaderboards: true,
  });
});

test('a decimal comma is read as a point, emptied fields are left out, and text that is no number is named', () => {
  const form = { ...formOf(profile), weightKg: ' 70,5 ', maxHeartRate: '', ftpWatts: 'lots', sex: '' as const, boardAlias: '  ' };
  const { body, invalid } = bodyOf(form);
  assert.equal(body.weightKg, 70.5);
  assert.equal('maxHeartRate' in body, false);
  assert.equal('ftpWatts' in body, false);
  assert.equal('sex' in body, false);
  assert.equal('boardAlias' in body, false);
  assert.deepEqual(invalid, ['ftpWatts']);
});

test('a problem’s param names the form field it is about; others are about the whole form', () => {
  assert.equal(fieldOfProblem('weightKg'), 'weightKg');
  assert.equal(fieldOfProblem('/boardAlias'), 'boardAlias');
  assert.equal(fieldOfProblem('body'), undefined);
  assert.equal(fieldOfProblem(undefined), undefined);
  assert.equal(problemDetail('weightKg', 'weightKg: must be >= 20'), 'must be >= 20');
  assert.equal(problemDetail('body', 'something else'), 'something else');
});
