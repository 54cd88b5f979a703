import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get as httpGet, type Server } from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { loadHubConfig } from '../../src/config.ts';
import { providerClients, webClient, webClientProblems } from '../../src/oidc/config.ts';
import { DEFAULT_WEB_DIR, webApp } from '../../src/web/web-app.ts';

const log = pino({ level: 'silent' });

async function serve(dir: string, enabled = true): Promise<{ base: string; server: Server }> {
  const server = createServer(webApp({ enabled, dir }, log, (_req, res) => res.writeHead(418).end('api')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('the hub serves the built web app', () => {
  let dir: string;
  let base: string;
  let server: Server;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pb-web-'));
    for (const bundle of ['app', 'board']) {
      mkdirSync(join(dir, bundle));
      writeFileSync(join(dir, bundle, 'index.html'), `<!doctype html><title>${bundle}</title>`);
      writeFileSync(join(dir, bundle, 'main-ABCD1234.js'), 'console.log(1)');
      writeFileSync(join(dir, bundle, 'main-ABCD1234.js.gz'), gzipSync('console.log(1)'));
    }
    writeFileSync(join(dir, 'app', 'meta.json'), '{}');
    ({ base, server } = await serve(dir));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ redirects to /app/', async () => {
    const response = await fetch(`${base}/`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/app/');
  });

  test('an unknown path under /app answers the app page, never cached, with the web CSP', async () => {
    const response = await fetch(`${base}/app/me/sessions/42`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /<title>app<\/title>/);
    assert.equal(response.headers.get('cache-control'), 'no-cache');
    const csp = response.headers.get('content-security-policy') ?? '';
    for (const directive of ["script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data: blob:", "frame-ancestors 'none'"])
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
  });

  test('hashed assets are cached for a year with their content type', async () => {
    const response = await fetch(`${base}/board/main-ABCD1234.js`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.match(response.headers.get('content-type') ?? '', /^text\/javascript/);
  });

  test("a browser that accepts gzip gets the build's gzip copy; one that does not, or refuses it, the file itself", async () => {
    const gzipped = await new Promise<{ encoding: string | undefined; vary: string | undefined; body: Buffer }>((resolve, reject) => {
      httpGet(`${base}/board/main-ABCD1234.js`, { headers: { 'accept-encoding': 'br, gzip;q=0.8' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ encoding: response.headers['content-encoding'], vary: response.headers.vary, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    assert.equal(gzipped.encoding, 'gzip');
    assert.equal(gzipped.vary, 'accept-encoding');
    assert.equal(gunzipSync(gzipped.body).toString(), 'console.log(1)');
    for (const accept of ['identity', 'gzip;q=0', 'deflate, gzip;q=0.0']) {
      const plain = await new Promise<{ encoding: string | undefined; body: string }>((resolve, reject) => {
        httpGet(`${base}/board/main-ABCD1234.js`, { headers: { 'accept-encoding': accept } }, (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ encoding: response.headers['content-encoding'], body }));
        }).on('error', reject);
      });
      assert.deepEqual(plain, { encoding: undefined, body: 'console.log(1)' }, accept);
    }
  });

  test('a malformed escape in the path is answered 400, and the server keeps serving', async () => {
    assert.equal((await fetch(`${base}/app/%E0%A4%A`)).status, 400);
    assert.equal((await fetch(`${base}/board/main-ABCD1234.js.gz`)).headers.get('content-encoding'), null, 'the .gz copy is not a page of its own');
    assert.equal((await fetch(`${base}/app/`)).status, 200);
  });

  test('paths out of the folder and the metafile are not served as files', async () => {
    const escaped = await fetch(`${base}/app/..%2F..%2Fetc%2Fpasswd`);
    assert.match(await escaped.text(), /<title>app<\/title>/);
    const meta = await fetch(`${base}/app/meta.json`);
    assert.match(await meta.text(), /<title>app<\/title>/);
  });

  test('the API and other methods pass through', async () => {
    assert.equal((await fetch(`${base}/api/v1/gyms`)).status, 418);
    assert.equal((await fetch(`${base}/app/x`, { method: 'POST' })).status, 418);
  });
});

test('a hub without a build answers /app with a 404 page that says to run the build', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pb-web-none-'));
  const { base, server } = await serve(join(dir, 'missing'));
  try {
    const response = await fetch(`${base}/app/`);
    assert.equal(response.status, 404);
    assert.match(await response.text(), /npm run build:web/);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('web.enabled: false leaves /app to the API', async () => {
  const { base, server } = await serve('/nonexistent', false);
  try {
    assert.equal((await fetch(`${base}/app/`)).status, 418);
  } finally {
    server.close();
  }
});

test('the web client follows the issuer and a configured client of its id replaces it', () => {
  const client = webClient({ issuer: 'https://hub.example.com/' });
  assert.deepEqual(client.redirectUris, ['https://hub.example.com/app/callback']);
  assert.equal(client.kind, 'public');
  assert.equal(client.firstParty, true);
  assert.equal(providerClients({ issuer: 'https://hub.example.com', clients: [] }).length, 1);
  assert.deepEqual(providerClients({ issuer: 'https://hub.example.com', clients: [] }, false), []);
  const own = { ...client, name: 'Ours' };
  assert.deepEqual(providerClients({ issuer: 'https://hub.example.com', clients: [own] }), [own]);
});

test('an http issuer that is not loopback is a config problem while the web app is served', () => {
  assert.deepEqual(webClientProblems({ issuer: 'https://hub.example.com' }, true, '/web/enabled'), []);
  assert.deepEqual(webClientProblems({ issuer: 'http://localhost:8080' }, true, '/web/enabled'), []);
  const problems = webClientProblems({ issuer: 'http://hub.lan:8080' }, true, '/web/enabled');
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^\/web\/enabled: .*http:\/\/hub\.lan:8080\/app\/callback.*loopback/);
  assert.deepEqual(webClientProblems({ issuer: 'http://hub.lan:8080' }, false, '/web/enabled'), []);
  assert.throws(
    () => loadHubConfig({ env: { PB_HUB_IDENTITY__ISSUER: 'http://hub.lan:8080' } }),
    (err: Error & { problems?: string[] }) => err.problems?.some((p) => p.startsWith('/web/enabled:')) === true,
  );
});

test("the default folder is the repository's web/dist", () => {
  assert.equal(DEFAULT_WEB_DIR, join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'web', 'dist'));
});
