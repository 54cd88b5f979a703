import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('fixtures/missing-service.fixture.ts', import.meta.url));

function runFixture(ci: string | undefined): { status: number | null; out: string } {
  const env = { ...process.env };
  delete env['CI'];
  delete env['NODE_TEST_CONTEXT'];
  if (ci !== undefined) env['CI'] = ci;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', FIXTURE], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, out: result.stdout + result.stderr };
}

test('a missing service skips its tests with the reason outside CI', () => {
  const run = runFixture(undefined);
  assert.equal(run.status, 0, run.out);
  assert.match(run.out, /# SKIP frobnicator is not installed/);
  assert.match(run.out, /^# fail 0$/m);
});

test('with CI=true a missing service fails the run once, with the same reason', () => {
  const run = runFixture('true');
  assert.notEqual(run.status, 0, run.out);
  assert.match(run.out, /^not ok \d+ - a service the test script installs is there \(CI\): frobnicator is not installed$/m);
  assert.match(run.out, /^# fail 1$/m, 'one failure for the reason, however many tests need it');
});
