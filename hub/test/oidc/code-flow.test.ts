import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import {
  Browser,
  MOBILE,
  MOBILE_REDIRECT,
  PASSWORD,
  THIRD_PARTY,
  THIRD_PARTY_REDIRECT,
  authorizeUrl,
  formAction,
  pkcePair,
  signInForCode,
  skipEnrolment,
  startHarness,
  token,
  type Harness,
  openSignInPage,
} from './harness.ts';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(() => harness.close());

async function codeTokens(browser = new Browser(harness.base)) {
  const { code, verifier } = await signInForCode(harness, browser, { noConsent: true });
  const response = await token(harness.base, { grant_type: 'authorization_code', client_id: MOBILE, code, code_verifier: verifier, redirect_uri: MOBILE_REDIRECT });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as { access_token: string; refresh_token: string; id_token: string; scope: string };
}

test('authorization code + PKCE: sign-in form, code at the custom scheme, tokens, a refresh rotates the refresh token', async () => {
  const tokens = await codeTokens();
  assert.ok(tokens.refresh_token);
  assert.ok(tokens.id_token);
  const refreshed = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: tokens.refresh_token });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  assert.notEqual(refreshed.body.refresh_token, tokens.refresh_token);
  assert.ok(refreshed.body.access_token);
});

test('the access token is an RFC 9068 JWT for the API, verifiable against the JWKS', async () => {
  const tokens = await codeTokens();
  assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
  const jwks = createRemoteJWKSet(new URL(`${harness.base}/oidc/jwks`));
  const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: `${harness.base}/oidc`, audience: `${harness.base}/api`, typ: 'at+jwt' });
  assert.equal(payload.sub, harness.user.id);
  assert.equal(payload.client_id, MOBILE);
  assert.deepEqual(String(payload.scope).split(' ').sort(), ['agents:read', 'readings:read']);
  assert.ok(typeof payload.exp === 'number' && payload.exp - (payload.iat ?? 0) === 600);
  assert.deepEqual(payload.pb_roles, [{ gym: 'gym-a', role: 'athlete' }]);
});

test('reusing a rotated refresh token fails and revokes the whole grant: the newer refresh token fails too', async () => {
  const tokens = await codeTokens();
  const first = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: tokens.refresh_token });
  assert.equal(first.status, 200);
  const reused = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: tokens.refresh_token });
  assert.equal(reused.status, 400);
  assert.equal(reused.body.error, 'invalid_grant');
  const newer = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: String(first.body.refresh_token) });
  assert.equal(newer.status, 400);
  assert.equal(newer.body.error, 'invalid_grant');
  const audit = await harness.store.listAudit({ limit: 50 });
  assert.ok(audit.events.some((event) => event.type === 'grant.revoked' && event.detail.reason === 'refresh_token_reused'));
});

test('a wrong code_verifier is refused, and the code is not usable afterwards by the right one either', async () => {
  const { code, verifier } = await signInForCode(harness, new Browser(harness.base));
  const wrong = await token(harness.base, {
    grant_type: 'authorization_code',
    client_id: MOBILE,
    code,
    code_verifier: `${verifier.slice(0, -2)}xx`,
    redirect_uri: MOBILE_REDIRECT,
  });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'invalid_grant');
  const missing = await token(harness.base, { grant_type: 'authorization_code', client_id: MOBILE, code, redirect_uri: MOBILE_REDIRECT });
  assert.equal(missing.status, 400);
});

test('a public client without PKCE, an unknown client and an unregistered redirect URI are refused at authorize', async () => {
  const browser = new Browser(harness.base);
  const noPkce = await browser.request(authorizeUrl(harness.base, { client_id: MOBILE, redirect_uri: MOBILE_REDIRECT, scope: 'openid' }));
  assert.equal(noPkce.status, 303);
  const redirected = new URL(String(noPkce.headers.get('location')));
  assert.equal(redirected.protocol, 'app.pulsebridge:');
  assert.equal(redirected.searchParams.get('error'), 'invalid_request');
  assert.match(String(redirected.searchParams.get('error_description')), /PKCE/);

  const { challenge } = pkcePair();
  const unknown = await browser.request(
    authorizeUrl(harness.base, { client_id: 'nobody', redirect_uri: MOBILE_REDIRECT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }),
  );
  assert.equal(unknown.status, 400);
  assert.match(await unknown.text(), /client is invalid|invalid_client/);

  const elsewhere = await browser.request(
    authorizeUrl(harness.base, { client_id: MOBILE, redirect_uri: 'app.evil:/steal', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }),
  );
  assert.equal(elsewhere.status, 400, 'an unregistered redirect is never followed');
  assert.equal(elsewhere.headers.get('location'), null);
  assert.match(await elsewhere.text(), /redirect_uri/);
});

test('a wrong password and an unknown email get the same answer, both audited; the right one is audited as a success', async () => {
  const browser = new Browser(harness.base);
  const signInPage = await openSignInPage(harness, browser);
  const action = formAction(signInPage, 'login');
  const wrong = await browser.request(action, { form: { email: 'ada@example.com', password: 'not the password at all' } });
  const unknown = await browser.request(action, { form: { email: 'nobody@example.com', password: 'not the password at all' } });
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  const message = (page: string) => /role="alert">([^<]*)</.exec(page)?.[1];
  assert.equal(message(await wrong.text()), 'Wrong email or password.');
  assert.equal(message(await unknown.text()), 'Wrong email or password.');
  const right = await skipEnrolment(browser, await browser.follow(action, MOBILE_REDIRECT, { form: { email: 'ada@example.com', password: PASSWORD } }), MOBILE_REDIRECT);
  assert.ok(right instanceof URL && right.searchParams.has('code'));
  const events = (await harness.store.listAudit({ limit: 100 })).events;
  assert.ok(events.some((event) => event.type === 'sign_in.failed' && event.detail.reason === 'wrong_password' && event.actorUserId === harness.user.id));
  assert.ok(events.some((event) => event.type === 'sign_in.failed' && event.detail.reason === 'unknown_account' && event.actorUserId === undefined));
  assert.ok(events.some((event) => event.type === 'sign_in.succeeded' && event.actorUserId === harness.user.id));
});

test('a disabled user is refused at the sign-in form, and their refresh token stops working', async () => {
  const tokens = await codeTokens();
  await harness.store.setUserDisabled(harness.user.id, true);
  try {
    await assert.rejects(signInForCode(harness, new Browser(harness.base)), /account is disabled/);
    const refreshed = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 400);
  } finally {
    await harness.store.setUserDisabled(harness.user.id, false);
  }
});

test('a third-party client gets the consent page; the first-party app does not', async () => {
  const browser = new Browser(harness.base);
  const { challenge } = pkcePair();
  let step = await browser.follow(
    authorizeUrl(harness.base, {
      client_id: THIRD_PARTY,
      redirect_uri: THIRD_PARTY_REDIRECT,
      scope: 'openid profile readings:read',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }),
    THIRD_PARTY_REDIRECT,
  );
  assert.ok(step instanceof Response);
  step = await browser.follow(formAction(await step.text(), 'login'), THIRD_PARTY_REDIRECT, { form: { email: 'ada@example.com', password: PASSWORD } });
  step = await skipEnrolment(browser, step, THIRD_PARTY_REDIRECT);
  assert.ok(step instanceof Response, 'consent is asked');
  const consent = await step.text();
  assert.match(consent, /Coach Planner/);
  assert.match(consent, /Read stored and live readings/);
  const done = await browser.follow(formAction(consent, 'confirm'), THIRD_PARTY_REDIRECT, { form: {} });
  assert.ok(done instanceof URL && done.searchParams.has('code'));
  // The first-party app, in the same browser session, asks no consent: one "continue as" click, which
  // oidc-provider requires of native clients so that an app claiming the same scheme cannot take a code unseen.
  const mobile = await browser.follow(
    authorizeUrl(harness.base, { client_id: MOBILE, redirect_uri: MOBILE_REDIRECT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }),
    MOBILE_REDIRECT,
  );
  assert.ok(mobile instanceof Response);
  const proceed = await mobile.text();
  assert.match(proceed, /Continue to <strong>Pulsebridge<\/strong> as Ada Athlete/);
  assert.doesNotMatch(proceed, /<li>/);
  const code = await browser.follow(formAction(proceed, 'confirm'), MOBILE_REDIRECT, { form: {} });
  assert.ok(code instanceof URL && code.searchParams.has('code'));
});

test('revoking a refresh token ends its grant', async () => {
  const tokens = await codeTokens();
  const revoked = await fetch(`${harness.base}/oidc/token/revocation`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: MOBILE, token: tokens.refresh_token, token_type_hint: 'refresh_token' }).toString(),
  });
  assert.equal(revoked.status, 200);
  const refreshed = await token(harness.base, { grant_type: 'refresh_token', client_id: MOBILE, refresh_token: tokens.refresh_token });
  assert.equal(refreshed.status, 400);
  assert.equal(refreshed.body.error, 'invalid_grant');
});

test('RP-initiated logout: confirm page, back to the registered post-logout URI with state, and the next sign-in asks for the password', async () => {
  const browser = new Browser(harness.base);
  const tokens = await codeTokens(browser);
  const end = await browser.request(
    `${harness.base}/oidc/session/end?${new URLSearchParams({ id_token_hint: tokens.id_token, post_logout_redirect_uri: 'app.pulsebridge:/oauth/signed-out', state: 'bye' }).toString()}`,
  );
  assert.equal(end.status, 200);
  const page = await end.text();
  const action = /action="([^"]+)"/.exec(page)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
  assert.ok(action && xsrf, page);
  const out = await browser.request(action, { form: { xsrf, logout: 'yes' } });
  assert.equal(out.status, 303);
  const back = new URL(String(out.headers.get('location')));
  assert.equal(`${back.protocol}${back.pathname}`, 'app.pulsebridge:/oauth/signed-out');
  assert.equal(back.searchParams.get('state'), 'bye');
  const { challenge } = pkcePair();
  const again = await browser.follow(
    authorizeUrl(harness.base, { client_id: MOBILE, redirect_uri: MOBILE_REDIRECT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }),
    MOBILE_REDIRECT,
  );
  assert.ok(again instanceof Response);
  assert.match(await again.text(), /\/login"/);
});

test('discovery lives at /oidc/.well-known/openid-configuration and lists the flows', async () => {
  const discovery = (await (await fetch(`${harness.base}/oidc/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  assert.equal(discovery.issuer, `${harness.base}/oidc`);
  assert.equal(discovery.jwks_uri, `${harness.base}/oidc/jwks`);
  assert.deepEqual(discovery.code_challenge_methods_supported, ['S256']);
  for (const grant of ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code']) {
    assert.ok((discovery.grant_types_supported as string[]).includes(grant), grant);
  }
  assert.ok(discovery.end_session_endpoint);
  assert.ok(discovery.revocation_endpoint);
  const other = await fetch(`${harness.base}/api/v1/agents`);
  assert.equal(await other.text(), 'api', 'everything else goes to the API');
});
