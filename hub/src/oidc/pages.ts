/**
 * The pages oidc-provider renders itself (device code entry and confirmation, sign-out, errors), in the look of
 * the sign-in pages. oidc-provider hands in its own `<form>` (with its hidden xsrf field); the buttons submit it.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { SafeHtml, errorBox, field, html, page } from './views.ts';

function clientName(ctx: KoaContextWithOIDC): string | undefined {
  const client = ctx.oidc.client;
  return client === undefined ? undefined : (client.clientName ?? client.clientId);
}

function show(ctx: KoaContextWithOIDC, title: string, body: SafeHtml): void {
  ctx.type = 'html';
  ctx.body = page(title, body);
}

/** oidc-provider's form without its inline submit handler: the page works without JavaScript. */
function providerForm(form: string): SafeHtml {
  return new SafeHtml(form);
}

/** A value oidc-provider wrote into its form, unescaped again (it escapes with its own htmlSafe). */
function attribute(form: string, pattern: RegExp): string | undefined {
  const raw = pattern.exec(form)?.[1];
  return raw
    ?.replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function deviceCodeError(err: unknown): string | undefined {
  if (err === undefined || err === null) return undefined;
  const name = (err as { name?: unknown }).name;
  if ((err as { userCode?: unknown }).userCode !== undefined || name === 'NoCodeError')
    return 'That code is not right, or it has expired. Check the code on the screen and try again.';
  if (name === 'AbortedError') return 'The sign-in was cancelled.';
  return 'Something went wrong. Start again from the screen.';
}

export const devicePages = {
  userCodeInputSource(ctx: KoaContextWithOIDC, form: string, _out: unknown, err: unknown): void {
    const problem = deviceCodeError(err);
    // oidc-provider's own form has an unlabelled input and an inline handler: the page builds its own from the
    // same action and xsrf token.
    const action = attribute(form, /\baction="([^"]*)"/);
    const xsrf = attribute(form, /name="xsrf" value="([^"]*)"/);
    const code = attribute(form, /\bvalue="([^"]*)"\s+type="text"/);
    show(
      ctx,
      'Sign in a screen',
      html`${errorBox(problem)}
        <p>Enter the code shown on the gym screen.</p>
        <form method="post" action="${action}">
          <input type="hidden" name="xsrf" value="${xsrf}" />
          ${field({ name: 'user_code', label: 'Code', type: 'text', autocomplete: 'off', value: code, autofocus: true })}
          <button type="submit">Continue</button>
        </form>`,
    );
  },
  userCodeConfirmSource(ctx: KoaContextWithOIDC, form: string, _client: unknown, _deviceInfo: unknown, userCode: string): void {
    show(
      ctx,
      'Is this your screen?',
      html`<p><strong>${clientName(ctx)}</strong> asks to sign in. Continue only if the screen in front of you shows this code:</p>
        <p class="code">${userCode}</p>
        ${providerForm(form)}
        <button type="submit" form="op.deviceConfirmForm">Yes, sign in the screen</button>
        <button type="submit" form="op.deviceConfirmForm" name="abort" value="yes" class="secondary">No, cancel</button>`,
    );
  },
  successSource(ctx: KoaContextWithOIDC): void {
    show(ctx, 'The screen is signed in', html`<p>${clientName(ctx) ?? 'The screen'} is signed in. You can close this page.</p>`);
  },
};

export const logoutPages = {
  logoutSource(ctx: KoaContextWithOIDC, form: string): void {
    show(
      ctx,
      'Sign out?',
      html`<p>Sign out of Pulsebridge on this device?</p>
        ${providerForm(form)}
        <button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
        <button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button>`,
    );
  },
  postLogoutSuccessSource(ctx: KoaContextWithOIDC): void {
    show(ctx, 'Signed out', html`<p>You are signed out${clientName(ctx) === undefined ? '' : html` of ${clientName(ctx)}`}.</p>`);
  },
};

/** Errors shown in the browser: the OAuth error and its description, never a stack. */
export function errorPage(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): void {
  show(
    ctx,
    'Sign-in failed',
    html`${errorBox(out.error_description ?? out.error)}
      <p>Go back to the app and start again.</p>`,
  );
}
