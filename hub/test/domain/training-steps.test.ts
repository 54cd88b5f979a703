import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Steps, stepsProblems, totalDurationSeconds } from '../../src/domain/trainings/steps.ts';

const check = TypeCompiler.Compile(Steps);
const work = (durationSeconds: number) => ({ type: 'step', kind: 'work', durationSeconds }) as const;

test('the planned duration multiplies repeats, nested ones too', () => {
  const steps = [work(600), { type: 'repeat', count: 3, steps: [work(60), { type: 'repeat', count: 2, steps: [work(30)] }] }, work(300)] as const;
  assert.ok(check.Check(steps));
  assert.equal(totalDurationSeconds(steps), 600 + 3 * (60 + 2 * 30) + 300);
});

test('there is no planned duration when a step goes by distance', () => {
  assert.equal(totalDurationSeconds([work(600), { type: 'step', kind: 'work', distanceMeters: 1000 }]), undefined);
});

test('repeats nest at most two deep', () => {
  const deep = [{ type: 'repeat', count: 2, steps: [{ type: 'repeat', count: 2, steps: [{ type: 'repeat', count: 2, steps: [work(10)] }] }] }];
  assert.equal(check.Check(deep), false);
});

test('a step needs exactly one of duration and distance', () => {
  assert.deepEqual(stepsProblems([{ type: 'step', kind: 'rest' }]), ['/steps/0: give exactly one of durationSeconds and distanceMeters']);
  assert.deepEqual(stepsProblems([{ type: 'repeat', count: 2, steps: [work(1), { type: 'step', kind: 'rest', durationSeconds: 5, distanceMeters: 5 }] }]), [
    '/steps/0/steps/1: give exactly one of durationSeconds and distanceMeters',
  ]);
});

test('a target range with low above high is a problem, equal bounds are not', () => {
  assert.deepEqual(stepsProblems([{ ...work(60), target: { type: 'power', low: 250, high: 200 } }]), ['/steps/0/target: low is above high']);
  assert.deepEqual(stepsProblems([{ ...work(60), target: { type: 'pace', low: 240, high: 240 } }]), []);
  assert.deepEqual(stepsProblems([{ ...work(60), target: { type: 'hr_zone', zone: 3 } }]), []);
});

test('targets are checked against their ranges by the schema', () => {
  assert.equal(check.Check([{ ...work(60), target: { type: 'hr_zone', zone: 6 } }]), false);
  assert.equal(check.Check([{ ...work(60), target: { type: 'cadence', low: 0, high: 90 } }]), false);
  assert.equal(check.Check([{ ...work(60), target: { type: 'power', low: 100, high: 200, extra: 1 } }]), false);
  assert.equal(check.Check([{ ...work(60), target: { type: 'power_percent_ftp', low: 88, high: 94 } }]), true);
});
