/**
 * The commands the README names: `npx pulsebridge-hub …` and `npx pulsebridge-agent …` from the repository,
 * and the installed bins from any directory, as a fresh clone has them after `npm install`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const elsewhere = mkdtempSync(join(tmpdir(), 'pb-bins-'));
after(() => rmSync(elsewhere, { recursive: true, force: true }));

const BINS: { workspace: string; name: string; usage: RegExp }[] = [
  { workspace: 'hub', name: 'pulsebridge-hub', usage: /^Usage:\n {2}pulsebridge-hub \[serve\]/ },
  { workspace: 'edge-agent', name: 'pulsebridge-agent', usage: /^Usage: pulsebridge-agent / },
];

function binTarget(workspace: string, name: string): string {
  const manifest = JSON.parse(readFileSync(join(ROOT, workspace, 'package.json'), 'utf8')) as { bin?: Record<string, string> };
  const target = manifest.bin?.[name];
  assert.ok(target, `${workspace}/package.json names the ${name} bin`);
  return resolve(ROOT, workspace, target);
}

function run(command: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  // Without npm_config_* from an enclosing `npm test`, as when typed in a terminal.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')));
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

for (const { workspace, name, usage } of BINS) {
  test(`${name}: the bin is plain-node JavaScript that needs no loader flag, and node_modules/.bin links to it`, () => {
    const target = binTarget(workspace, name);
    assert.match(target, /\.js$/, 'node runs .ts files only with a loader flag; a bin cannot pass one portably');
    accessSync(target, constants.X_OK);
    assert.match(readFileSync(target, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    assert.equal(realpathSync(join(ROOT, 'node_modules/.bin', name)), realpathSync(target), `node_modules/.bin/${name} is stale: run npm install`);
  });

  test(`${name}: \`npx ${name} --help\` from the repository root prints the usage`, () => {
    // --no: never fetch a package of that name from the registry; the README's plain `npx` finds the same local bin.
    const result = run('npx', ['--no', '--', name, '--help'], ROOT);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, usage);
  });

  test(`${name}: the installed bin runs from a directory outside the repository`, () => {
    const result = run(join(ROOT, 'node_modules/.bin', name), ['--help'], elsewhere);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, usage);
  });
}
