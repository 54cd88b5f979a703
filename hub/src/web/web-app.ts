/**
 * Serves the web app (web/dist, built by scripts/build-web.ts) at /app/* and the class board at /board/*, with a
 * CSP of their own: the pages' scripts and styles come from the hub only, and they talk to the hub only.
 * Hashed assets are cached for a year; the HTML is never cached, so a new build is picked up at the next load.
 * The build writes a gzip copy of each script and stylesheet next to it (`<file>.gz`); a browser that accepts
 * gzip gets that copy, so nothing is compressed per request.
 * /app/<anything unknown> answers the app's index.html (the app routes in the browser); `/` redirects to /app/.
 * Without a build the hub answers a 404 page saying to run `npm run build:web`, and logs it once at start.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';

export const WebConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve the web app at /app and the class board at /board' }),
    dir: Type.Optional(Type.String({ minLength: 1, description: "The built web app (npm run build:web); default: the repository's web/dist" })),
  },
  { additionalProperties: false, default: {} },
);
export type WebConfig = Static<typeof WebConfig>;

/** The repository's web/dist, found upwards from this module: hub/src/web (sources) or hub/dist (the bundle). */
export const DEFAULT_WEB_DIR = repositoryWebDist(dirname(fileURLToPath(import.meta.url)));

function repositoryWebDist(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'web', 'package.json'))) return join(dir, 'web', 'dist');
    if (dirname(dir) === dir) return join(from, '..', '..', '..', 'web', 'dist');
  }
}

export function webConfigProblems(config: WebConfig, path: string): string[] {
  if (config.dir === undefined || !existsSync(config.dir)) return [];
  return statSync(config.dir).isDirectory() ? [] : [`${path}/dir: ${config.dir} is not a folder`];
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};
/** esbuild's `[name]-[hash]` names: content-addressed, so safe to keep for a year. */
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9]+(\.map)?$/;
const BUNDLES = ['app', 'board'] as const;

const MISSING_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Web app not built</title></head><body><main><h1>The web app is not built</h1><p>Run <code>npm run build:web</code> in the repository (or <code>npm start</code>, which builds it), then reload.</p></main></body></html>`;

function headers(type: string, cache: string): Record<string, string> {
  return {
    'content-type': type,
    'cache-control': cache,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
}

/** Accept-Encoding names gzip with a weight above zero (`gzip;q=0` refuses it). */
function acceptsGzip(req: IncomingMessage): boolean {
  const accepted = req.headers['accept-encoding'];
  if (typeof accepted !== 'string') return false;
  return accepted.split(',').some((entry) => {
    const [name = '', ...params] = entry.split(';').map((part) => part.trim());
    if (name.toLowerCase() !== 'gzip') return false;
    const weight = params.find((param) => param.startsWith('q='));
    return weight === undefined || Number(weight.slice(2)) > 0;
  });
}

function bundleOf(path: string): (typeof BUNDLES)[number] | undefined {
  return BUNDLES.find((bundle) => path === `/${bundle}` || path.startsWith(`/${bundle}/`));
}

/** Wraps `fallback` (the API): answers /, /app/* and /board/* itself. */
export function webApp(config: WebConfig, log: Logger, fallback: RequestListener): RequestListener {
  if (!config.enabled) return fallback;
  const dir = config.dir ?? DEFAULT_WEB_DIR;
  const built = existsSync(join(dir, 'app', 'index.html'));
  if (!built) log.warn({ dir }, 'the web app is not built: /app and /board answer 404 until `npm run build:web` has run');
  return (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://hub').pathname;
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      res.writeHead(302, { location: '/app/', 'cache-control': 'no-cache' }).end();
      return;
    }
    const bundle = bundleOf(path);
    if (bundle === undefined || (method !== 'GET' && method !== 'HEAD')) {
      fallback(req, res);
      return;
    }
    if (!existsSync(join(dir, bundle, 'index.html'))) {
      res.writeHead(404, headers(TYPES['.html']!, 'no-cache')).end(method === 'HEAD' ? undefined : MISSING_PAGE);
      return;
    }
    if (path === `/${bundle}`) {
      res.writeHead(301, { location: `/${bundle}/`, 'cache-control': 'no-cache' }).end();
      return;
    }
    const root = join(dir, bundle);
    let relative: string;
    try {
      relative = decodeURIComponent(path.slice(bundle.length + 2));
    } catch {
      // A malformed escape (%E0%A4) names no file; answered here, since a throw would end the listener's process.
      res.writeHead(400, headers('text/plain; charset=utf-8', 'no-cache')).end(method === 'HEAD' ? undefined : 'malformed path');
      return;
    }
    const file = normalize(join(root, relative));
    const inside = file.startsWith(root + sep);
    const isFile = inside && relative !== '' && existsSync(file) && statSync(file).isFile() && !relative.endsWith('meta.json') && !relative.endsWith('.gz');
    // The pages' own routes (e.g. /app/me/sessions/42) are the page itself: it routes in the browser.
    const served = isFile ? file : join(root, 'index.html');
    const type = TYPES[extname(served)] ?? 'application/octet-stream';
    const cache = HASHED.test(served) ? 'public, max-age=31536000, immutable' : 'no-cache';
    const gzipped = `${served}.gz`;
    const compressed = acceptsGzip(req) && existsSync(gzipped);
    const body = readFileSync(compressed ? gzipped : served);
    const encoding: Record<string, string> = compressed ? { 'content-encoding': 'gzip' } : {};
    res.writeHead(200, { ...headers(type, cache), ...encoding, vary: 'accept-encoding', 'content-length': String(body.length) }).end(method === 'HEAD' ? undefined : body);
  };
}
