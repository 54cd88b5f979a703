/**
 * Federated sign-in: a trusted issuer with `signIn` gets a button on the sign-in page, and its people sign in
 * through the issuer's own login (authorization code with PKCE S256, state and nonce kept server side in the
 * identity store, ID token signature, issuer, audience and nonce checked by openid-client). The claims become an
 * account through the same `Accounts` mapping the API uses for the issuer's access tokens, so a person is one
 * user whether they come with a token or through the sign-in page.
 *
 * The upstream returns to one fixed URL, /interaction/federated/callback, where the browser does not send the
 * interaction cookie (its path is /interaction/<uid>). The callback therefore does the exchange and then sends the
 * browser on to /interaction/<uid>/federated-done, which only the browser holding that interaction's cookie can
 * use: a callback URL planted in another person's browser (login CSRF) ends there.
 */
import type Koa from 'koa';
import type Router from '@koa/router';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { PulsebridgeError, errorMessage, resolveSecret } from '@pulsebridge/runtime';
import { Accounts, rolesFromClaim } from '../auth/accounts.ts';
import type { TrustedIssuer, TrustedIssuers } from '../auth/config.ts';
import { TokenRefused } from '../auth/refusal.ts';
import type { IdentityStore } from '../identity/identity-store.ts';
import type { FederationButton, SignInCompletion } from './interactions.ts';
import { errorBox, html, page } from './views.ts';

export const FEDERATED_CALLBACK_PATH = '/interaction/federated/callback';
/** The oidc model storage name of a pending upstream login, keyed by its `state`. */
export const FEDERATED_LOGIN_MODEL = 'FederatedLogin';
/** oidc-provider's default name of the interaction cookie, which the hub's provider keeps. */
const INTERACTION_COOKIE = '_interaction';
/** How long a person may take at the upstream login. */
const FEDERATED_LOGIN_TTL_SECONDS = 600;
/** After a successful callback, how long the browser has to reach federated-done. */
const FEDERATED_DONE_TTL_SECONDS = 60;

export interface FederationOptions {
  /** The hub's public base URL (`identity.issuer`); the callback is `<it>/interaction/federated/callback`. */
  publicBaseUrl: string;
  trustedIssuers: TrustedIssuers;
  store: IdentityStore;
  log: Logger;
  /** Where client secrets given as `{ env }` are read. */
  env?: NodeJS.ProcessEnv;
  /** Discovery, token and key requests to the upstream give up after this (default 5 s). */
  fetchTimeoutMs?: number;
  now?: () => number;
}

export interface Federation {
  /** For mountIdentity's `federation`: one button per issuer with `signIn`. */
  buttons: FederationButton[];
  /** For mountIdentity's `routes`. */
  routes: (router: Router, signIn: SignInCompletion) => void;
  /** The redirect URI to register at every upstream. */
  callbackUrl: string;
}

/** What is kept of one upstream login between the redirect and the callback (never sent to the browser). */
interface PendingLogin {
  uid: string;
  name: string;
  codeVerifier: string;
  nonce: string;
  /** Set by the callback once the upstream proved who the person is. */
  userId?: string;
}

/** Why a federated sign-in failed: logged and audited; the page says it in words. */
export type FederationFailure =
  'unknown_upstream' | 'upstream_unavailable' | 'upstream_error' | 'unknown_state' | 'exchange_failed' | 'no_email' | 'email_taken' | 'disabled' | 'not_completed';

const PAGE_TEXT: Record<FederationFailure, string> = {
  unknown_upstream: 'This sign-in option does not exist.',
  upstream_unavailable: 'The company sign-in cannot be reached right now. Try again in a moment.',
  upstream_error: 'The company sign-in did not let you in, or was cancelled.',
  unknown_state: 'This sign-in has expired or was already used.',
  exchange_failed: 'The company sign-in could not be completed.',
  no_email: 'Your company account has no email address, which Pulsebridge needs for a new account. Ask your administrator.',
  email_taken: 'A Pulsebridge account with your email already exists and is not linked to your company account. Sign in with its password instead.',
  disabled: 'This account is disabled. Ask your gym to enable it.',
  not_completed: 'This sign-in was not completed.',
};

/** A federated sign-in that ends on the failure page; the code is the logged reason. */
class FederationRefused extends PulsebridgeError<FederationFailure> {
  constructor(
    code: FederationFailure,
    message: string,
    /** The interaction to go back to, when known. */
    readonly uid?: string,
  ) {
    super(code, message);
  }
}

function failurePage(reason: FederationFailure, uid: string | undefined): string {
  const back = uid === undefined ? html`<p>Go back to the app and start again.</p>` : html`<p><a class="button" href="/interaction/${uid}">Back to sign-in</a></p>`;
  return page('Sign-in failed', html`${errorBox(PAGE_TEXT[reason])}${back}`);
}

/**
 * The interaction of this browser: the uid in the path, which must be the one its interaction cookie names.
 * The cookie's path is /interaction/<uid>, so the fixed callback URL never sees it, and a browser that did not
 * start the interaction has none; its signature is verified by oidc-provider when signIn reads the interaction.
 */
function interactionOf(ctx: Koa.Context): string {
  const uid = ctx.params.uid ?? '';
  if (uid === '' || ctx.cookies.get(INTERACTION_COOKIE) !== uid) throw new FederationRefused('not_completed', 'the interaction cookie does not match the path');
  return uid;
}

function isPlainHttp(url: string): boolean {
  return url.startsWith('http:');
}

export function federationRoutes(options: FederationOptions): Federation {
  const { store, log } = options;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const timeoutSeconds = Math.max(1, Math.round((options.fetchTimeoutMs ?? 5_000) / 1000));
  const callbackUrl = `${options.publicBaseUrl.replace(/\/+$/, '')}${FEDERATED_CALLBACK_PATH}`;
  const upstreams = new Map<string, TrustedIssuer & { signIn: NonNullable<TrustedIssuer['signIn']> }>();
  for (const issuer of options.trustedIssuers) if (issuer.signIn !== undefined) upstreams.set(issuer.name, { ...issuer, signIn: issuer.signIn });
  const pending = store.oidc(FEDERATED_LOGIN_MODEL);
  const accounts = new Accounts({ store, ttlMs: 10_000, maxEntries: 1_000, now });
  const configurations = new Map<string, Promise<client.Configuration>>();

  /** The upstream's discovered configuration, fetched once; a failed discovery is tried again next time. */
  const configurationOf = (upstream: TrustedIssuer & { signIn: NonNullable<TrustedIssuer['signIn']> }): Promise<client.Configuration> => {
    let found = configurations.get(upstream.name);
    if (found === undefined) {
      // Plain http passed the config check only for loopback (tests, a local IdP); ID token signatures are
      // checked against the issuer's JWKS rather than trusting the TLS of the token endpoint alone.
      const execute = isPlainHttp(upstream.issuer) ? [client.allowInsecureRequests, client.enableNonRepudiationChecks] : [client.enableNonRepudiationChecks];
      found = client.discovery(
        new URL(upstream.issuer),
        upstream.signIn.clientId,
        { redirect_uris: [callbackUrl], response_types: ['code'] },
        client.ClientSecretBasic(resolveSecret(upstream.signIn.clientSecret, env)),
        { execute, timeout: timeoutSeconds },
      );
      configurations.set(upstream.name, found);
      found.catch(() => configurations.delete(upstream.name));
    }
    return found;
  };

  const refuse = async (ctx: Koa.Context, failure: FederationRefused): Promise<void> => {
    log.warn({ reason: failure.code, detail: failure.message, uid: failure.uid }, 'federated sign-in refused');
    await store.appendAudit({ type: 'sign_in.failed', detail: { method: 'federated', reason: failure.code, ip: ctx.ip } }).catch((err: unknown) => {
      log.error({ err: errorMessage(err) }, 'could not audit a refused federated sign-in');
    });
    ctx.status = failure.code === 'upstream_unavailable' ? 502 : failure.code === 'unknown_upstream' ? 404 : 400;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = failurePage(failure.code, failure.uid);
  };

  const guarded =
    (handler: (ctx: Koa.Context) => Promise<void>) =>
    async (ctx: Koa.Context): Promise<void> => {
      try {
        await handler(ctx);
      } catch (err) {
        if (err instanceof FederationRefused) return refuse(ctx, err);
        throw err;
      }
    };

  /** From the upstream's claims to the hub user, made just in time by the issuer's claim mapping. */
  const userFor = async (upstream: TrustedIssuer, claims: Record<string, unknown>, uid: string): Promise<string> => {
    const subject = claims.sub as string;
    const existing = await store.findFederatedUser(upstream.issuer, subject);
    const email = claims[upstream.claims.email];
    if (existing === undefined && (typeof email !== 'string' || !email.includes('@'))) {
      throw new FederationRefused('no_email', `issuer ${upstream.name}: subject has no account and no "${upstream.claims.email}" claim`, uid);
    }
    let userId: string;
    try {
      userId = await accounts.federatedUserId(upstream, subject, claims);
    } catch (err) {
      if (err instanceof TokenRefused) throw new FederationRefused('email_taken', `issuer ${upstream.name}: ${err.message}`, uid);
      throw err;
    }
    const user = await store.getUser(userId);
    if (user === undefined || user.disabled) throw new FederationRefused('disabled', `user ${userId} (issuer ${upstream.name}) is disabled or gone`, uid);
    // Roles the issuer states now are kept as memberships, so the hub's own tokens carry them too. Only added:
    // a role the issuer drops stays until a gym admin removes it (the API's view of the issuer's tokens does
    // follow the claim at once).
    const held = await store.listMembershipsOfUser(userId);
    for (const role of rolesFromClaim(upstream, claims)) {
      if (held.some((m) => m.gym === role.gym && m.role === role.role)) continue;
      await store.addMembership({ userId, gym: role.gym, role: role.role });
      await store.appendAudit({ type: 'membership.added', actorUserId: userId, gym: role.gym, detail: { role: role.role, by: `federated:${upstream.name}` } });
    }
    return userId;
  };

  const routes = (router: Router, signIn: SignInCompletion): void => {
    router.get(
      '/:uid/federated/:name',
      guarded(async (ctx) => {
        const uid = interactionOf(ctx);
        const upstream = upstreams.get(ctx.params.name ?? '');
        if (upstream === undefined) throw new FederationRefused('unknown_upstream', `no upstream named ${JSON.stringify(ctx.params.name)}`, uid);
        let configuration: client.Configuration;
        try {
          configuration = await configurationOf(upstream);
        } catch (err) {
          throw new FederationRefused('upstream_unavailable', `discovery of ${upstream.issuer} failed: ${errorMessage(err)}`, uid);
        }
        const codeVerifier = client.randomPKCECodeVerifier();
        const state = client.randomState();
        const nonce = client.randomNonce();
        const login: PendingLogin = { uid, name: upstream.name, codeVerifier, nonce };
        await pending.upsert(state, { ...login }, FEDERATED_LOGIN_TTL_SECONDS);
        const target = client.buildAuthorizationUrl(configuration, {
          redirect_uri: callbackUrl,
          scope: upstream.signIn.scopes,
          code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        ctx.set('cache-control', 'no-store');
        ctx.status = 303;
        ctx.redirect(target.href);
      }),
    );

    router.get(
      '/federated/callback',
      guarded(async (ctx) => {
        const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
        const found = state === '' ? undefined : await pending.find(state);
        // Single use whatever happens next: a replayed callback finds nothing.
        if (state !== '') await pending.destroy(state);
        const login = found as (PendingLogin & Record<string, unknown>) | undefined;
        if (login === undefined || login.userId !== undefined) throw new FederationRefused('unknown_state', 'the callback state is unknown, expired or used');
        const upstream = upstreams.get(login.name);
        if (upstream === undefined) throw new FederationRefused('unknown_upstream', `upstream ${login.name} is no longer configured`, login.uid);
        if (typeof ctx.query.error === 'string') {
          throw new FederationRefused('upstream_error', `issuer ${upstream.name} answered ${ctx.query.error}`, login.uid);
        }
        let claims: Record<string, unknown>;
        try {
          const configuration = await configurationOf(upstream);
          const currentUrl = new URL(`${callbackUrl}?${ctx.querystring}`);
          const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
            pkceCodeVerifier: login.codeVerifier,
            expectedState: state,
            expectedNonce: login.nonce,
            idTokenExpected: true,
          });
          const idClaims = tokens.claims();
          if (idClaims === undefined) throw new Error('no ID token');
          claims = { ...idClaims };
          // Many providers put profile claims at the userinfo endpoint only (OpenID Connect Core 5.4).
          if (typeof claims[upstream.claims.email] !== 'string' && configuration.serverMetadata().userinfo_endpoint !== undefined) {
            const info = await client.fetchUserInfo(configuration, tokens.access_token, idClaims.sub);
            claims = { ...info, ...idClaims };
          }
        } catch (err) {
          throw new FederationRefused('exchange_failed', `issuer ${upstream.name}: ${errorMessage(err)}`, login.uid);
        }
        const userId = await userFor(upstream, claims, login.uid);
        await store.appendAudit({
          type: 'federated.sign_in',
          actorUserId: userId,
          detail: { issuer: upstream.issuer, issuerName: upstream.name, subject: claims.sub, ip: ctx.ip },
        });
        await pending.upsert(state, { ...login, userId }, FEDERATED_DONE_TTL_SECONDS);
        ctx.set('cache-control', 'no-store');
        ctx.status = 303;
        ctx.redirect(`/interaction/${encodeURIComponent(login.uid)}/federated-done?state=${encodeURIComponent(state)}`);
      }),
    );

    router.get(
      '/:uid/federated-done',
      guarded(async (ctx) => {
        const uid = interactionOf(ctx);
        const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
        const login = (state === '' ? undefined : await pending.find(state)) as (PendingLogin & Record<string, unknown>) | undefined;
        if (state !== '') await pending.destroy(state);
        if (login?.userId === undefined || login.uid !== uid) throw new FederationRefused('not_completed', 'no completed upstream login for this interaction', uid);
        // signIn reads the interaction through oidc-provider, which verifies the cookie's signature.
        await signIn(ctx, login.userId, `federated:${login.name}`);
      }),
    );
  };

  return {
    buttons: [...upstreams.values()].map((upstream) => ({ name: upstream.name, label: upstream.signIn.label })),
    callbackUrl,
    routes,
  };
}
