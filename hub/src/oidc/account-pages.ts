/**
 * Pages outside any sign-in, opened from a mail: sign-up by a gym invite (/interaction/signup?token=...) and
 * password reset (/interaction/forgot, then /interaction/reset?token=...). The one-time links are
 * hub/src/identity/one-time-links.ts; the token travels from the link into a hidden field and is never logged.
 *
 * CSRF: a forged post could only spend a token the attacker already holds, on an account the attacker then
 * knows the password of, which the token alone allows anyway.
 */
import type Koa from 'koa';
import type Router from '@koa/router';
import getRawBody from 'raw-body';
import type { Logger } from 'pino';
import { PulsebridgeError, errorMessage } from '@pulsebridge/runtime';
import { retryAfterSeconds, type SignInThrottle, type ThrottleKey } from '../auth/rate-limits.ts';
import { IdentityStoreError, type IdentityStore } from '../identity/identity-store.ts';
import { acceptInvite, completePasswordReset, requestPasswordReset, type Mailer } from '../identity/one-time-links.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../identity/passwords.ts';
import { SafeHtml, errorBox, field, html, page } from './views.ts';

export const SIGN_UP_PATH = '/interaction/signup';
export const FORGOT_PATH = '/interaction/forgot';
export const RESET_PATH = '/interaction/reset';

const MAX_FORM_BYTES = 16 * 1024;
const INVITE_GONE = 'This invite has expired or was used already. Ask your gym for a new one.';
const RESET_GONE = 'This link has expired or was used already.';
const NOT_THE_SAME = 'The two passwords are not the same. Type the same password twice.';

export interface AccountPagesOptions {
  store: IdentityStore;
  log: Logger;
  /** Reset mails; without it the reset pages are not served and the sign-in page offers no reset. */
  mailer?: Mailer;
  /** The hub's public base URL (identity.issuer), for the reset link. */
  publicBaseUrl: string;
  resetTtlMs: number;
  /** Where "Open the app" after sign-up goes; none: the page only says to open the app. */
  signUpReturnUrl?: string;
  /** Failed invites count per address, reset requests per address and email: neither guesses nor mail floods go far. */
  throttle?: SignInThrottle;
  now: () => number;
}

export async function readForm(ctx: Koa.Context): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) ctx.throw(415, 'a form is expected');
  const text = await getRawBody(ctx.req, { limit: MAX_FORM_BYTES, encoding: 'utf8' });
  return new URLSearchParams(text);
}

function show(ctx: Koa.Context, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = body;
}

/** The password rules in words, for a PulsebridgeError of passwords.ts; undefined for any other error. */
function passwordRuleProblem(err: unknown): string | undefined {
  if (!(err instanceof PulsebridgeError)) return undefined;
  if (err.code === 'password_too_short') return `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (err.code === 'password_too_long') return `A password can have at most ${MAX_PASSWORD_LENGTH} characters.`;
  return undefined;
}

const passwordHint = html`<p>At least ${MIN_PASSWORD_LENGTH} characters. A few unrelated words make a good one.</p>`;

function newPasswordFields(): SafeHtml {
  return html`${field({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password' })}
  ${field({ name: 'password2', label: 'Password again', type: 'password', autocomplete: 'new-password' })}`;
}

export function signUpPage(options: { token: string; displayName?: string; problem?: string }): string {
  return page(
    'Create your account',
    html`${errorBox(options.problem)}
      <p>You were invited to a gym on Pulsebridge. You will sign in with the email address the invite was sent to.</p>
      <form method="post" action="${SIGN_UP_PATH}">
        <input type="hidden" name="token" value="${options.token}" />
        ${field({ name: 'displayName', label: 'Your name', type: 'text', autocomplete: 'name', value: options.displayName, autofocus: true })} ${passwordHint}
        ${newPasswordFields()}
        <button type="submit">Create account</button>
      </form>`,
  );
}

function signedUpPage(options: { email: string; newUser: boolean; returnUrl?: string }): string {
  return page(
    'Your account is ready',
    html`<p>
        ${
          options.newUser
            ? html`Your account <strong>${options.email}</strong> is ready.`
            : html`You joined the gym with your account <strong>${options.email}</strong>; your password stays as it was.`
        }
      </p>
      ${options.returnUrl === undefined ? html`<p>Open the Pulsebridge app to sign in.</p>` : html`<a class="button" href="${options.returnUrl}">Open the app to sign in</a>`}`,
  );
}

export function forgotPage(options: { email?: string; problem?: string }): string {
  return page(
    'Reset your password',
    html`${errorBox(options.problem)}
      <p>Type the email address of your account. We will mail you a link to choose a new password.</p>
      <form method="post" action="${FORGOT_PATH}">
        ${field({ name: 'email', label: 'Email', type: 'email', autocomplete: 'username', value: options.email, autofocus: true })}
        <button type="submit">Send the link</button>
      </form>`,
  );
}

function resetSentPage(email: string, minutes: number): string {
  return page(
    'Check your mail',
    html`<p>If <strong>${email}</strong> is the address of an account, we sent it a link to choose a new password. The link works once, for ${minutes} minutes.</p>
      <p>No mail? Check the address and the spam folder, then <a href="${FORGOT_PATH}">try again</a>.</p>`,
  );
}

export function resetPage(options: { token: string; problem?: string }): string {
  return page(
    'Choose a new password',
    html`${errorBox(options.problem)} ${passwordHint}
      <form method="post" action="${RESET_PATH}">
        <input type="hidden" name="token" value="${options.token}" />
        ${newPasswordFields()}
        <button type="submit">Change password</button>
      </form>`,
  );
}

function goneResetPage(): string {
  return page('Link expired', html`${errorBox(RESET_GONE)}<a class="button" href="${FORGOT_PATH}">Ask for a new link</a>`);
}

/** Adds the pages to the /interaction router; call it before the /:uid routes, which would take their paths. */
export function accountRoutes(router: Router, options: AccountPagesOptions): void {
  const { store, log, mailer, throttle, now } = options;
  const resetMinutes = Math.max(1, Math.round(options.resetTtlMs / 60_000));

  /** 429 with Retry-After when the address must wait; true when it may go on. */
  const admitted = async (ctx: Koa.Context, key: ThrottleKey, render: (problem: string) => string): Promise<boolean> => {
    if (throttle === undefined) return true;
    const decision = await throttle.check(key);
    if (decision.allowed) return true;
    const seconds = retryAfterSeconds(decision.retryAfterMs);
    ctx.set('Retry-After', String(seconds));
    show(ctx, 429, render(`Too many attempts. Try again in ${seconds} seconds.`));
    return false;
  };

  router.get('/signup', (ctx) => {
    const token = typeof ctx.query['token'] === 'string' ? ctx.query['token'] : '';
    if (token === '') return show(ctx, 400, page('Invite not valid', errorBox(INVITE_GONE)));
    show(ctx, 200, signUpPage({ token }));
  });

  router.post('/signup', async (ctx) => {
    const form = await readForm(ctx);
    const token = form.get('token') ?? '';
    const displayName = (form.get('displayName') ?? '').trim();
    const password = form.get('password') ?? '';
    const key: ThrottleKey = { address: ctx.ip };
    const again = (problem: string): string => signUpPage({ token, displayName, problem });
    if (!(await admitted(ctx, key, again))) return;
    if (displayName === '') return show(ctx, 400, again('Type your name.'));
    if (password !== (form.get('password2') ?? '')) return show(ctx, 400, again(NOT_THE_SAME));
    let accepted;
    try {
      accepted = await acceptInvite(store, token, { displayName, password }, now());
    } catch (err) {
      const rule = passwordRuleProblem(err);
      if (rule !== undefined) return show(ctx, 400, again(rule));
      if (err instanceof IdentityStoreError && err.code === 'invalid_input') return show(ctx, 400, again('That name cannot be used. Type your name as people know it.'));
      throw err;
    }
    if (accepted === undefined) {
      await throttle?.failed(key);
      await store.appendAudit({ type: 'invite.refused', detail: { ip: ctx.ip } });
      return show(ctx, 410, page('Invite not valid', errorBox(INVITE_GONE)));
    }
    const user = await store.getUser(accepted.userId);
    show(ctx, 200, signedUpPage({ email: user?.email ?? '', newUser: accepted.newUser, ...(options.signUpReturnUrl === undefined ? {} : { returnUrl: options.signUpReturnUrl }) }));
  });

  if (mailer === undefined) return;

  router.get('/forgot', (ctx) => show(ctx, 200, forgotPage({})));

  router.post('/forgot', async (ctx) => {
    const form = await readForm(ctx);
    const email = (form.get('email') ?? '').trim();
    // Per address, and per address and email: one person's inbox cannot be flooded from one place either.
    const key: ThrottleKey = { account: `password-reset:${email}`, address: ctx.ip };
    if (!(await admitted(ctx, key, (problem) => forgotPage({ email, problem })))) return;
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) return show(ctx, 400, forgotPage({ email, problem: 'Type the email address of your account.' }));
    // Every request counts: each may send a mail, and the answer is the same whether the account exists.
    await throttle?.failed(key);
    // Not awaited: how long the mail takes would tell which addresses have accounts.
    requestPasswordReset(store, mailer, {
      email,
      resetUrl: (token) => `${options.publicBaseUrl.replace(/\/+$/, '')}${RESET_PATH}?token=${token}`,
      ttlMs: options.resetTtlMs,
      now: now(),
    }).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'a password reset could not be sent'));
    show(ctx, 200, resetSentPage(email, resetMinutes));
  });

  router.get('/reset', (ctx) => {
    const token = typeof ctx.query['token'] === 'string' ? ctx.query['token'] : '';
    if (token === '') return show(ctx, 400, goneResetPage());
    show(ctx, 200, resetPage({ token }));
  });

  router.post('/reset', async (ctx) => {
    const form = await readForm(ctx);
    const token = form.get('token') ?? '';
    const password = form.get('password') ?? '';
    if (password !== (form.get('password2') ?? '')) return show(ctx, 400, resetPage({ token, problem: NOT_THE_SAME }));
    let userId;
    try {
      userId = await completePasswordReset(store, token, password, now());
    } catch (err) {
      const rule = passwordRuleProblem(err);
      if (rule !== undefined) return show(ctx, 400, resetPage({ token, problem: rule }));
      throw err;
    }
    if (userId === undefined) return show(ctx, 410, goneResetPage());
    show(ctx, 200, page('Password changed', html`<p>Your password is changed. Open the Pulsebridge app and sign in with the new one.</p>`));
  });
}
