import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configToYaml, loadAgentConfig, redactConfig, REDACTED } from '../src/config.ts';
import type { CliIo } from '@pulsebridge/runtime';
import { main, prepare } from '../src/main.ts';
import { configProblems } from '../../test/config-problems.ts';

const EXAMPLE = fileURLToPath(new URL('../agent.example.yaml', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const REQUIRED_ENV = { PB_AGENT_AGENT__ID: 'gym-1', PB_AGENT_HUB__PASSWORD: '{"env":"PB_SECRET"}' };

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-agent-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeYaml(t: TestContext, text: string): string {
  const file = join(tempDir(t), 'agent.yaml');
  writeFileSync(file, text);
  return file;
}

test('defaults fill everything but the agent id and the password', () => {
  const config = loadAgentConfig({ env: REQUIRED_ENV });
  assert.equal(config.agent.id, 'gym-1');
  assert.equal(config.agent.dataDir, 'data/agent');
  assert.deepEqual(config.hub, { url: 'mqtt://127.0.0.1:1883', password: { env: 'PB_SECRET' }, topicRoot: 'pb', protocolVersion: 5 });
  assert.equal(config.uplink.window, 8);
  assert.equal(config.uplink.maxBatchReadings, 20_000);
  assert.equal(config.uplink.liveBatchDelayMs, 1_000);
  assert.equal(config.uplink.ackTimeoutMs, 15_000);
  assert.equal(config.uplink.statusIntervalMs, 10_000);
  assert.equal(config.uplink.reconnectMinMs, 500);
  assert.equal(config.uplink.reconnectMaxMs, 30_000);
  assert.equal(config.outbox.path, join('data/agent', 'outbox.db'), 'outbox path derived from the data directory');
  assert.equal(config.outbox.flushIntervalMs, 250);
  assert.equal(config.clock.jumpThresholdMs, 1_000);
  assert.deepEqual(config.health, { host: '127.0.0.1', port: 9_400, degradedOutboxAgeMs: 120_000, degradedOutboxShare: 0.8, degradedDropWindowMs: 300_000 });
  assert.equal(config.sources.simulator.enabled, true);
  assert.equal(config.sources.simulator.athletes, 20);
  assert.equal(config.sources.simulator.equipment.bike, 0.5);
  assert.deepEqual(config.log, { level: 'info', pretty: false });
  assert.equal(loadAgentConfig({ env: REQUIRED_ENV, stdoutIsTTY: true }).log.pretty, true, 'pretty by default on a terminal');
});

test('the environment overrides the file, and the file overrides defaults', (t) => {
  // TLS files must be readable when the configuration loads.
  const ca = join(tempDir(t), 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
  const file = writeYaml(
    t,
    `agent: { id: from-file, dataDir: /var/lib/pb }
hub: { url: 'mqtts://hub.example:8883', password: { file: /etc/pb/secret }, tls: { ca: '${ca}' } }
uplink: { window: 4, ackTimeoutMs: 5000 }
sources: { simulator: { athletes: 3 } }
log: { pretty: false }
`,
  );
  const config = loadAgentConfig({
    file,
    env: { PB_AGENT_UPLINK__WINDOW: '2', PB_AGENT_SOURCES__SIMULATOR__ENABLED: 'false', PB_AGENT_HEALTH__PORT: '9999', OTHER_VAR: 'x' },
    stdoutIsTTY: true,
  });
  assert.equal(config.agent.id, 'from-file');
  assert.equal(config.uplink.window, 2);
  assert.equal(config.uplink.ackTimeoutMs, 5_000);
  assert.equal(config.health.port, 9_999);
  assert.equal(config.sources.simulator.enabled, false);
  assert.equal(config.sources.simulator.athletes, 3);
  assert.deepEqual(config.hub.tls, { ca, rejectUnauthorized: true });
  assert.equal(config.outbox.path, '/var/lib/pb/outbox.db');
  assert.equal(config.log.pretty, false, 'an explicit setting beats the terminal default');

  const explicit = loadAgentConfig({ file, env: { PB_AGENT_OUTBOX__PATH: '/tmp/elsewhere.db' } });
  assert.equal(explicit.outbox.path, '/tmp/elsewhere.db');
});

test('every problem is reported at once, each with its path', (t) => {
  const file = writeYaml(
    t,
    `agent: { id: 'not an id!' }
hub: { url: 'http://hub', protocolVersion: 3 }
uplink: { window: 0, windw: 3 }
health: { port: 'ninety' }
sources: { simulator: { athletes: -1, colour: blue } }
log: { level: loud }
surprise: true
`,
  );
  const problems = configProblems(() => loadAgentConfig({ file, env: {} }));
  const text = problems.join('\n');
  for (const path of [
    '/agent/id',
    '/hub/password',
    '/hub/url',
    '/hub/protocolVersion',
    '/uplink/window',
    '/uplink/windw',
    '/health/port',
    '/sources/simulator/athletes',
    '/sources/simulator/colour',
    '/log/level',
    '/surprise',
  ]) {
    assert.ok(
      problems.some((p) => p.startsWith(`${path}:`)),
      `no problem reported for ${path} in:\n${text}`,
    );
  }
});

test('a missing file and a file that is not YAML are reported with the file name', (t) => {
  const missing = configProblems(() => loadAgentConfig({ file: '/nonexistent/agent.yaml', env: REQUIRED_ENV }));
  assert.deepEqual(missing, ['/nonexistent/agent.yaml: file not found']);
  const broken = writeYaml(t, 'agent: [unclosed\n');
  const problems = configProblems(() => loadAgentConfig({ file: broken, env: REQUIRED_ENV }));
  assert.ok(problems[0]!.startsWith(broken), problems[0]);
});

test('combinations that cannot work are refused', () => {
  const problems = configProblems(() =>
    loadAgentConfig({
      env: {
        ...REQUIRED_ENV,
        PB_AGENT_HUB__TLS: '{"cert":"/etc/pb/agent.pem"}',
        PB_AGENT_UPLINK__RECONNECT_MIN_MS: '5000',
        PB_AGENT_UPLINK__RECONNECT_MAX_MS: '1000',
      },
    }),
  );
  assert.deepEqual(problems, [
    '/uplink/reconnectMaxMs: 1000 is below /uplink/reconnectMinMs (5000)',
    '/hub/tls: TLS settings need an mqtts:// or wss:// URL, not mqtt://127.0.0.1:1883',
    '/hub/tls: cert and key go together',
    '/hub/tls/cert: cannot read the client certificate /etc/pb/agent.pem: ENOENT',
  ]);
});

test('the BLE section: off by default, with its defaults, its ids and combinations checked', () => {
  const { ble } = loadAgentConfig({ env: REQUIRED_ENV }).sources;
  assert.equal(ble.enabled, false);
  assert.deepEqual(ble.adapters, [0]);
  assert.deepEqual(ble.allow, []);
  assert.equal(ble.maxConnections, 5);
  assert.equal(ble.silenceTimeoutMs, 10_000);
  assert.equal(ble.adapterSilenceMs, 60_000);
  assert.equal(ble.polarBroadcast, true);

  const bad = configProblems(() =>
    loadAgentConfig({
      env: { ...REQUIRED_ENV, PB_AGENT_SOURCES__BLE__ALLOW: '["aa:bb:cc:dd:ee:ff"]', PB_AGENT_SOURCES__BLE__ADAPTERS: '[0,0]', PB_AGENT_SOURCES__BLE__MAX_CONNECTIONS: '0' },
    }),
  );
  for (const path of ['/sources/ble/allow/0', '/sources/ble/adapters', '/sources/ble/maxConnections']) {
    assert.ok(
      bad.some((p) => p.startsWith(`${path}:`)),
      `no problem reported for ${path} in:\n${bad.join('\n')}`,
    );
  }
  const crossed = configProblems(() =>
    loadAgentConfig({ env: { ...REQUIRED_ENV, PB_AGENT_SOURCES__BLE__RECONNECT_INITIAL_MS: '5000', PB_AGENT_SOURCES__BLE__RECONNECT_MAX_MS: '1000' } }),
  );
  assert.deepEqual(crossed, ['/sources/ble/reconnectMaxMs: 1000 is below /sources/ble/reconnectInitialMs (5000)']);
});

const SOURCE_PROBLEMS_YAML = `agent: { id: gym-1 }
hub: { password: { env: PB_SECRET } }
sources:
  ant:
    transport: uart
    networkKey: 0123456789abcd
    reopenInitialMs: 5000
    reopenMaxMs: 1000
    allow: ['ant:120:1:1', 'ant:200:1:1']
  serial:
    ports:
      - { path: /dev/ttyACM0, protocol: csafe }
      - { path: /dev/ttyACM0, protocol: waterrower }
      - { path: /dev/ttyUSB0, usb: { vendorId: '04d8', productId: '000a' }, protocol: csafe }
      - { protocol: nmea }
      - { usb: { vendorId: '1546', productId: '01a8' }, protocol: nmea }
      - { usb: { vendorId: '1546', productId: '01A8' }, protocol: nmea }
    reconnect: { initialDelayMs: 2000, maxDelayMs: 1000 }
`;

const SOURCE_PROBLEMS = [
  '/sources/ant/path: required when transport is uart',
  '/sources/ant/reopenMaxMs: 1000 is below /sources/ant/reopenInitialMs (5000)',
  '/sources/ant/networkKey: ANT+ network key must be 8 bytes as 16 hex digits, got 14 characters',
  '/sources/ant/allow/1: ant:200:1:1 is not an ANT sensor id (device type 1-127, transmission type 0-255, a 20-bit device number agreeing with it)',
  '/sources/serial/ports/1: /dev/ttyACM0 is already /sources/serial/ports/0',
  '/sources/serial/ports/2: give path or usb, not both',
  '/sources/serial/ports/3: needs a path or usb ids (vendorId, productId)',
  '/sources/serial/ports/5: usb 1546:01A8 is already /sources/serial/ports/4',
  '/sources/serial/reconnect/maxDelayMs: 1000 is below /sources/serial/reconnect/initialDelayMs (2000)',
];

test('each source checks its own section when the config loads: every problem at once, with its path, enabled or not', (t) => {
  const file = writeYaml(t, SOURCE_PROBLEMS_YAML);
  assert.deepEqual(
    configProblems(() => loadAgentConfig({ file, env: {} })),
    SOURCE_PROBLEMS,
  );
  const usbWithPath = configProblems(() => loadAgentConfig({ env: { ...REQUIRED_ENV, PB_AGENT_SOURCES__ANT__PATH: '/dev/ttyUSB0' } }));
  assert.deepEqual(usbWithPath, ['/sources/ant/path: only for transport uart; a USB stick is found by usbProductIds']);
  const keyByReference = loadAgentConfig({ env: { ...REQUIRED_ENV, PB_AGENT_SOURCES__ANT__NETWORK_KEY: '{"file":"/nonexistent/ant.key"}' } });
  assert.deepEqual(keyByReference.sources.ant.networkKey, { file: '/nonexistent/ant.key' }, 'a key by reference is resolved when the source starts');
});

test('cli: source configurations that used to crash at start exit 2 with every problem, with or without --print-config', async (t) => {
  const file = writeYaml(t, SOURCE_PROBLEMS_YAML);
  for (const argv of [
    ['-c', file],
    ['-c', file, '--print-config'],
  ]) {
    const cli = io({ PB_SECRET: 'x' });
    assert.equal(await main(argv, cli), 2, argv.join(' '));
    for (const problem of SOURCE_PROBLEMS) assert.ok(cli.err.includes(problem), `${problem} not printed in:\n${cli.err}`);
    assert.equal(cli.out, '');
  }
  const uartWithoutPath = io({ PB_SECRET: 'x' });
  const enabled = writeYaml(
    t,
    'agent: { id: gym-1 }\nhub: { password: { env: PB_SECRET } }\nsources: { simulator: { enabled: false }, ant: { enabled: true, transport: uart } }\n',
  );
  assert.equal(await main(['-c', enabled], uartWithoutPath), 2);
  assert.match(uartWithoutPath.err, /\/sources\/ant\/path: required when transport is uart/);
  assert.doesNotMatch(uartWithoutPath.err, /\n\s+at /, 'no stack trace');
});

test('secrets are redacted when printed; references to them are kept', () => {
  const inline = loadAgentConfig({ env: { PB_AGENT_AGENT__ID: 'gym-1', PB_AGENT_HUB__PASSWORD: 'hunter2-secret' } });
  const yaml = configToYaml(inline);
  assert.doesNotMatch(yaml, /hunter2/);
  assert.equal((parseYaml(yaml) as { hub: { password: string } }).hub.password, REDACTED);
  assert.equal(inline.hub.password, 'hunter2-secret', 'redaction works on a copy');
  const byReference = redactConfig(loadAgentConfig({ env: REQUIRED_ENV }));
  assert.deepEqual(byReference.hub.password, { env: 'PB_SECRET' });
});

test('the example file documents every option and holds the defaults', () => {
  const example = loadAgentConfig({ file: EXAMPLE, env: {} });
  const defaults = loadAgentConfig({ env: { PB_AGENT_AGENT__ID: 'gym-berlin-1', PB_AGENT_HUB__PASSWORD: '{"env":"AGENT_SECRET"}' } });
  assert.deepEqual(example, defaults);
  const written = parseYaml(readExample()) as Record<string, unknown>;
  const missing: string[] = [];
  const walk = (effective: unknown, inFile: unknown, path: string): void => {
    if (effective === null || typeof effective !== 'object' || Array.isArray(effective)) return;
    for (const [key, value] of Object.entries(effective)) {
      const fileValue = (inFile as Record<string, unknown> | undefined)?.[key];
      // outbox.path and log.pretty are derived; the example shows them commented out with their rule.
      if (fileValue === undefined && !['outbox.path', 'log.pretty'].includes(`${path}${key}`)) missing.push(`${path}${key}`);
      walk(value, fileValue, `${path}${key}.`);
    }
  };
  walk(example, written, '');
  assert.deepEqual(missing, []);
  for (const commented of ['tls:', 'ca:', 'cert:', 'key:', 'rejectUnauthorized:', 'sensorRateHz:', 'maxReadings:', 'path:', 'pretty:']) {
    assert.match(readExample(), new RegExp(`#\\s+${commented}`), `optional ${commented} is documented`);
  }
});

function readExample(): string {
  return readFileSync(EXAMPLE, 'utf8');
}

function io(env: NodeJS.ProcessEnv = {}): CliIo & { out: string; err: string } {
  const captured = {
    out: '',
    err: '',
    env,
    stdoutIsTTY: false,
    stdout: (text: string) => void (captured.out += text),
    stderr: (text: string) => void (captured.err += text),
    stopSignal: () => new Promise<string>(() => undefined),
  };
  return captured;
}

test('cli: --help, --version, unknown options', () => {
  const help = io();
  assert.deepEqual(prepare(['--help'], help), { exit: 0 });
  assert.match(help.out, /^Usage: pulsebridge-agent \[--config FILE\] \[--print-config\] \[--help\]/);
  const version = io();
  assert.deepEqual(prepare(['-v'], version), { exit: 0 });
  assert.match(version.out, /^\d+\.\d+\.\d+/);
  const unknown = io();
  assert.deepEqual(prepare(['--confg', 'x.yaml'], unknown), { exit: 2 });
  assert.match(unknown.err, /Unknown option '--confg'[\s\S]*Usage:/);
  const positional = io();
  assert.deepEqual(prepare(['agent.yaml'], positional), { exit: 2 });
});

test('cli: --print-config prints the effective configuration with secrets redacted', (t) => {
  const file = writeYaml(t, `agent: { id: gym-7 }\nhub: { password: 'super-secret-value' }\nuplink: { window: 3 }\n`);
  const cli = io({ PB_AGENT_HEALTH__PORT: '9411' });
  assert.deepEqual(prepare(['--config', file, '--print-config'], cli), { exit: 0 });
  assert.doesNotMatch(cli.out, /super-secret-value/);
  const printed = parseYaml(cli.out) as { agent: { id: string }; hub: { password: string }; uplink: { window: number }; health: { port: number }; outbox: { path: string } };
  assert.equal(printed.agent.id, 'gym-7');
  assert.equal(printed.hub.password, REDACTED);
  assert.equal(printed.uplink.window, 3);
  assert.equal(printed.health.port, 9_411);
  assert.equal(printed.outbox.path, join('data/agent', 'outbox.db'));
});

test('cli: configuration errors print every problem and exit 2', (t) => {
  const file = writeYaml(t, `agent: { id: '' }\nuplink: { window: 1000 }\n`);
  const cli = io();
  assert.deepEqual(prepare(['-c', file], cli), { exit: 2 });
  assert.match(cli.err, /invalid configuration/);
  assert.match(cli.err, /\/agent\/id/);
  assert.match(cli.err, /\/hub\/password/);
  assert.match(cli.err, /\/uplink\/window/);
  assert.equal(cli.out, '');
});

test('cli process: exit codes and output of the real executable', { timeout: 60_000 }, (t) => {
  const file = writeYaml(t, `agent: { id: gym-9 }\nhub: { password: 'another-secret' }\n`);
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH, ...env } });
  const printed = run(['--config', file, '--print-config']);
  assert.equal(printed.status, 0, printed.stderr);
  assert.match(printed.stdout, /id: gym-9/);
  assert.doesNotMatch(printed.stdout, /another-secret/);
  const broken = run(['--config', file], { PB_AGENT_UPLINK__WINDOW: '0', PB_AGENT_HEALTH__HOST: '' });
  assert.equal(broken.status, 2);
  assert.match(broken.stderr, /\/uplink\/window/);
  assert.match(broken.stderr, /\/health\/host/);
  const missingSecret = run(['--config', file], { PB_AGENT_HUB__PASSWORD: '{"env":"PB_NOT_SET"}' });
  assert.equal(missingSecret.status, 2, missingSecret.stderr);
  assert.match(missingSecret.stderr, /environment variable PB_NOT_SET is not set/);
});
