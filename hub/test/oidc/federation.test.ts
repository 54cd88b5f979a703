/**
 * Test 3 of issue 8: a second oidc-provider on 127.0.0.1:0 plays the company's identity provider. Its people sign
 * in at the hub through it (a just-in-time account mapped from its claims, the same user every time), and its JWT
 * access tokens for the hub's audience are accepted on the API with the mapped principal and gym scoping.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { pino } from 'pino';
import { AccessTokenVerifier } from '../../src/auth/access-tokens.ts';
import { TrustedIssuers, trustedIssuerSecretRefs, trustedIssuersConfigProblems } from '../../src/auth/config.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';
import { FEDERATED_CALLBACK_PATH, federationRoutes } from '../../src/oidc/federation.ts';
import { mountIdentity } from '../../src/oidc/mount.ts';
import { MemoryAgentRegistry, startApi, type LogLine, type RunningApi } from '../api/harness.ts';
import { Browser, MOBILE, MOBILE_REDIRECT, authorizeUrl, identityConfig, pkcePair, token } from './harness.ts';

const HUB_CLIENT = 'pulsebridge-hub';
const HUB_CLIENT_SECRET = 'hub-client-secret-for-tests-only';
const PORTAL = 'company-portal';
const PORTAL_REDIRECT = 'http://127.0.0.1/portal/callback';
/** The audience the company's IdP gives tokens meant for the hub's API. */
const HUB_AUDIENCE = 'https://api.pulsebridge.example';
const OTHER_AUDIENCE = 'https://payroll.company.example';
const EMPLOYEE = { sub: 'emp-42', email: 'grace@company.example', name: 'Grace Hopper', groups: ['gym-a:coach', '*:platform_admin'] };
/** A company account without an email: no hub account can be made from it. */
const CONTRACTOR = { sub: 'contractor-7', name: 'No Mail' };
/** A company account whose email is a local hub account's, which it must not take over. */
const LOCAL_EMAIL = 'ada@example.com';
const NAMESAKE = { sub: 'emp-99', email: LOCAL_EMAIL, name: 'Another Ada' };
const PEOPLE: Record<string, Record<string, unknown>> = Object.fromEntries([EMPLOYEE, CONTRACTOR, NAMESAKE].map((person) => [person.sub, person]));

/** Reads a form body of the company IdP's tiny login page. */
async function formOf(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** The company's identity provider: one employee, a login form of its own, consent given by policy. */
async function startCompanyIdp(hubCallback: () => string): Promise<{ issuer: string; close(): Promise<void> }> {
  let listener: RequestListener = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const key = { ...(await exportJWK(privateKey)), kid: 'corp-1', use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: HUB_CLIENT,
        client_secret: HUB_CLIENT_SECRET,
        redirect_uris: [hubCallback()],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      { client_id: PORTAL, redirect_uris: [PORTAL_REDIRECT], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'] },
    ],
    jwks: { keys: [key] as never },
    // Apart from the hub's own cookie names: the test browser keeps cookies by name, as one browser on one host.
    cookies: { keys: ['corp-cookie-key'], names: { session: 'corp_session', interaction: 'corp_interaction', resume: 'corp_resume' } },
    findAccount: async (_ctx, sub) => {
      const person = PEOPLE[sub];
      return person === undefined ? undefined : { accountId: sub, claims: () => ({ ...person, sub }) };
    },
    // groups with the profile: the ID token of a code flow carries none of them (conformIdTokenClaims), so the hub
    // reads them at the userinfo endpoint.
    claims: { openid: ['sub'], email: ['email'], profile: ['name', 'groups'] },
    // Absolute, as the test browser resolves relative redirects against the hub.
    interactions: { url: (_ctx, interaction) => `${issuer}/interaction/${interaction.uid}` },
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (accountId === undefined || clientId === undefined) return undefined;
      const grant = new ctx.oidc.provider.Grant({ accountId, clientId });
      grant.addOIDCScope('openid email profile');
      grant.addResourceScope(HUB_AUDIENCE, 'agents:read');
      grant.addResourceScope(OTHER_AUDIENCE, 'agents:read');
      await grant.save();
      return grant;
    },
    extraTokenClaims: (_ctx, issued) => ('accountId' in issued && issued.accountId === EMPLOYEE.sub ? { email: EMPLOYEE.email, groups: EMPLOYEE.groups } : undefined),
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => ({ scope: 'agents:read', audience: indicator, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
  });
  const callback = provider.callback();
  listener = async (req, res) => {
    const match = /^\/interaction\/([^/?]+)(\/login)?/.exec(req.url ?? '');
    if (match === null) return void callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (match[2] === undefined) {
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<form method="post" action="/interaction/${details.uid}/login"><input name="login"><button>Log in</button></form>`);
        return;
      }
      const login = (await formOf(req)).get('login') ?? '';
      const result = login === 'deny' ? { error: 'access_denied', error_description: 'refused' } : { login: { accountId: login } };
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    } catch (err) {
      res.writeHead(400).end(String(err));
    }
  };
  return {
    issuer,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function trustedIssuers(issuer: string): TrustedIssuers {
  return Value.Parse(TrustedIssuers, [
    {
      name: 'corp',
      issuer,
      audience: HUB_AUDIENCE,
      type: 'at+jwt',
      claims: { roles: { claim: 'groups', default: { gym: 'gym-a', role: 'athlete' } } },
      signIn: { clientId: HUB_CLIENT, clientSecret: HUB_CLIENT_SECRET, label: 'Company' },
    },
  ]);
}

/** Follows a chain of redirects across the hub and the IdP, logging in at the IdP when its form shows. */
async function throughCompanyLogin(browser: Browser, url: string, stopAt: string, login = EMPLOYEE.sub): Promise<URL> {
  let step = await browser.follow(url, stopAt);
  if (step instanceof Response) {
    const page = await step.text();
    const action = /action="([^"]+\/login)"/.exec(page)?.[1];
    if (step.status !== 200 || action === undefined) throw new Error(`expected the company login (${step.status}):\n${page}`);
    step = await browser.follow(new URL(action, step.url).href, stopAt, { form: { login } });
  }
  if (!(step instanceof URL)) throw new Error(`did not reach ${stopAt}: ${step.status} ${await step.text()}`);
  return step;
}

describe('federation with a company identity provider', () => {
  let dir: string;
  let store: SqliteIdentityStore;
  let hubServer: Server;
  let hubBase: string;
  let idp: Awaited<ReturnType<typeof startCompanyIdp>>;
  const logs: LogLine[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pb-federation-'));
    store = new SqliteIdentityStore({ path: join(dir, 'identity.db') });
    await store.start();
    await store.createUser({ email: LOCAL_EMAIL, displayName: 'Ada Athlete' });
    let listener: RequestListener = (_req, res) => res.writeHead(503).end();
    hubServer = createServer((req, res) => listener(req, res));
    await new Promise<void>((resolve) => hubServer.listen(0, '127.0.0.1', resolve));
    hubBase = `http://127.0.0.1:${(hubServer.address() as AddressInfo).port}`;
    idp = await startCompanyIdp(() => `${hubBase}${FEDERATED_CALLBACK_PATH}`);
    const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    const federation = federationRoutes({ publicBaseUrl: hubBase, trustedIssuers: trustedIssuers(idp.issuer), store, log });
    assert.equal(federation.callbackUrl, `${hubBase}${FEDERATED_CALLBACK_PATH}`);
    const identity = await mountIdentity({ config: identityConfig(hubBase), store, log, federation: federation.buttons, routes: federation.routes });
    listener = identity.handler((_req, res) => res.writeHead(404).end());
  });

  after(async () => {
    hubServer.closeAllConnections();
    await new Promise<void>((resolve) => hubServer.close(() => resolve()));
    await idp.close();
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The mobile app's authorize at the hub, up to its sign-in page; returns the "Sign in with Company" link. */
  async function companyButton(browser: Browser): Promise<{ href: string; verifier: string }> {
    const { verifier, challenge } = pkcePair();
    const page = await browser.follow(
      authorizeUrl(hubBase, {
        client_id: MOBILE,
        redirect_uri: MOBILE_REDIRECT,
        scope: 'openid email profile agents:read',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
      MOBILE_REDIRECT,
    );
    assert.ok(page instanceof Response);
    const html = await page.text();
    const button = /<a class="button secondary" href="([^"]+)">Sign in with Company<\/a>/.exec(html);
    assert.ok(button?.[1], `no company button on:\n${html}`);
    return { href: button[1], verifier };
  }

  /** A whole federated sign-in of the mobile app; returns the hub's tokens and the callback URL used. */
  async function federatedSignIn(hubBrowser: Browser): Promise<{ tokens: Record<string, unknown>; callback: URL }> {
    const { href, verifier } = await companyButton(hubBrowser);
    const callback = await throughCompanyLogin(hubBrowser, new URL(href, hubBase).href, `${hubBase}${FEDERATED_CALLBACK_PATH}`);
    const landed = await hubBrowser.follow(callback.href, MOBILE_REDIRECT);
    assert.ok(landed instanceof URL, landed instanceof Response ? `${landed.status}: ${await landed.text()}` : '');
    const code = landed.searchParams.get('code');
    assert.ok(code, landed.href);
    const tokens = await token(hubBase, { grant_type: 'authorization_code', client_id: MOBILE, code, code_verifier: verifier, redirect_uri: MOBILE_REDIRECT });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    return { tokens: tokens.body, callback };
  }

  const subjectOf = (jwt: unknown): string => JSON.parse(Buffer.from(String(jwt).split('.')[1] ?? '', 'base64url').toString('utf8')).sub as string;

  test('federated sign-in: the company login ends in hub tokens for a just-in-time user with the mapped email and roles, the same user every time', async () => {
    const first = await federatedSignIn(new Browser(hubBase));
    const user = await store.findUserByEmail(EMPLOYEE.email);
    assert.ok(user);
    assert.equal(user.displayName, EMPLOYEE.name);
    assert.equal(subjectOf(first.tokens.id_token), user.id);
    assert.equal(await store.findFederatedUser(idp.issuer, EMPLOYEE.sub), user.id);
    const roles = (await store.listMembershipsOfUser(user.id)).map(({ gym, role }) => `${gym}:${role}`).sort();
    // The default of a new account, and the company's group; "*:platform_admin" is not the company's to grant.
    assert.deepEqual(roles, ['gym-a:athlete', 'gym-a:coach']);

    // A new browser: a new login at the company, the same hub user.
    const second = await federatedSignIn(new Browser(hubBase));
    assert.equal(subjectOf(second.tokens.id_token), user.id);
    assert.equal((await store.listMembershipsOfUser(user.id)).length, 2);
    const audit = (await store.listAudit({ limit: 100 })).events;
    assert.equal(audit.filter((event) => event.type === 'federated.user_created').length, 1);
    const signIns = audit.filter((event) => event.type === 'federated.sign_in');
    assert.equal(signIns.length, 2);
    assert.ok(signIns.every((event) => event.actorUserId === user.id && event.detail.issuerName === 'corp'));
    assert.ok(audit.some((event) => event.type === 'sign_in.succeeded' && event.actorUserId === user.id && JSON.stringify(event.detail.methods) === '["federated:corp"]'));
  });

  test('a replayed callback is refused with a page linking back to sign-in, and no new hub code', async () => {
    const { callback } = await federatedSignIn(new Browser(hubBase));
    const replay = await new Browser(hubBase).request(callback.href);
    assert.equal(replay.status, 400);
    const page = await replay.text();
    assert.match(page, /expired or was already used/);
    assert.equal(replay.headers.get('location'), null);
    assert.ok(logs.some((line) => line.msg === 'federated sign-in refused' && line.reason === 'unknown_state'));
  });

  test('a code the company does not accept ends on the failure page (exchange_failed), with a link back to sign-in', async () => {
    const browser = new Browser(hubBase);
    const { href } = await companyButton(browser);
    const callback = await throughCompanyLogin(browser, new URL(href, hubBase).href, `${hubBase}${FEDERATED_CALLBACK_PATH}`);
    callback.searchParams.set('code', 'not-a-code-the-company-issued');
    const response = await browser.request(callback.href);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /could not be completed[\s\S]*Back to sign-in/);
    assert.ok(logs.some((line) => line.msg === 'federated sign-in refused' && line.reason === 'exchange_failed'));
  });

  test('a button for an upstream that is not configured, or a foreign interaction, is refused without leaving the hub', async () => {
    const browser = new Browser(hubBase);
    const { href } = await companyButton(browser);
    const unknown = await browser.request(href.replace(/\/corp$/, '/nope'));
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /does not exist/);
    const foreign = await new Browser(hubBase).request(href);
    assert.equal(foreign.status, 400);
    assert.equal(foreign.headers.get('location'), null);
  });

  test('a callback with an unknown state, or none, is refused', async () => {
    for (const query of ['?state=made-up&code=abc', '?code=abc', '']) {
      const response = await new Browser(hubBase).request(`${hubBase}${FEDERATED_CALLBACK_PATH}${query}`);
      assert.equal(response.status, 400, query);
      assert.match(await response.text(), /expired or was already used/);
    }
  });

  test('upstream error=access_denied: a page saying the company sign-in did not let the person in, with a link back to this sign-in', async () => {
    const browser = new Browser(hubBase);
    const { href } = await companyButton(browser);
    const uid = /\/interaction\/([^/]+)\/federated\//.exec(href)?.[1];
    assert.ok(uid);
    const denied = await throughCompanyLogin(browser, new URL(href, hubBase).href, `${hubBase}${FEDERATED_CALLBACK_PATH}`, 'deny');
    assert.equal(denied.searchParams.get('error'), 'access_denied');
    const response = await browser.request(denied.href);
    assert.equal(response.status, 400);
    const page = await response.text();
    assert.match(page, /did not let you in/);
    assert.ok(page.includes(`href="/interaction/${uid}"`), page);
    const refused = logs.filter((line) => line.msg === 'federated sign-in refused' && line.reason === 'upstream_error');
    assert.equal(refused.length, 1);
    // The sign-in page is still there for a password instead.
    const back = await browser.request(`/interaction/${uid}`);
    assert.equal(back.status, 200);
    assert.ok(!logs.some((line) => JSON.stringify(line).includes(HUB_CLIENT_SECRET)), 'the client secret reached the log');
  });

  test('the callback completes only in the browser that started the sign-in (no login CSRF)', async () => {
    // The attacker signs in at the company in their own browser and stops before the callback...
    const attacker = new Browser(hubBase);
    const { href } = await companyButton(attacker);
    const planted = await throughCompanyLogin(attacker, new URL(href, hubBase).href, `${hubBase}${FEDERATED_CALLBACK_PATH}`);
    // ...and makes the victim's browser open it: the upstream login is done, but the hub's sign-in is not the victim's.
    const victim = new Browser(hubBase);
    const done = await victim.request(planted.href);
    assert.equal(done.status, 303);
    const finish = await victim.request(String(done.headers.get('location')));
    assert.equal(finish.status, 400);
    assert.equal(finish.headers.get('location'), null);
  });

  test('a company account without an email, or with the email of an unlinked hub account, gets a page saying so and no account', async () => {
    for (const [person, text, reason] of [
      [CONTRACTOR, /has no email address/, 'no_email'],
      [NAMESAKE, /already exists and is not linked/, 'email_taken'],
    ] as const) {
      const browser = new Browser(hubBase);
      const { href } = await companyButton(browser);
      const callback = await throughCompanyLogin(browser, new URL(href, hubBase).href, `${hubBase}${FEDERATED_CALLBACK_PATH}`, person.sub);
      const response = await browser.request(callback.href);
      assert.equal(response.status, 400, person.sub);
      const page = await response.text();
      assert.match(page, text);
      assert.match(page, /href="\/interaction\/[^"]+">Back to sign-in/);
      assert.equal(await store.findFederatedUser(idp.issuer, person.sub), undefined);
      assert.ok(logs.some((line) => line.msg === 'federated sign-in refused' && line.reason === reason));
    }
  });

  describe('federated access tokens on the API', () => {
    let api: RunningApi;

    before(async () => {
      const verifier = new AccessTokenVerifier({ identityIssuer: hubBase, localJwks: async () => ({ keys: [] }), trustedIssuers: trustedIssuers(idp.issuer), store });
      api = await startApi({ verifier, registry: new MemoryAgentRegistry({ 'box-a': 'gym-a', 'box-b': 'gym-b' }) });
    });
    after(() => api.close());

    /** An access token the company's IdP issues to its portal for `resource`, by its own code flow. */
    async function companyToken(resource: string): Promise<string> {
      const { verifier, challenge } = pkcePair();
      const start = `${idp.issuer}/auth?${new URLSearchParams({
        client_id: PORTAL,
        response_type: 'code',
        redirect_uri: PORTAL_REDIRECT,
        scope: 'openid agents:read',
        resource,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }).toString()}`;
      const landed = await throughCompanyLogin(new Browser(idp.issuer), start, PORTAL_REDIRECT);
      const response = await fetch(`${idp.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: PORTAL,
          code: landed.searchParams.get('code') ?? '',
          code_verifier: verifier,
          redirect_uri: PORTAL_REDIRECT,
          resource,
        }).toString(),
      });
      const body = (await response.json()) as { access_token?: string };
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.ok(body.access_token);
      return body.access_token;
    }

    test("a company token for the hub's audience is the linked user, scoped to the gyms the mapping gives", async () => {
      const accessToken = await companyToken(HUB_AUDIENCE);
      const auth = { Authorization: `Bearer ${accessToken}` };
      const listed = await api.get('/api/v1/agents', auth);
      assert.equal(listed.status, 200, await listed.clone().text());
      const agents = (await listed.json()) as { id: string }[];
      assert.deepEqual(
        agents.map((agent) => agent.id),
        ['box-a'],
      );
      const otherGym = await api.get('/api/v1/agents?gym=gym-b', auth);
      assert.equal(otherGym.status, 403);
      const user = await store.findUserByEmail(EMPLOYEE.email);
      assert.equal(await store.findFederatedUser(idp.issuer, EMPLOYEE.sub), user?.id);
    });

    test('a company token for another audience is refused with 401 and the reason in the log', async () => {
      const accessToken = await companyToken(OTHER_AUDIENCE);
      const response = await api.get('/api/v1/agents', { Authorization: `Bearer ${accessToken}` });
      assert.equal(response.status, 401);
      assert.ok(api.logs.some((line) => line.msg === 'access token refused' && line.reason === 'wrong_audience'));
    });
  });
});

test('config: signIn defaults its scopes, must ask for openid, and its secret is listed for the loader', () => {
  const list = Value.Parse(TrustedIssuers, [
    { name: 'corp', issuer: 'https://idp.corp.example', audience: 'a', signIn: { clientId: 'hub', clientSecret: { env: 'CORP_SECRET' }, label: 'Corp' } },
    { name: 'other', issuer: 'https://idp.other.example', audience: 'a', signIn: { clientId: 'hub', clientSecret: 's', label: 'Other', scopes: 'email profile' } },
    { name: 'tokens-only', issuer: 'https://idp.third.example', audience: 'a' },
  ]);
  assert.equal(list[0]?.signIn?.scopes, 'openid email profile');
  assert.deepEqual(trustedIssuersConfigProblems(list, '/identity/trustedIssuers'), ['/identity/trustedIssuers/1/signIn/scopes: must include openid']);
  assert.deepEqual(
    trustedIssuerSecretRefs(list, '/identity/trustedIssuers').map((entry) => entry.path),
    ['/identity/trustedIssuers/0/signIn/clientSecret', '/identity/trustedIssuers/1/signIn/clientSecret'],
  );
  assert.equal(Value.Check(TrustedIssuers, [{ name: 'x', issuer: 'https://x.example', audience: 'a', signIn: { clientId: 'hub', label: 'X' } }]), false);
});
