import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { ConfigError, SecretRef, loadConfig, resolveSecret } from '../src/config.ts';

const Schema = Type.Object(
  {
    http: Type.Object(
      { port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }), host: Type.String({ default: '0.0.0.0' }) },
      { default: {}, additionalProperties: false },
    ),
    token: SecretRef,
    mode: Type.Union([Type.Literal('a'), Type.Literal('b')], { default: 'a' }),
  },
  { additionalProperties: false },
);

const dir = mkdtempSync(join(tmpdir(), 'pb-config-'));

test('file, then environment, then defaults', () => {
  const file = join(dir, 'ok.yaml');
  writeFileSync(file, 'http:\n  host: 127.0.0.1\ntoken: abc\n');
  const config = loadConfig(Schema, { file, envPrefix: 'PB_T_', env: { PB_T_HTTP__PORT: '9090', OTHER: 'x' } });
  assert.deepEqual(config, { http: { port: 9090, host: '127.0.0.1' }, token: 'abc', mode: 'a' });
});

test('every problem is reported at once, each with its path', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'http:\n  port: 70000\n  extra: 1\nmode: c\n');
  try {
    loadConfig(Schema, { file, envPrefix: 'PB_T_', env: {} });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join('\n');
    for (const path of ['/http/port', '/http/extra', '/mode', '/token']) assert.match(text, new RegExp(path), text);
  }
});

test('a missing file and broken YAML are reported, not thrown raw', () => {
  assert.throws(() => loadConfig(Schema, { file: join(dir, 'none.yaml'), envPrefix: 'X_', env: {} }), /file not found/);
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'http: [\n');
  assert.throws(() => loadConfig(Schema, { file: broken, envPrefix: 'X_', env: {} }), ConfigError);
});

test('secrets resolve from the environment or a file, with clear errors', () => {
  const file = join(dir, 'secret');
  writeFileSync(file, 's3cret\n');
  assert.equal(resolveSecret({ file }), 's3cret');
  assert.equal(resolveSecret({ env: 'TOKEN' }, { TOKEN: 'x' }), 'x');
  assert.throws(() => resolveSecret({ env: 'TOKEN' }, {}), /TOKEN is not set/);
  assert.throws(() => resolveSecret({ file: join(dir, 'missing') }), /ENOENT/);
});

test('environment overrides reach camelCase options with "_" between words; a run-together name is refused, naming the variable', () => {
  const Camel = Type.Object(
    {
      uplink: Type.Object(
        { liveBatchDelayMs: Type.Integer({ default: 1000 }), keepaliveS: Type.Integer({ default: 30 }), allow: Type.Array(Type.String(), { default: [] }) },
        { default: {}, additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  );
  const env = { PB_T_UPLINK__LIVE_BATCH_DELAY_MS: '250', PB_T_UPLINK__KEEPALIVE_S: '5', PB_T_UPLINK__ALLOW: '["a","b"]' };
  assert.deepEqual(loadConfig(Camel, { envPrefix: 'PB_T_', env }), { uplink: { liveBatchDelayMs: 250, keepaliveS: 5, allow: ['a', 'b'] } });
  try {
    loadConfig(Camel, { envPrefix: 'PB_T_', env: { PB_T_UPLINK__LIVEBATCHDELAYMS: '250', PB_T_UPLINK__KEEPALIVE_S: 'soon' } });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.ok(
      err.problems.includes(
        '/uplink/livebatchdelayms: Unexpected property (from PB_T_UPLINK__LIVEBATCHDELAYMS; a camelCase option takes "_" between its words, e.g. UPLINK__LIVE_BATCH_DELAY_MS)',
      ),
      err.problems.join('\n'),
    );
    assert.ok(
      err.problems.some((p) => p.startsWith('/uplink/keepaliveS: ') && p.endsWith(' (from PB_T_UPLINK__KEEPALIVE_S)')),
      err.problems.join('\n'),
    );
  }
});
