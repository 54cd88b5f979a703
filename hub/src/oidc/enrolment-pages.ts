/**
 * The pages of TOTP enrolment inside a sign-in (the routes are in interactions.ts): the QR code with the secret
 * for typing by hand, then the recovery codes, shown once. The QR code is the inline SVG of second-factor.ts
 * (paths with presentation attributes only, so the CSP's one style hash still covers the page).
 */
import { SafeHtml, errorBox, field, html, page } from './views.ts';

/** Base32 in groups of four, easier to type into an app by hand. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})/g, '$1 ').trim();
}

export function enrolPage(options: { uid: string; secret: string; qrSvg: string; required: boolean; problem?: string }): string {
  // The SVG comes from the qrcode library, built from our own otpauth URI: no outside text reaches it.
  const qr = new SafeHtml(options.qrSvg.replace(/^<svg /, '<svg role="img" aria-labelledby="qr-label" focusable="false" '));
  return page(
    'Set up two-step sign-in',
    html`${errorBox(options.problem)}
      <p>
        ${
          options.required
            ? 'Your role in your gym needs a second step when you sign in: a 6-digit code from an authenticator app on your phone.'
            : 'Protect your account with a second step when you sign in: a 6-digit code from an authenticator app on your phone.'
        }
      </p>
      <ol>
        <li>Open an authenticator app and add an account.</li>
        <li>Scan this code, or type the key below.</li>
        <li>Type the 6-digit code the app shows.</li>
      </ol>
      <figure class="qr">
        ${qr}
        <figcaption id="qr-label">QR code for your authenticator app</figcaption>
      </figure>
      <p>Key: <code class="secret">${grouped(options.secret)}</code></p>
      <form method="post" action="/interaction/${options.uid}/enrol">
        ${field({ name: 'code', label: 'Code from the app', type: 'text', autocomplete: 'one-time-code', inputmode: 'numeric', autofocus: true })}
        <button type="submit">Turn on two-step sign-in</button>
      </form>
      ${
        options.required
          ? html`<form method="post" action="/interaction/${options.uid}/abort"><button type="submit" class="secondary">Cancel</button></form>`
          : html`<form method="post" action="/interaction/${options.uid}/enrol/skip"><button type="submit" class="secondary">Not now</button></form>`
      }`,
  );
}

export function recoveryCodesPage(options: { uid: string; codes: readonly string[] }): string {
  return page(
    'Save your recovery codes',
    html`<p>Two-step sign-in is on. If you lose your phone, each of these codes lets you sign in once in place of a code from the app.</p>
      <p><strong>This is the only time they are shown.</strong> Write them down or keep them in your password manager.</p>
      <ul class="codes">
        ${options.codes.map((code) => html`<li><code>${code}</code></li>`)}
      </ul>
      <form method="post" action="/interaction/${options.uid}/enrol/done"><button type="submit" autofocus>I saved them</button></form>`,
  );
}

/** The recovery-codes step revisited (a reload): the codes are gone, the sign-in can go on. */
export function enrolledPage(options: { uid: string }): string {
  return page(
    'Two-step sign-in is on',
    html`<p>Your recovery codes were shown once and cannot be shown again. If you did not save them and lose your phone, ask your gym's admin for help.</p>
      <form method="post" action="/interaction/${options.uid}/enrol/done"><button type="submit" autofocus>Continue</button></form>`,
  );
}
