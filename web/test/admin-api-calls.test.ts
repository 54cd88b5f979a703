import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { OPERATIONS } from '../../hub/src/api/operations.ts';

/**
 * The admin pages are built on the public API only: every call they make with a literal path must be an operation
 * of the hub's table, with its method. Catches a mistyped path or method before a browser does.
 */
const METHOD: Record<string, string> = { get: 'get', all: 'get', blob: 'get', post: 'post', upload: 'post', put: 'put', patch: 'patch', delete: 'delete' };

function calls(): { method: string; path: string; file: string }[] {
  const dir = new URL('../src/admin/', import.meta.url);
  const found: { method: string; path: string; file: string }[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.tsx'))) {
    const source = readFileSync(new URL(file, dir), 'utf8');
    for (const match of source.matchAll(/\bapi\.(get|all|blob|post|upload|put|patch|delete)(?:<(?:[^<>]|<[^<>]*>)*>)?\(\s*(`[^`]*`|'[^']*')/g)) {
      // `${...}` segments are path parameters.
      const path = match[2]!.slice(1, -1).replace(/\$\{[^}]*\}/g, ':param');
      found.push({ method: METHOD[match[1]!]!, path, file });
    }
  }
  return found;
}

function matches(pattern: string, path: string): boolean {
  const want = pattern.split('/');
  const got = `/api/v1${path}`.split('/');
  return want.length === got.length && want.every((segment, i) => segment === got[i] || (segment.startsWith(':') && got[i] === ':param'));
}

test('every API call of the admin pages is an operation of the hub with that method', () => {
  const found = calls();
  assert.ok(found.length >= 23, `found only ${found.length} calls: the pattern no longer matches the code`);
  const operations = Object.values(OPERATIONS).map((op) => ({ method: (op as { method?: string }).method ?? 'get', path: op.path }));
  const unknown = found.filter((call) => !operations.some((op) => op.method === call.method && matches(op.path, call.path)));
  assert.deepEqual(unknown, []);
});
