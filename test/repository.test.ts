/**
 * What a fresh clone gives a newcomer: a license, a lock file that `npm install` leaves alone, native modules
 * that get built, build prerequisites said up front, and local configuration kept out of git.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

interface Manifest {
  license?: string;
  workspaces?: string[];
  allowScripts?: Record<string, boolean>;
}
const rootManifest = JSON.parse(read('package.json')) as Manifest;
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { hasInstallScript?: boolean; libc?: unknown }> };

test('LICENSE is Apache-2.0 and every package.json says so', () => {
  assert.match(read('LICENSE'), /^\s*Apache License\s+Version 2\.0, January 2004/);
  for (const file of ['package.json', ...(rootManifest.workspaces ?? []).map((w) => `${w}/package.json`)]) {
    assert.equal((JSON.parse(read(file)) as Manifest).license, 'Apache-2.0', file);
  }
});

test('the lock file has no libc fields: npm 10 (bundled with Node 20) deletes them, so every npm install would rewrite it', () => {
  const withLibc = Object.entries(lock.packages)
    .filter(([, entry]) => entry.libc !== undefined)
    .map(([path]) => path);
  assert.deepEqual(withLibc, [], 'regenerate the lock with npm 10: npx npm@10 install --package-lock-only');
});

test('every dependency with an install script is named in allowScripts (npm 11 skips the others: native modules would not build)', () => {
  const withScripts = new Set(
    Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path]) => path.replace(/^.*node_modules\//, '')),
  );
  assert.ok(withScripts.has('better-sqlite3'));
  assert.deepEqual(Object.keys(rootManifest.allowScripts ?? {}).sort(), [...withScripts].sort());
  assert.ok(Object.values(rootManifest.allowScripts ?? {}).every((allowed) => allowed === true));
});

test('the README lists the build prerequisites of the native modules', () => {
  const quickStart = read('README.md').split('\n## ')[1] ?? '';
  assert.match(quickStart, /^Quick start/);
  for (const tool of [/C\+\+ (compiler|toolchain)/, /\bmake\b/, /Python 3/, /build-essential/]) assert.match(quickStart, tool);
});

test('local configuration, secrets and data are ignored by git; the examples are not', () => {
  const ignored = (path: string): boolean => spawnSync('git', ['check-ignore', '-q', path], { cwd: ROOT }).status === 0;
  for (const path of ['agent.yaml', 'hub.yaml', 'gym-1.secret', 'deploy/agent.secret', 'data/hub/hub.db', 'edge-agent/agent.yaml']) assert.ok(ignored(path), path);
  for (const path of ['edge-agent/agent.example.yaml', 'hub/hub.example.yaml', 'package-lock.json', 'deploy/kubernetes/base/hub.yaml']) assert.ok(!ignored(path), path);
});
