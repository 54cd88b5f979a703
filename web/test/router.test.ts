import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchPath, navigation, resolve } from '../src/app/router.ts';
import type { Me } from '../src/lib/context.tsx';
import type { PageRoute } from '../src/lib/routes.ts';

const page = () => null;
const ROUTES: PageRoute[] = [
  { path: '/me/sessions', roles: [], title: 'navMe', nav: true, component: page },
  { path: '/me/sessions/:id', roles: [], title: 'navMe', nav: false, component: page },
  { path: '/coach/classes', roles: ['coach', 'gym_admin'], title: 'navCoach', nav: true, component: page },
  { path: '/admin/agents', roles: ['gym_admin'], title: 'navAdmin', nav: true, component: page },
];

function me(gyms: Me['gyms']): Me {
  return { id: 'u1', displayName: 'Ada', email: 'ada@example.com', gyms };
}

test('a path matches a pattern with its params decoded, and nothing else', () => {
  assert.deepEqual(matchPath('/me/sessions/:id', '/me/sessions/a%40b'), { id: 'a@b' });
  assert.deepEqual(matchPath('/me/sessions', '/me/sessions/'), {});
  assert.equal(matchPath('/me/sessions/:id', '/me/sessions'), undefined);
  assert.equal(matchPath('/me/sessions', '/me/other'), undefined);
});

test('the navigation lists only the nav routes the roles in the chosen gym open', () => {
  const coach = me([
    { id: 'gym-a', name: 'A', roles: ['coach'] },
    { id: 'gym-b', name: 'B', roles: ['athlete'] },
  ]);
  assert.deepEqual(
    navigation(ROUTES, coach, 'gym-a').map((r) => r.path),
    ['/me/sessions', '/coach/classes'],
  );
  assert.deepEqual(
    navigation(ROUTES, coach, 'gym-b').map((r) => r.path),
    ['/me/sessions'],
  );
});

test('a page the roles do not open resolves to forbidden, an unknown path to not found', () => {
  const athlete = me([{ id: 'gym-a', name: 'A', roles: ['athlete'] }]);
  assert.equal(resolve(ROUTES, '/admin/agents', athlete, 'gym-a').kind, 'forbidden');
  assert.equal(resolve(ROUTES, '/nowhere', athlete, 'gym-a').kind, 'not-found');
  const detail = resolve(ROUTES, '/me/sessions/s1', athlete, 'gym-a');
  assert.equal(detail.kind, 'page');
  assert.deepEqual(detail.kind === 'page' ? detail.params : undefined, { id: 's1' });
});
