/**
 * `npm run bench` prints only figures (JSON objects, one a line) on standard output: the build step's
 * progress and any other line a step prints go to standard error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runStep, type BenchOutput } from '../scripts/bench/all.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function capture(): BenchOutput & { figures: string[]; others: string } {
  const out = { figures: [] as string[], others: '' };
  return Object.assign(out, { figure: (line: string) => void out.figures.push(line), other: (text: string) => void (out.others += text) });
}

test('a step: JSON object lines are figures; log lines, bare numbers, arrays and broken JSON go to stderr', async () => {
  const out = capture();
  assert.equal(await runStep(['test/fixtures/noisy-bench.ts'], out), 0);
  assert.deepEqual(
    out.figures.map((line) => JSON.parse(line) as unknown),
    [
      { name: 'first', value: 1, unit: 'x' },
      { name: 'last', value: 2, unit: 'x' },
    ],
  );
  for (const text of ['warming up\n', 'a warning on stderr', '42\n', '[1,2]\n', '{"name": "broken"\n']) assert.ok(out.others.includes(text), text);
});

test('the build step (run before the footprint benchmark) prints nothing on stdout', { timeout: 60_000 }, async () => {
  const out = capture();
  assert.equal(await runStep(['scripts/build.ts'], out), 0, out.others);
  assert.deepEqual(out.figures, []);
  assert.match(out.others, /built edge-agent\/dist\/main\.mjs/);
});

test('a real benchmark through the same path: every stdout line is a JSON figure', { timeout: 60_000 }, async () => {
  const out = capture();
  assert.equal(await runStep(['scripts/bench/ant-decoders.ts', '--frames', '1000', '--runs', '1'], out), 0, out.others);
  assert.ok(out.figures.length >= 5);
  for (const line of out.figures) assert.ok(typeof (JSON.parse(line) as { name?: unknown }).name === 'string', line);
});

test('npm run -s bench: nothing but figures on stdout, even when it fails', () => {
  const result = spawnSync('npm', ['run', '-s', 'bench', '--', '--only', 'no-such-benchmark.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 2, result.stderr);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /no benchmark no-such-benchmark\.ts; there are ble-decoders\.ts, /);
});
