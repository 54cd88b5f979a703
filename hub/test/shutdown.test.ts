/**
 * The hub's stop as a rolling update needs it (shutdown-config.ts): readiness fails at once while HTTP keeps
 * answering for shutdown.endpointDelayMs, then the listener closes and live streams end; the grace period must
 * hold the steps it bounds. The external broker's part (the shared subscription dropped first) is in
 * broker/external-broker.test.ts, the whole under load in test/rolling-restart.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { ConfigError } from '@pulsebridge/runtime';
import { Hub } from '../src/hub.ts';
import { shutdownConfigProblems } from '../src/shutdown-config.ts';
import { portOpen } from './broker/mosquitto-harness.ts';
import { platformToken, testHubConfig } from './test-hub.ts';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'pb-shutdown-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function status(port: number, path: string): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
}

test('a grace period that cannot hold the endpoint delay, the ingest drain and the other steps is refused with its path', () => {
  assert.deepEqual(shutdownConfigProblems({ gracePeriodMs: 30_000, endpointDelayMs: 5_000 }, 10_000, '/shutdown'), []);
  const [problem, ...more] = shutdownConfigProblems({ gracePeriodMs: 16_000, endpointDelayMs: 5_000 }, 10_000, '/shutdown');
  assert.match(problem ?? '', /^\/shutdown\/gracePeriodMs: 16000 ms cannot hold .*\(20000 ms\)$/);
  assert.deepEqual(more, []);
  assert.throws(
    () => testHubConfig(join(dir, 'refused'), { PB_HUB_SHUTDOWN__GRACE_PERIOD_MS: '12000', PB_HUB_INGEST__DRAIN_TIMEOUT_MS: '10000' }),
    (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.startsWith('/shutdown/gracePeriodMs:')),
  );
  assert.throws(() => testHubConfig(join(dir, 'negative'), { PB_HUB_SHUTDOWN__ENDPOINT_DELAY_MS: '-1' }), ConfigError);
});

test('on stop, readiness fails at once while HTTP and live streams go on for endpointDelayMs; then the listener closes and the streams end', { timeout: 30_000 }, async () => {
  const hub = new Hub(testHubConfig(join(dir, 'delay'), { PB_HUB_SHUTDOWN__ENDPOINT_DELAY_MS: '2000' }), { log });
  await hub.start();
  const port = hub.addresses.http!.port;
  assert.equal(await status(port, '/readyz'), 200);
  const token = await platformToken(hub);
  // A live stream open before the stop: node:http, so that its end is seen as it happens.
  let streamEnded = false;
  const streamOpen = new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/api/v1/live?gym=gym-1&access_token=${token}` }, (res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      res.on('close', () => (streamEnded = true));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(await streamOpen, 200);

  const stopped = hub.stop();
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
  assert.equal(ready.status, 503, 'readiness fails from the first look after stop()');
  assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks['hub'], 'stopping');
  assert.equal(await status(port, '/healthz'), 200, 'HTTP still answers during the endpoint delay');
  assert.equal(streamEnded, false, 'the live stream stays open during the endpoint delay');

  await stopped;
  assert.equal(streamEnded, true, 'the live stream ended, so its client reconnects to another replica');
  assert.equal(await portOpen(port), false);
});

test('without an endpoint delay the listener closes at once on stop, as a single hub always did', { timeout: 30_000 }, async () => {
  const hub = new Hub(testHubConfig(join(dir, 'no-delay')), { log });
  await hub.start();
  const port = hub.addresses.http!.port;
  const started = Date.now();
  await hub.stop();
  assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`);
  assert.equal(await portOpen(port), false);
});
