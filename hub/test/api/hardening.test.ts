import assert from 'node:assert/strict';
import { test } from 'node:test';
import Koa from 'koa';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { corsConfigProblems, httpHardening, inlineStyleHashes } from '../../src/api/hardening.ts';
import { AUTH, withApi } from './harness.ts';

const APP_ORIGIN = 'https://app.pulsebridge.example';

function assertSecurityHeaders(response: Response, label: string): void {
  const csp = response.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/, label);
  assert.match(csp, /frame-ancestors 'none'/, label);
  assert.match(csp, /script-src 'none'/, label);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff', label);
  assert.equal(response.headers.get('x-frame-options'), 'DENY', label);
  assert.equal(response.headers.get('referrer-policy'), 'no-referrer', label);
  assert.equal(response.headers.get('strict-transport-security'), null, `${label}: no HSTS over plain HTTP`);
}

test('API answers and problem responses carry the security headers', async () => {
  await withApi(async (api) => {
    const ok = await api.get('/api/v1/agents');
    assert.equal(ok.status, 200);
    assertSecurityHeaders(ok, 'agents');
    const refused = await api.get('/api/v1/agents', {});
    assert.equal(refused.status, 401);
    assertSecurityHeaders(refused, '401 problem');
    const missing = await api.get('/healthz/nope');
    assert.equal(missing.status, 404);
    assertSecurityHeaders(missing, '404 problem');
  });
});

test('the docs page is allowed its own inline stylesheet by hash, and no other', async () => {
  await withApi(async (api) => {
    const page = await api.get('/api/v1/docs', {});
    const html = await page.text();
    const [hash] = inlineStyleHashes(html);
    assert.ok(hash);
    assert.match(page.headers.get('content-security-policy') ?? '', new RegExp(`style-src 'self' ${hash.replace(/[+/]/g, '\\$&')}`));
    assert.doesNotMatch(page.headers.get('content-security-policy') ?? '', /unsafe-inline/);
  });
});

test('an allowed origin gets Access-Control-Allow-Origin with the exposed headers; another origin gets none', async () => {
  await withApi({ cors: { origins: [APP_ORIGIN] } }, async (api) => {
    const allowed = await api.get('/api/v1/agents', { ...AUTH, Origin: APP_ORIGIN });
    assert.equal(allowed.headers.get('access-control-allow-origin'), APP_ORIGIN);
    assert.equal(allowed.headers.get('access-control-allow-credentials'), null);
    assert.deepEqual(allowed.headers.get('access-control-expose-headers')?.split(',').sort(), ['Link', 'Retry-After', 'WWW-Authenticate', 'X-Request-Id']);
    assert.match(allowed.headers.get('vary') ?? '', /Origin/);
    const problem = await api.get('/api/v1/agents', { Origin: APP_ORIGIN });
    assert.equal(problem.status, 401);
    assert.equal(problem.headers.get('access-control-allow-origin'), APP_ORIGIN, 'a page can read why it was refused');
    const other = await api.get('/api/v1/agents', { ...AUTH, Origin: 'https://evil.example' });
    assert.equal(other.status, 200);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
});

test('without configured origins no origin is allowed', async () => {
  await withApi(async (api) => {
    const response = await api.get('/api/v1/agents', { ...AUTH, Origin: APP_ORIGIN });
    assert.equal(response.headers.get('access-control-allow-origin'), null);
  });
});

test('a preflight from an allowed origin is answered 204 without credentials; one from another origin is not allowed', async () => {
  await withApi({ cors: { origins: [APP_ORIGIN] } }, async (api) => {
    const preflight = (origin: string) =>
      fetch(`${api.url}/api/v1/agents/box-1/unsynced/boot-1`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'DELETE', 'Access-Control-Request-Headers': 'authorization' },
      });
    const allowed = await preflight(APP_ORIGIN);
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get('access-control-allow-origin'), APP_ORIGIN);
    assert.match(allowed.headers.get('access-control-allow-methods') ?? '', /DELETE/);
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    assert.equal(allowed.headers.get('access-control-max-age'), '600');
    const other = await preflight('https://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.notEqual(other.status, 204);
  });
});

test('HSTS is sent only when the request came over HTTPS', async () => {
  const app = new Koa();
  app.proxy = true;
  app.use(httpHardening({ cors: { origins: [] } }));
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const secure = await fetch(url, { headers: { 'X-Forwarded-Proto': 'https' } });
    assert.match(secure.headers.get('strict-transport-security') ?? '', /^max-age=31536000; includeSubDomains$/);
    const plain = await fetch(url);
    assert.equal(plain.headers.get('strict-transport-security'), null);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('CORS origins must be bare origins', () => {
  assert.deepEqual(corsConfigProblems({ origins: [APP_ORIGIN, 'http://localhost:5173'] }, '/http/cors'), []);
  assert.deepEqual(corsConfigProblems({ origins: ['*', 'https://app.example/', 'ftp://x.example'] }, '/http/cors'), [
    "/http/cors/origins/0: '*' is not an origin like https://app.example.com (scheme, host and port only, no trailing slash)",
    "/http/cors/origins/1: 'https://app.example/' is not an origin like https://app.example.com (scheme, host and port only, no trailing slash)",
    "/http/cors/origins/2: 'ftp://x.example' is not an origin like https://app.example.com (scheme, host and port only, no trailing slash)",
  ]);
});
