/**
 * A hub-shaped HTTP server with the identity mount on 127.0.0.1:0, the SQLite identity store in a temp dir, a
 * real user, and a small cookie-keeping browser that drives the sign-in pages as a person (or the mobile app's
 * browser tab) would.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { pino } from 'pino';
import { hashPassword } from '../../src/identity/passwords.ts';
import { PASSWORD_PARAMS } from '../../src/identity/passwords.ts';
import { SqliteIdentityStore } from '../../src/identity/sqlite-identity-store.ts';
import type { User } from '../../src/identity/identity-store.ts';
import { IdentitySection } from '../../src/oidc/config.ts';
import { mountIdentity, type IdentityMount, type MountIdentityOptions } from '../../src/oidc/mount.ts';

export const PASSWORD = 'correct horse battery staple';
export const MOBILE = 'pulsebridge-mobile';
export const MOBILE_REDIRECT = 'app.pulsebridge:/oauth/callback';
export const BOARD = 'pulsebridge-board';
export const SERVICE = 'results-service';
export const SERVICE_SECRET = 'service-secret-for-tests-only';
export const THIRD_PARTY = 'coach-planner';
export const THIRD_PARTY_REDIRECT = 'https://planner.example.org/callback';

export function identityConfig(issuer: string, overrides: Record<string, unknown> = {}): IdentitySection {
  const base = Value.Default(IdentitySection, {}) as IdentitySection;
  const clients = [
    ...base.clients,
    { clientId: SERVICE, name: 'Results service', kind: 'service', clientSecret: SERVICE_SECRET, scopes: ['readings:read'], roles: [{ gym: 'gym-a', role: 'coach' }] },
    { clientId: THIRD_PARTY, name: 'Coach Planner', kind: 'public', redirectUris: [THIRD_PARTY_REDIRECT], firstParty: false },
  ];
  return Value.Parse(IdentitySection, { issuer, clients, ...overrides });
}

export interface Harness {
  base: string;
  dir: string;
  store: SqliteIdentityStore;
  user: User;
  identity: IdentityMount;
  /** A new provider on a new store instance of the same file: as a hub restart. */
  restart(options?: Partial<MountIdentityOptions>): Promise<IdentityMount>;
  close(): Promise<void>;
}

export async function startHarness(options: Partial<MountIdentityOptions> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-oidc-'));
  const path = join(dir, 'identity.db');
  let store = new SqliteIdentityStore({ path });
  await store.start();
  const user = await store.createUser({ email: 'ada@example.com', displayName: 'Ada Athlete' });
  await store.setPassword(user.id, { hash: await hashPassword(PASSWORD), paramsVersion: PASSWORD_PARAMS.version });
  await store.addMembership({ userId: user.id, gym: 'gym-a', role: 'athlete' });

  let listener: RequestListener = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const log = pino({ level: 'silent' });
  const apiFallback: RequestListener = (_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('api');

  const mount = async (extra: Partial<MountIdentityOptions>): Promise<IdentityMount> => {
    const identity = await mountIdentity({ config: identityConfig(base), store, log, ...options, ...extra });
    listener = identity.handler(apiFallback);
    return identity;
  };
  const harness: Harness = {
    base,
    dir,
    store,
    user,
    identity: await mount({}),
    async restart(extra = {}) {
      await store.stop();
      store = new SqliteIdentityStore({ path });
      await store.start();
      harness.store = store;
      harness.identity = await mount(extra);
      return harness.identity;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** Keeps cookies by name (paths ignored: the flows here are sequential) and never follows redirects itself. */
export class Browser {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly base: string) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await fetch(new URL(url, this.base), { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => /^\s*expires=Thu, 01 Jan 1970/i.test(attribute)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Follows redirects until one leaves for `stopAt` (returned as a URL) or a page is shown (returned as the response). */
  async follow(url: string, stopAt: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<URL | Response> {
    let response = await this.request(url, init);
    for (let hops = 0; hops < 10; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) return response;
      if (location.startsWith(stopAt)) return new URL(location);
      response = await this.request(new URL(location, this.base).href);
    }
    throw new Error('too many redirects');
  }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizeUrl(base: string, params: Record<string, string>): string {
  return `${base}/oidc/auth?${new URLSearchParams({ response_type: 'code', ...params }).toString()}`;
}

/** A fresh sign-in of the mobile app (PKCE, scope openid) up to its sign-in form: the form's HTML. */
export async function openSignInPage(harness: Pick<Harness, 'base'>, browser: Browser): Promise<string> {
  const { challenge } = pkcePair();
  const page = await browser.follow(
    authorizeUrl(harness.base, { client_id: MOBILE, redirect_uri: MOBILE_REDIRECT, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }),
    MOBILE_REDIRECT,
  );
  if (!(page instanceof Response)) throw new Error(`the sign-in went straight to the app: ${page.href}`);
  return page.text();
}

/** The action of the page's first form posting to `/interaction/<uid>/<step>`. */
export function formAction(page: string, step: string): string {
  const match = new RegExp(`action="(/interaction/[^"/]+/${step})"`).exec(page);
  if (match?.[1] === undefined) throw new Error(`no ${step} form on the page:\n${page}`);
  return match[1];
}

/** After a right password an athlete without TOTP is offered it: answers "Not now" and goes on to `stopAt`. */
export async function skipEnrolment(browser: Browser, step: URL | Response, stopAt: string): Promise<URL | Response> {
  if (!(step instanceof Response)) return step;
  return browser.follow(formAction(await step.text(), 'enrol/skip'), stopAt, { form: {} });
}

export async function token(base: string, form: Record<string, string>, basicAuth?: { id: string; secret: string }): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basicAuth) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basicAuth.id)}:${encodeURIComponent(basicAuth.secret)}`).toString('base64')}`;
  const response = await fetch(`${base}/oidc/token`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * The mobile app's sign-in: authorize with PKCE, the sign-in form, (consent when asked), then the code at the
 * app's redirect. Returns the code and the verifier.
 */
export async function signInForCode(
  harness: Pick<Harness, 'base'>,
  browser: Browser,
  options: { clientId?: string; redirectUri?: string; scope?: string; email?: string; password?: string; secondFactorCode?: string; noConsent?: boolean } = {},
): Promise<{ code: string; verifier: string; state: string }> {
  const clientId = options.clientId ?? MOBILE;
  const redirectUri = options.redirectUri ?? MOBILE_REDIRECT;
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(8).toString('hex');
  const start = authorizeUrl(harness.base, {
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: options.scope ?? 'openid profile email agents:read readings:read',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
  });
  let step: URL | Response = await browser.follow(start, redirectUri);
  for (let pages = 0; pages < 5 && step instanceof Response; pages++) {
    const html = await step.text();
    if (step.status >= 400) throw new Error(`refused (${step.status}): ${/role="alert">([^<]*)</.exec(html)?.[1] ?? html}`);
    if (html.includes('/login"')) {
      step = await browser.follow(formAction(html, 'login'), redirectUri, { form: { email: options.email ?? 'ada@example.com', password: options.password ?? PASSWORD } });
    } else if (html.includes('/enrol/skip"')) {
      // The offer of two-step sign-in to a user whose role may go without it: "Not now".
      step = await browser.follow(formAction(html, 'enrol/skip'), redirectUri, { form: {} });
    } else if (html.includes('/second-factor"')) {
      step = await browser.follow(formAction(html, 'second-factor'), redirectUri, { form: { code: options.secondFactorCode ?? '' } });
    } else if (html.includes('/confirm"') && options.noConsent !== true) {
      step = await browser.follow(formAction(html, 'confirm'), redirectUri, { form: {} });
    } else {
      throw new Error(`unexpected page (${step.status}):\n${html}`);
    }
  }
  if (!(step instanceof URL)) throw new Error('the sign-in did not reach the app');
  const code = step.searchParams.get('code');
  if (code === null) throw new Error(`no code at the redirect: ${step.href}`);
  if (step.searchParams.get('state') !== state) throw new Error('state changed');
  return { code, verifier, state };
}
