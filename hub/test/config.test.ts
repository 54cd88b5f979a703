import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAgentToolConfig, loadHubConfig, redactConfig } from '../src/config.ts';
import { configProblems } from '../../test/config-problems.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pb-hub-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('hub configuration', () => {
  test('defaults: nothing is required', () => {
    const config = loadHubConfig({ env: {} });
    assert.equal(config.hub.dataDir, 'data/hub');
    assert.deepEqual(config.http, { host: '0.0.0.0', port: 8080, cors: { origins: [] } });
    assert.equal(config.rateLimits.store, 'memory');
    assert.deepEqual(config.deepLinks, { android: [] });
    assert.equal(config.mqtt.mode, 'embedded');
    assert.equal(config.mqtt.host, '0.0.0.0');
    assert.equal(config.mqtt.port, 1883);
    assert.equal(config.mqtt.maxPacketBytes, 1024 * 1024);
    assert.equal(config.mqtt.websocketPath, '/mqtt');
    assert.equal(config.mqtt.external.shareGroup, 'pulsebridge-hub');
    assert.equal(config.mqtt.external.sharedSubscriptions, true);
    assert.equal(config.mqtt.external.protocolVersion, 5);
    assert.equal(config.topicRoot, 'pb');
    assert.equal(config.log.level, 'info');
    assert.equal(config.identity.store.kind, 'sqlite');
    assert.equal(config.identity.issuer, 'http://localhost:8080');
    assert.deepEqual(
      config.identity.clients.map((c) => c.clientId),
      ['pulsebridge-mobile', 'pulsebridge-board'],
    );
    assert.equal(typeof config.ingest.maxBatchBytes, 'number', 'the ingest section takes its own defaults');
    assert.ok(config.series, 'the series section takes its own defaults');
  });

  test('identity: a service client without a secret, a bad issuer and an unreadable store URL are refused at load', () => {
    const problems = configProblems(() =>
      loadHubConfig({
        env: {
          PB_HUB_IDENTITY__ISSUER: 'https://hub.example/?x=1',
          PB_HUB_IDENTITY__CLIENTS: JSON.stringify([{ clientId: 'ops', name: 'Ops', kind: 'service' }]),
          PB_HUB_IDENTITY__STORE__KIND: 'postgres',
          PB_HUB_IDENTITY__STORE__POSTGRES__URL: '{"env":"PG_URL_NOT_SET_ANYWHERE"}',
        },
      }),
    );
    for (const where of ['/identity/store/postgres/url: ', '/identity/issuer: must not have a query', '/identity/clients/0']) {
      assert.ok(
        problems.some((p) => p.startsWith(where)),
        `${where} missing from:\n${problems.join('\n')}`,
      );
    }
  });

  test('failed MQTT login throttling has defaults, takes overrides and refuses a zero limit', () => {
    const defaults = loadHubConfig({ env: {} }).mqtt.loginThrottle;
    assert.deepEqual(defaults, { maxFailuresPerAddress: 20, maxFailuresPerAgent: 5, windowMs: 60_000, blockMs: 60_000, maxTrackedKeys: 10_000 });
    const off = loadHubConfig({ env: { PB_HUB_MQTT__LOGIN_THROTTLE__BLOCK_MS: '0' } }).mqtt.loginThrottle;
    assert.equal(off.blockMs, 0);
    const problems = configProblems(() => loadHubConfig({ env: { PB_HUB_MQTT__LOGIN_THROTTLE__MAX_FAILURES_PER_AGENT: '0' } }));
    assert.ok(
      problems.some((p) => p.startsWith('/mqtt/loginThrottle/maxFailuresPerAgent')),
      problems.join('\n'),
    );
  });

  test('environment overrides the file; nested names use __ and camelCase', () => {
    const path = file('env.yaml', ['http:', '  port: 8081', 'mqtt:', '  mode: embedded', '  external:', '    shareGroup: from-file'].join('\n'));
    const config = loadHubConfig({
      file: path,
      env: {
        PB_HUB_HTTP__PORT: '9090',
        PB_HUB_MQTT__MODE: 'external',
        PB_HUB_MQTT__EXTERNAL__SHARE_GROUP: 'replicas',
        PB_HUB_MQTT__EXTERNAL__USERNAME: 'hub',
        PB_HUB_MQTT__EXTERNAL__PASSWORD: '{"env":"BROKER_PASSWORD"}',
        BROKER_PASSWORD: 'p',
        PB_HUB_MQTT__MAX_PACKET_BYTES: '65536',
        PB_HUB_LOG__LEVEL: 'debug',
        PB_HUB_HUB__DATA_DIR: '/var/lib/pulsebridge',
        UNRELATED: 'ignored',
      },
    });
    assert.equal(config.http.port, 9090);
    assert.equal(config.mqtt.mode, 'external');
    assert.equal(config.mqtt.external.shareGroup, 'replicas');
    assert.deepEqual(config.mqtt.external.password, { env: 'BROKER_PASSWORD' });
    assert.equal(config.mqtt.maxPacketBytes, 65_536);
    assert.equal(config.log.level, 'debug');
    assert.equal(config.hub.dataDir, '/var/lib/pulsebridge');
  });

  test('every problem is reported at once, each with its path', () => {
    const path = file(
      'bad.yaml',
      [
        'http:',
        '  port: 70000',
        '  hots: 127.0.0.1',
        'mqtt:',
        '  mode: cloud',
        '  maxPacketBytes: 10',
        '  websocketPath: mqtt',
        'topicRoot: "pb/#"',
        'log:',
        '  level: loud',
        'extra: 1',
      ].join('\n'),
    );
    const problems = configProblems(() => loadHubConfig({ file: path, env: {} }));
    for (const where of ['/http/port', '/http/hots', '/mqtt/mode', '/mqtt/maxPacketBytes', '/mqtt/websocketPath', '/topicRoot', '/log/level', '/extra']) {
      assert.ok(
        problems.some((p) => p.startsWith(where)),
        `${where} missing from:\n${problems.join('\n')}`,
      );
    }
  });

  test('secrets that cannot be read and inconsistent settings are reported together', () => {
    const path = file(
      'secrets.yaml',
      [
        'identity:',
        '  clients:',
        '    - { clientId: ops, name: Ops, kind: service, clientSecret: {env: NOT_SET_ANYWHERE} }',
        'mqtt:',
        '  mode: external',
        '  external:',
        '    password: {file: /nonexistent/pulsebridge/secret}',
        '    reconnectMinMs: 5000',
        '    reconnectMaxMs: 1000',
      ].join('\n'),
    );
    const problems = configProblems(() => loadHubConfig({ file: path, env: {} }));
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0]!, /^\/identity\/clients\/0\/clientSecret: .*NOT_SET_ANYWHERE/);
    assert.match(problems[1]!, /^\/mqtt\/external\/password: .*\/nonexistent\/pulsebridge\/secret/);
    assert.match(problems[2]!, /^\/mqtt\/external\/password: set only together with/);
    assert.match(problems[3]!, /^\/mqtt\/external\/reconnectMinMs/);
  });

  test('a missing file and a YAML file that is not a mapping are reported', () => {
    assert.ok(configProblems(() => loadHubConfig({ file: join(dir, 'nope.yaml'), env: {} }))[0]!.includes('file not found'));
    assert.ok(configProblems(() => loadHubConfig({ file: file('list.yaml', '- a\n- b\n'), env: {} }))[0]!.includes('mapping'));
    assert.ok(configProblems(() => loadHubConfig({ file: file('broken.yaml', 'http: [\n'), env: {} })).length > 0);
  });

  test('an embedded broker with neither TCP nor WebSocket is refused', () => {
    const problems = configProblems(() => loadHubConfig({ env: { PB_HUB_MQTT__TCP: 'false', PB_HUB_MQTT__WEBSOCKET: 'false' } }));
    assert.deepEqual(problems, ['/mqtt: the embedded broker needs tcp or websocket enabled, or agents cannot connect']);
  });

  test('each component reports its own rules at load: TLS files and combinations, influx settings, ingest retry delays', () => {
    const path = file(
      'components.yaml',
      [
        'mqtt:',
        '  tcp: false',
        '  tls:',
        '    certFile: /nonexistent/pulsebridge/cert.pem',
        `    keyFile: ${file('key.pem', 'not really a key')}`,
        'series:',
        '  kind: influx',
        '  influx:',
        '    url: ftp://influx.example',
        '    bucket: a/b/c',
        'ingest:',
        '  retryDelayMs: 5000',
        '  maxRetryDelayMs: 1000',
      ].join('\n'),
    );
    assert.deepEqual(
      configProblems(() => loadHubConfig({ file: path, env: {} })),
      [
        '/mqtt/tls: TLS serves the TCP listener, which is turned off (/mqtt/tcp: false)',
        '/mqtt/tls/certFile: /nonexistent/pulsebridge/cert.pem: no such file',
        `/mqtt/tls/keyFile: ${join(dir, 'key.pem')}: not a PEM private key without a passphrase`,
        '/series/influx/url: must be http:// or https://, not ftp://',
        '/series/influx/bucket: at most one "/" (database/retention-policy)',
        '/ingest/retryDelayMs: must not exceed maxRetryDelayMs',
      ],
    );
  });

  test('an external broker: a CA file needs a TLS URL and must exist, and the embedded TLS section does not apply', () => {
    const yaml = (url: string, caFile: string, tls: boolean): string =>
      ['mqtt:', '  mode: external', ...(tls ? ['  tls:', '    certFile: c.pem', '    keyFile: k.pem'] : []), '  external:', `    url: ${url}`, `    caFile: ${caFile}`].join('\n');
    assert.deepEqual(
      configProblems(() => loadHubConfig({ file: file('external.yaml', yaml('mqtt://broker.example:1883', '/nonexistent/pulsebridge/ca.pem', true)), env: {} })),
      [
        '/mqtt/external/caFile: set, but mqtt://broker.example:1883 is not a TLS URL (mqtts://, wss:// or ssl://)',
        '/mqtt/external/caFile: /nonexistent/pulsebridge/ca.pem: no such file',
        "/mqtt/tls: serves the embedded broker only; with mode external the agents' TLS is the external broker's",
      ],
    );
    const ca = file('ca.pem', 'a CA');
    const config = loadHubConfig({ file: file('external-ok.yaml', yaml('mqtts://broker.example:8883', ca, false)), env: {} });
    assert.equal(config.mqtt.external.caFile, ca);
  });

  test('ingest settings out of range are refused with every problem', () => {
    const problems = configProblems(() => loadHubConfig({ env: { PB_HUB_INGEST__MAX_WRITE_READINGS: '0', PB_HUB_INGEST__MAX_BATCH_BYTES: '-1' } }));
    assert.ok(
      problems.some((p) => p.startsWith('/ingest/maxWriteReadings')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('/ingest/maxBatchBytes')),
      problems.join('\n'),
    );
  });

  test('a webhooks address range that is not CIDR is refused with its path', () => {
    const problems = configProblems(() => loadHubConfig({ file: file('webhooks.yaml', 'webhooks:\n  allowedCidrs: ["10.0.0.0/8", "localhost"]\n'), env: {} }));
    assert.deepEqual(
      problems.filter((p) => p.startsWith('/webhooks')),
      ['/webhooks/allowedCidrs/1: "localhost" is not an address range like 10.0.0.0/8 or fd00::/8'],
    );
  });

  test('printing the configuration masks inline secrets and keeps references', () => {
    const config = loadHubConfig({
      env: {
        PB_HUB_IDENTITY__CLIENTS: JSON.stringify([{ clientId: 'ops', name: 'Ops', kind: 'service', clientSecret: 'inline-client-secret' }]),
        PB_HUB_MQTT__EXTERNAL__PASSWORD: '{"env":"X"}',
        PB_HUB_MQTT__EXTERNAL__USERNAME: 'hub',
        X: 'x',
      },
    });
    const shown = JSON.stringify(redactConfig(config));
    assert.ok(!shown.includes('inline-client-secret'));
    assert.ok(shown.includes('[redacted]'));
    assert.ok(shown.includes('{"env":"X"}'));
    assert.equal(config.identity.clients[0]!.clientSecret, 'inline-client-secret', 'the original is untouched');
  });

  test('agent tools load without the secrets of other sections and ignore the sections they do not use', () => {
    const path = file(
      'tool.yaml',
      ['hub:', '  dataDir: /tmp/x', 'identity:', '  clients: [{ clientId: x, name: X, kind: service, clientSecret: {env: NOT_SET} }]', 'series: {anything: 1}'].join('\n'),
    );
    const config = loadAgentToolConfig({ file: path, env: {} });
    assert.equal(config.hub.dataDir, '/tmp/x');
    assert.equal(config.mqtt.mode, 'embedded');
    const problems = configProblems(() => loadAgentToolConfig({ env: { PB_HUB_MQTT__PORT: 'x' } }));
    assert.ok(problems.some((p) => p.startsWith('/mqtt/port')));
  });
});

test('hub/hub.example.yaml loads, and lists exactly the defaults', () => {
  const example = fileURLToPath(new URL('../hub.example.yaml', import.meta.url));
  const fromExample = loadHubConfig({ file: example, env: {} });
  const defaults = loadHubConfig({ env: {} });
  assert.deepEqual(fromExample, defaults);
});

test('CORS origins, rate limits and deep links are checked with the rest, each problem with its path', () => {
  const problems = configProblems(() =>
    loadHubConfig({
      env: {
        PB_HUB_HTTP__CORS__ORIGINS: '["https://app.example/"]',
        PB_HUB_RATE_LIMITS__STORE: 'postgres',
        PB_HUB_RATE_LIMITS__ACCOUNT__MAX_DELAY_MS: '10',
        PB_HUB_DEEP_LINKS__ANDROID: JSON.stringify([0, 1].map(() => ({ packageName: 'com.pulsebridge.app', sha256CertFingerprints: [Array(32).fill('AB').join(':')] }))),
      },
    }),
  );
  assert.deepEqual(problems, [
    "/http/cors/origins/0: 'https://app.example/' is not an origin like https://app.example.com (scheme, host and port only, no trailing slash)",
    '/rateLimits/account/maxDelayMs: must be at least initialDelayMs (1000)',
    '/rateLimits/postgres/url: is required when store is postgres',
    '/deepLinks/android/1/packageName: com.pulsebridge.app is listed twice; give one entry all its fingerprints',
  ]);
});

test('photo limits default to 10 MiB and 40 megapixels, and an upload limit above the API’s ceiling is refused', () => {
  assert.deepEqual(loadHubConfig({ env: {} }).images, { maxUploadBytes: 10 * 1024 * 1024, maxPixels: 40_000_000 });
  const problems = configProblems(() => loadHubConfig({ env: { PB_HUB_IMAGES__MAX_UPLOAD_BYTES: String(64 * 1024 * 1024) } }));
  assert.ok(
    problems.some((p) => p.startsWith('/images/maxUploadBytes')),
    problems.join('\n'),
  );
});

test('redis: the URL is required when live.bus, cache.store or rateLimits.store is redis, it is tried at load, and --print-config masks it', () => {
  assert.deepEqual(loadHubConfig({ env: {} }).redis, { keyPrefix: 'pb:' });
  assert.deepEqual(loadHubConfig({ env: {} }).live, { bus: 'memory' });
  assert.deepEqual(loadHubConfig({ env: {} }).cache, { store: 'memory', maxBytes: 64 * 1024 * 1024 });
  assert.deepEqual(
    configProblems(() => loadHubConfig({ env: { PB_HUB_LIVE__BUS: 'redis', PB_HUB_CACHE__STORE: 'redis' } })),
    ['/redis/url: is required when /live/bus, /cache/store are redis (redis://[user:password@]host:port[/db])'],
  );
  assert.deepEqual(
    configProblems(() => loadHubConfig({ env: { PB_HUB_RATE_LIMITS__STORE: 'redis' } })),
    ['/redis/url: is required when /rateLimits/store is redis (redis://[user:password@]host:port[/db])'],
  );
  assert.deepEqual(
    configProblems(() => loadHubConfig({ env: { PB_HUB_LIVE__BUS: 'redis', PB_HUB_REDIS__URL: '{"env":"PB_REDIS_URL_NOT_SET"}' } })),
    ['/redis/url: secret: environment variable PB_REDIS_URL_NOT_SET is not set'],
  );
  // Not used: a URL that cannot be read yet is no problem.
  assert.doesNotThrow(() => loadHubConfig({ env: { PB_HUB_REDIS__URL: '{"env":"PB_REDIS_URL_NOT_SET"}' } }));
  const inline = loadHubConfig({ env: { PB_HUB_LIVE__BUS: 'redis', PB_HUB_REDIS__URL: 'redis://:hunter2@redis.internal:6379' } });
  assert.equal(redactConfig(inline).redis.url, '[redacted]');
  const byEnv = loadHubConfig({ env: { PB_HUB_LIVE__BUS: 'redis', PB_HUB_REDIS__URL: '{"env":"PB_REDIS_URL"}', PB_REDIS_URL: 'redis://h:6379' } });
  assert.deepEqual(redactConfig(byEnv).redis.url, { env: 'PB_REDIS_URL' });
  assert.ok(configProblems(() => loadHubConfig({ env: { PB_HUB_CACHE__MAX_BYTES: '10' } })).some((p) => p.startsWith('/cache/maxBytes')));
});

test('state: sqlite in hub.db by default; postgres needs a URL that can be read, a plain schema name, and nothing else', () => {
  assert.deepEqual(loadHubConfig({ env: {} }).state, { store: 'sqlite', postgres: {} });
  assert.deepEqual(
    configProblems(() => loadHubConfig({ env: { PB_HUB_STATE__STORE: 'postgres' } })),
    ['/state/postgres/url: is required when store is postgres (postgres://user:password@host:port/database)'],
  );
  const unreadable = configProblems(() => loadHubConfig({ env: { PB_HUB_STATE__STORE: 'postgres', PB_HUB_STATE__POSTGRES__URL: '{"env":"NOT_SET"}' } }));
  assert.equal(unreadable.length, 1, unreadable.join('\n'));
  assert.match(unreadable[0]!, /^\/state\/postgres\/url: .*NOT_SET/);
  const bad = configProblems(() => loadHubConfig({ env: { PB_HUB_STATE__STORE: 'mongodb', PB_HUB_STATE__POSTGRES__SCHEMA: 'Bad; DROP', PB_HUB_STATE__POSTGRES__POOL_SIZE: '3' } }));
  for (const where of ['/state/store:', '/state/postgres/schema:', '/state/postgres/poolSize: Unexpected property'])
    assert.ok(
      bad.some((p) => p.startsWith(where)),
      `${where} in:\n${bad.join('\n')}`,
    );
  const ok = loadHubConfig({
    env: { PB_HUB_STATE__STORE: 'postgres', PB_HUB_STATE__POSTGRES__URL: '{"env":"PG"}', PB_HUB_STATE__POSTGRES__SCHEMA: 'pb_state', PG: 'postgres://u:p@db/pb' },
  });
  assert.deepEqual(ok.state, { store: 'postgres', postgres: { url: { env: 'PG' }, schema: 'pb_state' } });
  assert.equal(configProblems(() => loadHubConfig({ env: { PB_HUB_STATE__POSTGRES__URL: '{"env":"NOT_SET"}' } })).length, 0, 'an unused store URL is not read');
});

test('printing the configuration masks an inline state URL and keeps a reference', () => {
  const inline = loadHubConfig({ env: { PB_HUB_STATE__STORE: 'postgres', PB_HUB_STATE__POSTGRES__URL: 'postgres://u:inline-pw@db/pb' } });
  assert.equal(redactConfig(inline).state.postgres.url, '[redacted]');
  assert.ok(!JSON.stringify(redactConfig(inline)).includes('inline-pw'));
  const byReference = loadHubConfig({ env: { PB_HUB_STATE__STORE: 'postgres', PB_HUB_STATE__POSTGRES__URL: '{"env":"PG"}', PG: 'postgres://u:p@db/pb' } });
  assert.deepEqual(redactConfig(byReference).state.postgres.url, { env: 'PG' });
});

test('the agent tools read the state section: a postgres store without a URL is refused', () => {
  assert.deepEqual(
    configProblems(() => loadAgentToolConfig({ env: { PB_HUB_STATE__STORE: 'postgres' } })),
    ['/state/postgres/url: is required when store is postgres (postgres://user:password@host:port/database)'],
  );
  assert.equal(loadAgentToolConfig({ env: {} }).state.store, 'sqlite');
});
