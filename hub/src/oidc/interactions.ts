/**
 * The interaction pages under /interaction/:uid: sign-in with email and password, an optional second step
 * (TOTP, through the `SecondFactorStep` port), consent for third-party clients, and the federation buttons.
 *
 * CSRF: every form posts to /interaction/<uid>/..., and oidc-provider's interactionDetails() accepts it only with
 * the signed, same-site interaction cookie of that very uid, which another site cannot make a browser send.
 */
import { randomUUID } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';
import type { Logger } from 'pino';
import { errorMessage } from '@pulsebridge/runtime';
import { API_SCOPES } from '../auth/principal.ts';
import { retryAfterSeconds, type SignInThrottle, type ThrottleKey } from '../auth/rate-limits.ts';
import type { IdentityStore, Role } from '../identity/identity-store.ts';
import { verifyAndUpgrade } from '../identity/passwords.ts';
import { beginTotpEnrolment, confirmTotpEnrolment, totpEnrolmentView } from '../identity/second-factor.ts';
import { FORGOT_PATH, accountRoutes, readForm, type AccountPagesOptions } from './account-pages.ts';
import { enrolPage, enrolledPage, recoveryCodesPage } from './enrolment-pages.ts';
import { SafeHtml, errorBox, field, html, page } from './views.ts';

/** A step after the password, e.g. TOTP. Plugged in by the second-factor module. */
export interface SecondFactorStep {
  /** Whether this user must pass the step after a right password. */
  required(userId: string): Promise<boolean>;
  /** Whether `code` (a TOTP code, or a recovery code) is accepted now; a replayed code is not. */
  verify(userId: string, code: string, now: number): Promise<boolean>;
}

/** A configured upstream identity provider; its button links to /interaction/<uid>/federated/<name>. */
export interface FederationButton {
  name: string;
  label: string;
}

/** TOTP enrolment after a right password, for users without a confirmed factor (the step needs `secondFactor`). */
export interface EnrolmentPolicy {
  /** Users holding any of these roles in any gym must enrol; the others may skip ("Not now"). */
  requiredForRoles: readonly Role[];
  /** The issuer shown in the authenticator app. */
  issuerLabel: string;
}

export interface InteractionOptions {
  provider: Provider;
  store: IdentityStore;
  log: Logger;
  secondFactor?: SecondFactorStep;
  /** Offers (or requires) TOTP enrolment after the password; none: no enrolment in the sign-in. */
  enrolment?: EnrolmentPolicy;
  /** Sign-up by invite and password reset, outside any sign-in; none: not served. */
  accounts?: Omit<AccountPagesOptions, 'store' | 'log' | 'throttle' | 'now'>;
  federation?: readonly FederationButton[];
  /** More routes under /interaction (federated sign-in...), added after these. */
  routes?: (router: Router, signIn: SignInCompletion) => void;
  /** Security headers (CSP, frame-ancestors...) for every page; see api/hardening.ts. */
  hardening?: Koa.Middleware;
  /** Slows, then locks, repeated wrong passwords and codes per account and address; none: no limit. */
  throttle?: SignInThrottle;
  /** Whether the client is one of the company's own apps (no consent page). */
  isFirstParty: (clientId: string) => boolean;
  now?: () => number;
}

/** Ends a sign-in for a user proven some other way (e.g. by a federated login): audit, second factor, redirect. */
export type SignInCompletion = (ctx: Koa.Context, userId: string, method: string) => Promise<void>;

/** Wrong second-factor codes in one sign-in before the password must be typed again. */
export const MAX_SECOND_FACTOR_ATTEMPTS = 5;
const WRONG_CREDENTIALS = 'Wrong email or password.';
const PENDING_MODEL = 'PendingSecondFactor';

interface PendingSecondFactor {
  accountId: string;
  method: string;
  attempts: number;
  /** Set while the user enrols TOTP instead of being challenged. */
  enrol?: 'required' | 'optional';
  /** The enrolment is confirmed and its recovery codes were shown: only "I saved them" remains. */
  enrolled?: boolean;
}

function clientLabel(client: { clientName?: string | undefined; clientId: string } | undefined): string {
  return client?.clientName ?? client?.clientId ?? 'an app';
}

export function signInPage(options: {
  uid: string;
  clientName: string;
  email?: string;
  problem?: string;
  federation?: readonly FederationButton[];
  /** Shows "Forgot your password?" (only where reset mails can be sent). */
  forgotPassword?: boolean;
}): string {
  const { uid } = options;
  const buttons = (options.federation ?? []).map(
    (upstream) => html`<a class="button secondary" href="/interaction/${uid}/federated/${encodeURIComponent(upstream.name)}">Sign in with ${upstream.label}</a>`,
  );
  return page(
    'Sign in',
    html`${errorBox(options.problem)}
      <p>to continue to <strong>${options.clientName}</strong></p>
      <form method="post" action="/interaction/${uid}/login">
        ${field({ name: 'email', label: 'Email', type: 'email', autocomplete: 'username', value: options.email, autofocus: options.email === undefined })}
        ${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', autofocus: options.email !== undefined })}
        <button type="submit">Sign in</button>
      </form>
      ${options.forgotPassword ? html`<p class="links"><a href="${FORGOT_PATH}">Forgot your password?</a></p>` : ''}
      ${
        buttons.length > 0
          ? html`<p class="or">or</p>
              ${buttons}`
          : ''
      }
      <form method="post" action="/interaction/${uid}/abort"><button type="submit" class="secondary">Cancel</button></form>`,
  );
}

export function secondFactorPage(options: { uid: string; problem?: string }): string {
  return page(
    'Enter your code',
    html`${errorBox(options.problem)}
      <p>Open your authenticator app and type the 6-digit code for Pulsebridge. Lost the app? Type one of your recovery codes instead.</p>
      <form method="post" action="/interaction/${options.uid}/second-factor">
        ${field({ name: 'code', label: 'Code', type: 'text', autocomplete: 'one-time-code', inputmode: 'text', autofocus: true })}
        <button type="submit">Continue</button>
      </form>
      <form method="post" action="/interaction/${options.uid}/abort"><button type="submit" class="secondary">Cancel</button></form>`,
  );
}

function scopeLine(scope: string): SafeHtml {
  const described: Record<string, string> = {
    openid: 'Know who you are',
    profile: 'See your name',
    email: 'See your email address',
    offline_access: 'Stay signed in when you are not using it',
    ...API_SCOPES,
  };
  return html`<li>${described[scope] ?? scope}</li>`;
}

export function consentPage(options: { uid: string; clientName: string; scopes: readonly string[] }): string {
  return page(
    'Allow access?',
    html`<p><strong>${options.clientName}</strong> is not a Pulsebridge app. It asks to:</p>
      <ul>
        ${options.scopes.map(scopeLine)}
      </ul>
      <form method="post" action="/interaction/${options.uid}/confirm"><button type="submit" autofocus>Allow</button></form>
      <form method="post" action="/interaction/${options.uid}/abort"><button type="submit" class="secondary">Deny</button></form>`,
  );
}

export function continuePage(options: { uid: string; clientName: string; who: string }): string {
  return page(
    'Continue?',
    html`<p>Continue to <strong>${options.clientName}</strong> as ${options.who}?</p>
      <form method="post" action="/interaction/${options.uid}/confirm"><button type="submit" autofocus>Continue</button></form>
      <form method="post" action="/interaction/${options.uid}/abort"><button type="submit" class="secondary">Cancel</button></form>`,
  );
}

/** The Koa app serving /interaction/*. */
export function createInteractionApp(options: InteractionOptions): Koa {
  const { provider, store, log } = options;
  const now = options.now ?? Date.now;
  const pending = store.oidc(PENDING_MODEL);
  const pendingTtlSeconds = 10 * 60;
  const forgotPassword = options.accounts?.mailer !== undefined;
  const enrolment = options.secondFactor === undefined ? undefined : options.enrolment;

  const finish = async (ctx: Koa.Context, result: InteractionResults, merge: boolean): Promise<void> => {
    const target = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.status = 303;
    ctx.redirect(target);
  };

  /** Back to the interaction's page, which shows the step it is at (a step posted out of order lands there too). */
  const backToInteraction = (ctx: Koa.Context, uid: string): void => {
    ctx.status = 303;
    ctx.redirect(`/interaction/${uid}`);
  };

  /** The TOTP challenge and the enrolment share one count of wrong codes: enrolment buys no extra guesses, nor does a right password. */
  const secondFactorKey = (ctx: Koa.Context, userId: string): ThrottleKey => ({ account: `second-factor:${userId}`, address: ctx.ip });

  const audit = (ctx: Koa.Context, type: string, userId: string | undefined, detail: Record<string, unknown>): Promise<unknown> =>
    store.appendAudit({ type, ...(userId === undefined ? {} : { actorUserId: userId }), detail: { ...detail, ip: ctx.ip } });

  const completeSignIn = async (ctx: Koa.Context, clientId: string | undefined, userId: string, methods: string[]): Promise<void> => {
    await audit(ctx, 'sign_in.succeeded', userId, { clientId, methods });
    // A first-party app gets its grant from loadExistingGrant; the sign-in just made is the user's interaction
    // that oidc-provider asks of native clients, so no consent step follows.
    const consent = clientId !== undefined && options.isFirstParty(clientId) ? { consent: {} } : {};
    await finish(ctx, { login: { accountId: userId, amr: methods, remember: true }, ...consent }, false);
  };

  const afterFirstFactor: SignInCompletion = async (ctx, userId, method) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (options.secondFactor !== undefined && (await options.secondFactor.required(userId))) {
      const state: PendingSecondFactor = { accountId: userId, method, attempts: 0 };
      await pending.upsert(details.uid, { ...state }, pendingTtlSeconds);
      backToInteraction(ctx, details.uid);
      return;
    }
    // A federated user's second factor is the company's business: enrolment follows our own password only.
    if (enrolment !== undefined && method === 'pwd') {
      const user = await store.getUser(userId);
      if (user !== undefined) {
        const roles = (await store.listMembershipsOfUser(userId)).map((membership) => membership.role);
        const required = roles.some((role) => enrolment.requiredForRoles.includes(role));
        // A fresh secret per sign-in: an unconfirmed one from an abandoned attempt may have been seen by someone else.
        await beginTotpEnrolment(store, user, enrolment.issuerLabel);
        const state: PendingSecondFactor = { accountId: userId, method, attempts: 0, enrol: required ? 'required' : 'optional' };
        await pending.upsert(details.uid, { ...state }, pendingTtlSeconds);
        backToInteraction(ctx, details.uid);
        return;
      }
    }
    await completeSignIn(ctx, details.params.client_id as string | undefined, userId, [method]);
  };

  const showEnrolPage = async (ctx: Koa.Context, uid: string, state: PendingSecondFactor, problem?: { status: number; message: string }): Promise<void> => {
    const [user, factor] = await Promise.all([store.getUser(state.accountId), store.getTotp(state.accountId)]);
    ctx.set('cache-control', 'no-store');
    ctx.type = 'html';
    if (user === undefined || factor === undefined || factor.confirmed || enrolment === undefined) {
      // The factor changed under this sign-in (confirmed elsewhere, removed by an admin): start the sign-in again.
      await pending.destroy(uid);
      backToInteraction(ctx, uid);
      return;
    }
    const view = await totpEnrolmentView(factor.secret, user.email, enrolment.issuerLabel);
    if (problem !== undefined) ctx.status = problem.status;
    ctx.body = enrolPage({ uid, secret: view.secret, qrSvg: view.qrSvg, required: state.enrol === 'required', ...(problem === undefined ? {} : { problem: problem.message }) });
  };

  const pendingOf = async (uid: string): Promise<PendingSecondFactor | undefined> => (await pending.find(uid)) as PendingSecondFactor | undefined;

  /**
   * Refuses the attempt with 429 when the throttle says to wait; true when it may go on. Checked before the
   * password or code is verified, so a refused guess costs no argon2 run and learns nothing.
   */
  const admitted = async (ctx: Koa.Context, key: ThrottleKey, userId: string | undefined, render: (problem: string) => string): Promise<boolean> => {
    if (options.throttle === undefined) return true;
    const decision = await options.throttle.check(key);
    if (decision.allowed) return true;
    const seconds = retryAfterSeconds(decision.retryAfterMs);
    await audit(ctx, 'sign_in.throttled', userId, { reason: decision.reason, retryAfterSeconds: seconds });
    ctx.status = 429;
    ctx.set('Retry-After', String(seconds));
    ctx.set('cache-control', 'no-store');
    ctx.type = 'html';
    ctx.body = render(`Too many attempts. Try again in ${seconds} seconds.`);
    return false;
  };

  const router = new Router({ prefix: '/interaction' });
  // Before /:uid, which would take their paths for interaction ids.
  if (options.accounts !== undefined) accountRoutes(router, { ...options.accounts, store, log, now, ...(options.throttle === undefined ? {} : { throttle: options.throttle }) });

  router.get('/:uid', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const client = await provider.Client.find(String(details.params.client_id));
    ctx.set('cache-control', 'no-store');
    ctx.type = 'html';
    if (details.prompt.name === 'login') {
      const waiting = await pendingOf(details.uid);
      if (waiting?.enrolled === true) ctx.body = enrolledPage({ uid: details.uid });
      else if (waiting?.enrol !== undefined) await showEnrolPage(ctx, details.uid, waiting);
      else if (waiting !== undefined) ctx.body = secondFactorPage({ uid: details.uid });
      else ctx.body = signInPage({ forgotPassword, uid: details.uid, clientName: clientLabel(client), federation: options.federation });
      return;
    }
    if (details.prompt.name === 'consent') {
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
      const scopes = [...(missing.missingOIDCScope ?? []), ...Object.values(missing.missingResourceScopes ?? {}).flat()];
      const clientId = String(details.params.client_id);
      if (options.isFirstParty(clientId)) {
        // A native app signing in silently on an existing session: one click, so another app that claims the same
        // redirect scheme cannot take a code unseen.
        const user = details.session === undefined ? undefined : await store.getUser(details.session.accountId);
        ctx.body = continuePage({ uid: details.uid, clientName: clientLabel(client), who: user === undefined ? 'you' : `${user.displayName} (${user.email})` });
        return;
      }
      ctx.body = consentPage({ uid: details.uid, clientName: clientLabel(client), scopes: [...new Set(scopes)] });
      return;
    }
    ctx.throw(400, `unexpected prompt ${details.prompt.name}`);
  });

  router.post('/:uid/login', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'login') ctx.throw(400, 'this sign-in does not ask for a password');
    const form = await readForm(ctx);
    const email = (form.get('email') ?? '').trim();
    const password = form.get('password') ?? '';
    const clientId = details.params.client_id as string | undefined;
    const client = await provider.Client.find(String(clientId));
    const page = (problem: string): string => signInPage({ forgotPassword, uid: details.uid, clientName: clientLabel(client), email, problem, federation: options.federation });
    const refuse = async (reason: string, userId: string | undefined, problem: string): Promise<void> => {
      await audit(ctx, 'sign_in.failed', userId, { clientId, reason });
      ctx.status = 401;
      ctx.type = 'html';
      ctx.set('cache-control', 'no-store');
      ctx.body = page(problem);
    };
    const key: ThrottleKey = { account: email.toLowerCase(), address: ctx.ip };
    if (!(await admitted(ctx, key, undefined, page))) return;
    const user = email === '' ? undefined : await store.findUserByEmail(email);
    // An unknown email costs one password verification too, so timing does not tell which accounts exist.
    const passwordRight = await verifyAndUpgrade(store, user?.id ?? randomUUID(), password);
    if (user === undefined || !passwordRight) {
      await options.throttle?.failed(key);
      return refuse(user === undefined ? 'unknown_account' : 'wrong_password', user?.id, WRONG_CREDENTIALS);
    }
    await options.throttle?.succeeded(key);
    if (user.disabled) return refuse('disabled', user.id, 'This account is disabled. Ask your gym to enable it.');
    await afterFirstFactor(ctx, user.id, 'pwd');
  });

  router.post('/:uid/second-factor', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const state = await pendingOf(details.uid);
    if (state === undefined || state.enrol !== undefined || options.secondFactor === undefined) {
      backToInteraction(ctx, details.uid);
      return;
    }
    const form = await readForm(ctx);
    const code = (form.get('code') ?? '').replace(/\s+/g, '');
    const clientId = details.params.client_id as string | undefined;
    const key = secondFactorKey(ctx, state.accountId);
    if (!(await admitted(ctx, key, state.accountId, (problem) => secondFactorPage({ uid: details.uid, problem })))) return;
    if (code !== '' && (await options.secondFactor.verify(state.accountId, code, now()))) {
      await options.throttle?.succeeded(key);
      await pending.destroy(details.uid);
      await completeSignIn(ctx, clientId, state.accountId, [state.method, 'otp']);
      return;
    }
    await options.throttle?.failed(key);
    const attempts = state.attempts + 1;
    await audit(ctx, 'sign_in.failed', state.accountId, { clientId, reason: 'wrong_second_factor', attempts });
    ctx.status = 401;
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    if (attempts >= MAX_SECOND_FACTOR_ATTEMPTS) {
      // Too many guesses: the password has to be proven again before more codes are tried.
      await pending.destroy(details.uid);
      const client = await provider.Client.find(String(clientId));
      ctx.body = signInPage({ forgotPassword, uid: details.uid, clientName: clientLabel(client), problem: 'Too many wrong codes. Sign in again.', federation: options.federation });
      return;
    }
    await pending.upsert(details.uid, { ...state, attempts }, pendingTtlSeconds);
    ctx.body = secondFactorPage({ uid: details.uid, problem: 'That code is not right. Try the newest code from the app.' });
  });

  router.post('/:uid/enrol', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const state = await pendingOf(details.uid);
    if (state?.enrol === undefined || state.enrolled === true) {
      backToInteraction(ctx, details.uid);
      return;
    }
    const form = await readForm(ctx);
    const code = (form.get('code') ?? '').replace(/\s+/g, '');
    const clientId = details.params.client_id as string | undefined;
    const key = secondFactorKey(ctx, state.accountId);
    const refusedPage = (problem: string): string => {
      // Rendered without the QR code: a throttled client gets no fresh look at the secret.
      return page(
        'Set up two-step sign-in',
        html`${errorBox(problem)}
          <p><a href="/interaction/${details.uid}">Back</a></p>`,
      );
    };
    if (!(await admitted(ctx, key, state.accountId, refusedPage))) return;
    const codes = code === '' ? false : await confirmTotpEnrolment(store, state.accountId, code, now());
    if (codes !== false) {
      await options.throttle?.succeeded(key);
      await pending.upsert(details.uid, { ...state, enrolled: true }, pendingTtlSeconds);
      ctx.set('cache-control', 'no-store');
      ctx.type = 'html';
      ctx.body = recoveryCodesPage({ uid: details.uid, codes });
      return;
    }
    await options.throttle?.failed(key);
    const attempts = state.attempts + 1;
    await audit(ctx, 'sign_in.failed', state.accountId, { clientId, reason: 'wrong_enrolment_code', attempts });
    if (attempts >= MAX_SECOND_FACTOR_ATTEMPTS) {
      await pending.destroy(details.uid);
      const client = await provider.Client.find(String(clientId));
      ctx.status = 401;
      ctx.set('cache-control', 'no-store');
      ctx.type = 'html';
      ctx.body = signInPage({ forgotPassword, uid: details.uid, clientName: clientLabel(client), problem: 'Too many wrong codes. Sign in again.', federation: options.federation });
      return;
    }
    const next: PendingSecondFactor = { ...state, attempts };
    await pending.upsert(details.uid, { ...next }, pendingTtlSeconds);
    await showEnrolPage(ctx, details.uid, next, { status: 401, message: 'That code is not right. Check the app shows Pulsebridge and type its newest code.' });
  });

  router.post('/:uid/enrol/skip', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const state = await pendingOf(details.uid);
    if (state?.enrol === undefined || state.enrolled === true) {
      backToInteraction(ctx, details.uid);
      return;
    }
    if (state.enrol === 'required') {
      await showEnrolPage(ctx, details.uid, state, { status: 403, message: 'Your role needs two-step sign-in: it cannot be skipped.' });
      return;
    }
    await pending.destroy(details.uid);
    await audit(ctx, 'totp.enrolment_skipped', state.accountId, {});
    await completeSignIn(ctx, details.params.client_id as string | undefined, state.accountId, [state.method]);
  });

  router.post('/:uid/enrol/done', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const state = await pendingOf(details.uid);
    if (state?.enrolled !== true) {
      backToInteraction(ctx, details.uid);
      return;
    }
    await pending.destroy(details.uid);
    await completeSignIn(ctx, details.params.client_id as string | undefined, state.accountId, [state.method, 'otp']);
  });

  router.post('/:uid/confirm', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'consent') ctx.throw(400, 'this sign-in does not ask for consent');
    const accountId = details.session?.accountId;
    if (accountId === undefined) ctx.throw(400, 'not signed in');
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    const grant =
      (details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId)) ?? new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await audit(ctx, 'consent.granted', accountId, { clientId: details.params.client_id });
    await finish(ctx, { consent: details.grantId === undefined ? { grantId } : {} }, true);
  });

  router.post('/:uid/abort', async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    await pending.destroy(details.uid);
    await finish(ctx, { error: 'access_denied', error_description: 'The sign-in was cancelled' }, false);
  });

  options.routes?.(router, afterFirstFactor);

  const app = new Koa();
  app.proxy = provider.proxy;
  if (options.hardening !== undefined) app.use(options.hardening);
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode ?? 500;
      if (status >= 500) log.error({ err: errorMessage(err) }, 'sign-in page failed');
      ctx.status = status;
      ctx.type = 'html';
      ctx.set('cache-control', 'no-store');
      // oidc-provider's SessionNotFound (expired or foreign interaction cookie) lands here with status 400.
      ctx.body = page(
        'Sign-in failed',
        html`${errorBox(status >= 500 ? 'Something went wrong on our side.' : 'This sign-in page has expired or is not yours.')}
          <p>Go back to the app and start again.</p>`,
      );
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
