/**
 * The HTML of the sign-in pages: one small inline stylesheet, labelled fields, plain forms that work from the
 * keyboard and without JavaScript, nothing loaded from elsewhere. Every value from outside goes through `html`.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text ?? '').replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** A piece of HTML that is already safe. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Tagged template: interpolated values are escaped unless they are SafeHtml (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new SafeHtml(out);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(value);
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#111827}
main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.5rem;margin:0 0 1rem}
p{margin:.5rem 0 1rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=email],input[type=password],input[type=text]{width:100%;padding:.6rem .75rem;font:inherit;border:1px solid #9ca3af;border-radius:.375rem}
input:focus,button:focus,a:focus{outline:3px solid #2563eb;outline-offset:2px}
button,.button{display:block;width:100%;margin-top:1rem;padding:.65rem;font:inherit;font-weight:600;text-align:center;text-decoration:none;border:0;border-radius:.375rem;background:#1d4ed8;color:#fff;cursor:pointer}
button.secondary,.button.secondary{background:#fff;color:#1d4ed8;border:1px solid #1d4ed8}
.error{padding:.6rem .75rem;border-radius:.375rem;background:#fef2f2;color:#991b1b;border:1px solid #fecaca}
.code{font:700 2rem/1.2 ui-monospace,monospace;letter-spacing:.15em;text-align:center}
ul{padding-left:1.25rem}
.or{text-align:center;color:#6b7280;margin:1.25rem 0 0}
.qr{margin:1rem 0;text-align:center}
.qr svg{display:block;width:14rem;height:14rem;margin:0 auto}
.secret,.codes code{font:600 1rem/1.4 ui-monospace,monospace;word-break:break-all}
.codes{columns:2;list-style:none;padding:0}
.links{text-align:center;margin:1rem 0 0}
`;

/** A whole page: the title goes into <title> and <h1>. */
export function page(title: string, body: SafeHtml): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Pulsebridge</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body.value}
</main>
</body>
</html>`;
}

/** An error message screen readers announce. */
export function errorBox(message: string | undefined): SafeHtml {
  return message === undefined ? html`` : html`<p class="error" role="alert">${message}</p>`;
}

/** A labelled input; `autocomplete` matters for password managers and one-time codes. */
export function field(options: {
  name: string;
  label: string;
  type: 'email' | 'password' | 'text';
  autocomplete: string;
  value?: string;
  autofocus?: boolean;
  inputmode?: string;
}): SafeHtml {
  const id = `field-${options.name}`;
  return html`<label for="${id}">${options.label}</label>
    <input
      id="${id}"
      name="${options.name}"
      type="${options.type}"
      autocomplete="${options.autocomplete}"
      required${options.value === undefined ? '' : html` value="${options.value}"`}${options.inputmode === undefined ? '' : html` inputmode="${options.inputmode}"`}${options.autofocus ? new SafeHtml(' autofocus') : ''}
    />`;
}
