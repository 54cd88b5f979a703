/**
 * Security headers and CORS for everything the hub serves over HTTP: the API, /oidc and the interaction
 * pages. Mount `httpHardening(...)` first, so that problem responses and pages get the headers too.
 */
import { createHash } from 'node:crypto';
import cors from '@koa/cors';
import type { Middleware } from 'koa';
import helmet from 'koa-helmet';
import { Type, type Static } from '@sinclair/typebox';

export const CorsConfig = Type.Object(
  {
    origins: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'Web origins (scheme://host[:port]) whose pages may call the API from a browser; none by default',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type CorsConfig = Static<typeof CorsConfig>;

/** Every origin must be exactly what a browser sends in `Origin`: no path, no wildcard. */
export function corsConfigProblems(config: CorsConfig, path: string): string[] {
  const problems: string[] = [];
  config.origins.forEach((origin, index) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.origin !== origin) {
      problems.push(`${path}/origins/${index}: '${origin}' is not an origin like https://app.example.com (scheme, host and port only, no trailing slash)`);
    }
  });
  return problems;
}

export interface HttpHardeningOptions {
  cors: CorsConfig;
  /** CSP hashes ('sha256-...') of the inline stylesheets the hub's pages carry; see `inlineStyleHashes`. */
  styleHashes?: readonly string[];
  /** CSP hashes of inline scripts, if a page ever needs one; none by default, so no script runs. */
  scriptHashes?: readonly string[];
}

/** Headers that a browser may read from a cross-origin answer. */
const EXPOSED_HEADERS = ['Link', 'X-Request-Id', 'Retry-After', 'WWW-Authenticate'];
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-Request-Id'];
const HSTS_MAX_AGE_SECONDS = 31_536_000;

/** The CSP hashes of every `<style>` element of a page, for `styleHashes`. */
export function inlineStyleHashes(html: string): string[] {
  return [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(
    (match) =>
      `'sha256-${createHash('sha256')
        .update(match[1] ?? '')
        .digest('base64')}'`,
  );
}

export function httpHardening(options: HttpHardeningOptions): Middleware {
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'none'"],
        'style-src': ["'self'", ...(options.styleHashes ?? [])],
        'script-src': options.scriptHashes?.length ? [...options.scriptHashes] : ["'none'"],
        // TOTP enrolment shows its QR code as a data: image.
        'img-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'base-uri': ["'none'"],
        'frame-ancestors': ["'none'"],
        'object-src': ["'none'"],
        // No form-action: the sign-in form's answer redirects to the app's redirect URI (a custom scheme or
        // another host), which Chromium checks against form-action and would block.
      },
    },
    // Set below, only over HTTPS: over plain HTTP browsers ignore it, and a development hub must not pin it.
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  });
  const hsts = helmet.hsts({ maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: true });
  const allowed = new Set(options.cors.origins);
  const crossOrigin = cors({
    // Undefined for an origin not listed: @koa/cors then adds no CORS header and the browser blocks the answer.
    origin: (ctx) => (allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    // Tokens are bearer tokens sent by the page itself: no cookies, so no credentials mode.
    credentials: false,
    allowMethods: ['GET', 'HEAD', 'POST', 'DELETE'],
    allowHeaders: ALLOWED_HEADERS,
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
  return async (ctx, next) => {
    const withCors = () => crossOrigin(ctx, next);
    await headers(ctx, ctx.secure ? () => hsts(ctx, withCors) : withCors);
  };
}
