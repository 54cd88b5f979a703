/**
 * deploy/gateway/envoy.yaml (Envoy is not installed here): it parses, validates JWTs against the hub's real
 * JWKS path, issuer and audience, asks a token on exactly the API operations the hub does not serve publicly,
 * keeps live streams open, limits rates, and sends traffic only to ready replicas.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { OPERATIONS } from '../../hub/src/api/operations.ts';
import { hubApiAudience, hubTokenIssuer } from '../../hub/src/auth/access-tokens.ts';
import { OIDC_PATH } from '../../hub/src/oidc/mount.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The public base URL the example is written for (identity.issuer). */
const ISSUER = 'https://hub.pulsebridge.example';

/* eslint-disable @typescript-eslint/no-explicit-any -- Envoy's configuration, checked field by field below */
const envoy = parse(readFileSync(join(ROOT, 'deploy/gateway/envoy.yaml'), 'utf8')) as any;
const manager = envoy.static_resources.listeners[0].filter_chains[0].filters.find((f: any) => f.name === 'envoy.filters.network.http_connection_manager').typed_config;
const filters: any[] = manager.http_filters;
const filter = (name: string): any => filters.find((f) => f.name === name)?.typed_config;
const routes: any[] = manager.route_config.virtual_hosts[0].routes;

interface Match {
  prefix?: string;
  safe_regex?: { regex: string };
}
const matchesPath = (match: Match, path: string): boolean =>
  match.prefix !== undefined ? path.startsWith(match.prefix) : match.safe_regex !== undefined && new RegExp(match.safe_regex.regex).test(path);
/** An operation's path with its parameters filled in, as a request has it. */
const concrete = (path: string): string => path.replace(/:(\w+)/g, 'x1');
const operations = Object.values(OPERATIONS) as { path: string; access: unknown; response?: { contentType?: string } }[];
const isPublic = (op: { access: unknown }): boolean => (op.access as { public?: boolean }).public === true;

test('the JWT provider names the hub issuer, API audience and JWKS path', () => {
  const providers = filter('envoy.filters.http.jwt_authn').providers as Record<string, any>;
  const provider = Object.values(providers)[0];
  assert.equal(provider.issuer, hubTokenIssuer(ISSUER));
  assert.deepEqual(provider.audiences, [hubApiAudience(ISSUER)]);
  const jwks = new URL(provider.remote_jwks.http_uri.uri);
  assert.equal(jwks.pathname, `${OIDC_PATH}/jwks`);
  assert.ok(readFileSync(join(ROOT, 'hub/src/oidc/mount.ts'), 'utf8').includes('url === `${OIDC_PATH}/jwks`'), 'the hub serves its keys there');
  assert.equal(provider.remote_jwks.http_uri.cluster, 'hub');
  assert.equal(provider.forward, true, 'the hub checks scopes and roles itself: the token goes on');
});

test('a token is required at the edge for exactly the API operations the hub does not serve publicly', () => {
  const rules = filter('envoy.filters.http.jwt_authn').rules as { match: Match; requires?: unknown }[];
  const api = operations.filter((op) => op.path.startsWith('/api/'));
  assert.ok(api.length > 20);
  for (const op of api) {
    const rule = rules.find((r) => matchesPath(r.match, concrete(op.path)));
    assert.ok(rule, `a rule covers ${op.path}`);
    assert.equal(rule.requires !== undefined, !isPublic(op), `${op.path}: ${isPublic(op) ? 'public' : 'needs a token'}`);
  }
  for (const op of operations.filter((op) => !op.path.startsWith('/api/'))) {
    const rule = rules.find((r) => matchesPath(r.match, concrete(op.path)));
    assert.ok(rule?.requires === undefined, `${op.path} (probes, metrics, app links) is not asked for a token`);
  }
});

test('live streams (Server-Sent Events) have no route timeout; sign-in, tokens and enrollment a stricter rate limit', () => {
  const routeOf = (path: string): any => routes.find((r) => matchesPath(r.match, path));
  const streams = operations.filter((op) => op.response?.contentType === 'text/event-stream');
  assert.ok(streams.length >= 2);
  for (const op of streams) assert.equal(routeOf(concrete(op.path)).route?.timeout, '0s', op.path);
  assert.ok(filter('envoy.filters.http.local_ratelimit').token_bucket.max_tokens > 0, 'an edge-wide rate limit');
  for (const path of ['/oidc/token', '/interaction/abc/login', '/api/v1/enroll']) {
    const limit = routeOf(path).typed_per_filter_config?.['envoy.filters.http.local_ratelimit'];
    assert.ok(limit?.token_bucket.max_tokens < filter('envoy.filters.http.local_ratelimit').token_bucket.max_tokens, path);
  }
  assert.ok(routeOf('/metrics').direct_response, '/metrics is not served at the edge');
  assert.deepEqual(filters.map((f) => f.name).at(-1), 'envoy.filters.http.router');
});

test('the hub cluster is health-checked on /readyz at the hub port', () => {
  const cluster = envoy.static_resources.clusters.find((c: any) => c.name === 'hub');
  assert.equal(cluster.health_checks[0].http_health_check.path, OPERATIONS.readyz.path);
  assert.equal(cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value, 8080);
});
