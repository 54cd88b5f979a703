/**
 * Issue 12, test 2: a rolling restart of every replica, one at a time (SIGTERM, exit, start, ready), while 50
 * agents stream and a client keeps calling the API.
 *
 * - Zero loss: InfluxDB holds exactly the readings each agent accepted.
 * - Zero duplicates, and more: no agent had to resend a batch (no ack timeout, no resend). A stopping replica
 *   drops its shared subscription before anything else, so the broker hands new batches to the others, and it
 *   stores and acknowledges what it had; a batch it took and dropped would show as an ack timeout, and its resend
 *   as the only way a batch is written twice. The agents' ackTimeoutMs is the default (15 s), far above the
 *   ingest latency even on a loaded machine, so a timeout means a dropped batch, not a slow one.
 * - Every replica's stop is clean: exit status 0 within its grace period.
 * - No client request failed. There is no load balancer here, so the client does what a Kubernetes Service
 *   and its endpoints do: it sends each request to a replica it last saw ready (its /readyz, looked at every
 *   250 ms, as a readiness probe would). A connection refused means nothing was sent: the client tries another
 *   replica, and the test counts it. Any other error, or an answer other than 200, is a failed request. Each
 *   request has its own connection, as behind a proxy that does not reuse connections to a backend going away.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { after, test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import type { HubRunner } from './harness.ts';
import { showLogsOnFailure } from './harness.ts';
import { Cluster, clusterServicesMissing } from './scale-out-harness.ts';
import { missingService } from './services.ts';

const SKIP = missingService(clusterServicesMissing());
const PROBE_PERIOD_MS = 250;

let cluster: Cluster | undefined;
after(async () => cluster?.cleanup());

type Outcome = { status: number } | { error: string; code: string | undefined };

/** One GET on a fresh connection: its status, or the error and its code. */
function get(hub: HubRunner, path: string, token: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: hub.httpPort, path, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.message, code: err.code }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.message, code: err.code }));
    req.end();
  });
}

/** The API client of the test: requests to ready replicas until stopped; what it met. */
function apiClient(hubs: readonly HubRunner[], tokens: readonly string[]): { stop(): Promise<{ ok: number; refused: number; failed: string[] }> } {
  const ready = hubs.map(() => true);
  let running = true;
  const result = { ok: 0, refused: 0, failed: [] as string[] };
  const probes = (async () => {
    while (running) {
      await Promise.all(hubs.map(async (hub, i) => (ready[i] = (await fetchStatus(hub)) === 200)));
      // The probe period, as a readiness probe has one; not a wait for anything.
      await delay(PROBE_PERIOD_MS);
    }
  })();
  let next = 0;
  const requests = (async () => {
    while (running) {
      const candidates = hubs.map((_, i) => i).filter((i) => ready[i]);
      if (candidates.length === 0) {
        await until('a ready replica', () => ready.some(Boolean) || !running, 30_000, 50);
        continue;
      }
      const i = candidates[next++ % candidates.length]!;
      const outcome = await get(hubs[i]!, '/api/v1/agents', tokens[i]!);
      if ('status' in outcome && outcome.status === 200) result.ok++;
      else if ('code' in outcome && outcome.code === 'ECONNREFUSED') {
        result.refused++;
        ready[i] = false;
      } else result.failed.push(`replica ${i}: ${JSON.stringify(outcome)}`);
    }
  })();
  return {
    async stop() {
      running = false;
      await Promise.all([probes, requests]);
      return result;
    },
  };
}

async function fetchStatus(hub: HubRunner): Promise<number> {
  const outcome = await get(hub, '/readyz', '');
  return 'status' in outcome ? outcome.status : 0;
}

test('a rolling restart of three replicas under load: zero loss, no batch resent, clean exits, and no client request failed', { skip: SKIP, timeout: 240_000 }, async () => {
  const c = new Cluster({ replicas: 3, agents: 50, gyms: ['gym-rr-a', 'gym-rr-b'] });
  cluster = c;
  await c.prepare();
  await c.startHubs();
  await showLogsOnFailure([...c.hubs, { log: () => c.agentLog }], async () => {
    // The default ack timeout: only a dropped batch waits that long (see the header).
    await c.startAgents({ athletes: 2, sensorRateHz: 1, rrIntervals: false }, { ackTimeoutMs: 15_000 });
    await until('the agents to stream', async () => (await c.appended()) >= 2_000, 60_000, 250);
    const tokens = await Promise.all(c.hubs.map((hub) => hub.token()));
    const client = apiClient(c.hubs, tokens);

    const exits: { code: number | null; signal: string | null }[] = [];
    for (const hub of c.hubs) {
      exits.push(await hub.proc!.stop('SIGTERM', 25_000));
      await hub.start();
      // Each replica takes its share again before the next one goes.
      const before = await c.appended();
      await until('the agents to go on streaming', async () => (await c.appended()) >= before + 1_000, 60_000, 250);
    }
    const calls = await client.stop();
    await c.stopSources();
    const reports = await c.allAcknowledged(60_000);
    await c.stopAgents();
    const { perAgent } = await c.stored();

    assert.deepEqual(
      exits,
      [0, 0, 0].map(() => ({ code: 0, signal: null })),
      'every replica stopped cleanly within its grace period',
    );
    const wrong = reports.filter((a) => perAgent.get(a.id) !== a.outbox.acceptedTotal).map((a) => `${a.id}: accepted ${a.outbox.acceptedTotal}, stored ${perAgent.get(a.id)}`);
    assert.deepEqual(wrong, [], 'InfluxDB holds exactly the readings each agent accepted');
    const resent = reports.reduce((sum, a) => sum + Number(a.uplink['batchesResent'] ?? 0), 0);
    const timeouts = reports.reduce((sum, a) => sum + Number(a.uplink['ackTimeouts'] ?? 0), 0);
    console.log(JSON.stringify({ accepted: reports.reduce((sum, a) => sum + a.outbox.acceptedTotal, 0), resent, timeouts, calls: { ok: calls.ok, refused: calls.refused } }));
    assert.equal(timeouts, 0, 'no batch waited for its ack timeout');
    assert.equal(resent, 0, 'no batch was sent twice');
    assert.deepEqual(calls.failed, [], 'no request a replica accepted failed');
    assert.ok(calls.ok > 50, `the client made ${calls.ok} calls`);
  });
});
