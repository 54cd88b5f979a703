import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { DeepLinksConfig, deepLinksConfigProblems } from '../../src/api/deep-links.ts';
import { readProblem, withApi } from './harness.ts';

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).toUpperCase().padStart(2, '0')).join(':');
const CONFIG: DeepLinksConfig = {
  android: [{ packageName: 'com.pulsebridge.app', sha256CertFingerprints: [FINGERPRINT] }],
  apple: { appIds: ['ABCDE12345.com.pulsebridge.app'], paths: ['/oauth/callback', '/app/*'] },
};

test('assetlinks.json serves the Digital Asset Links statements, public, cacheable and without a redirect', async () => {
  await withApi({ deepLinks: CONFIG }, async (api) => {
    const response = await fetch(`${api.url}/.well-known/assetlinks.json`, { redirect: 'manual' });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('cache-control'), 'public, max-age=3600');
    assert.deepEqual(await response.json(), [
      {
        relation: ['delegate_permission/common.handle_all_urls', 'delegate_permission/common.get_login_creds'],
        target: { namespace: 'android_app', package_name: 'com.pulsebridge.app', sha256_cert_fingerprints: [FINGERPRINT] },
      },
    ]);
  });
});

test('apple-app-site-association serves applinks and webcredentials as JSON without a file extension', async () => {
  await withApi({ deepLinks: CONFIG }, async (api) => {
    const response = await fetch(`${api.url}/.well-known/apple-app-site-association`, { redirect: 'manual' });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await response.json(), {
      applinks: { details: [{ appIDs: ['ABCDE12345.com.pulsebridge.app'], components: [{ '/': '/oauth/callback' }, { '/': '/app/*' }] }] },
      webcredentials: { apps: ['ABCDE12345.com.pulsebridge.app'] },
    });
  });
});

test('a platform that is not configured answers 404 problem+json', async () => {
  await withApi({ deepLinks: { android: [] } }, async (api) => {
    for (const path of ['/.well-known/assetlinks.json', '/.well-known/apple-app-site-association']) {
      const response = await fetch(`${api.url}${path}`);
      assert.equal(response.status, 404, path);
      assert.match((await readProblem(response)).detail, /deepLinks/);
    }
  });
  await withApi(async (api) => {
    assert.equal((await fetch(`${api.url}/.well-known/assetlinks.json`)).status, 404);
  });
});

test('the deepLinks schema refuses malformed fingerprints and app ids, and a package listed twice is a problem', () => {
  assert.ok(Value.Check(DeepLinksConfig, CONFIG));
  assert.equal(Value.Check(DeepLinksConfig, { android: [{ packageName: 'com.pulsebridge.app', sha256CertFingerprints: [FINGERPRINT.toLowerCase()] }] }), false);
  assert.equal(Value.Check(DeepLinksConfig, { android: [], apple: { appIds: ['com.pulsebridge.app'], paths: ['/app/*'] } }), false);
  assert.equal(Value.Check(DeepLinksConfig, { android: [], apple: { appIds: ['ABCDE12345.com.pulsebridge.app'], paths: ['app/*'] } }), false);
  const twice = { android: [CONFIG.android[0]!, CONFIG.android[0]!] };
  assert.deepEqual(deepLinksConfigProblems(twice, '/deepLinks'), ['/deepLinks/android/1/packageName: com.pulsebridge.app is listed twice; give one entry all its fingerprints']);
});
