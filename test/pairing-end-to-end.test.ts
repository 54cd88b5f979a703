/**
 * Sensor pairing end to end: the hub pairs a simulated strap through its API (as the gym's own strap), a real
 * agent process receives the gym's allowlist over MQTT, admits that strap and not the unpaired one, and stops
 * it when the strap is removed from the gym, without a restart. The hub runs in this process so the test can
 * read its series; the agent is its own process, as in a gym.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { until } from '@pulsebridge/runtime';
import { Hub } from '../hub/src/hub.ts';
import { SqliteSeriesStore } from '../hub/src/storage/series/sqlite-series-store.ts';
import { platformToken, testHubConfig } from '../hub/test/test-hub.ts';
import { SimulatorSource, simulatorConfig } from '../edge-agent/src/sources/simulator/index.ts';
import { AgentRunner, metricValue, showLogsOnFailure, tempDir } from './harness.ts';

const work = tempDir('pairing-e2e');
after(() => work.cleanup());

const GYM = 'gym-pairing';
const AGENT = 'box-pairing';
/** Two athletes with heart-rate straps only: two simulated BLE straps. */
const SIMULATOR = { athletes: 2, seed: 11, admission: true, equipment: { bike: 0, treadmill: 0, rower: 0, outdoor: 0 } };

function strapIds(): [string, string] {
  const sim = new SimulatorSource({ ...simulatorConfig(SIMULATOR), now: Date.now, log: pino({ level: 'silent' }) });
  const ids = sim.sensors().map((s) => s.id);
  assert.equal(ids.length, 2);
  return ids as [string, string];
}

test('the hub pairs a strap: the agent admits it and not the unpaired one, and unpairing stops it without a restart', { timeout: 120_000 }, async () => {
  const [strap1, strap2] = strapIds();
  const hubDir = join(work.dir, 'hub');
  const hub = new Hub(testHubConfig(hubDir), { log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) });
  await hub.start();
  const series = new SqliteSeriesStore({ path: join(hubDir, 'series.db'), log: pino({ level: 'silent' }) });
  let agent: AgentRunner | undefined;
  try {
    const domain = hub.domain!;
    const { secret } = await domain.agents.create(AGENT, GYM);
    agent = new AgentRunner({ dir: work.dir, id: AGENT, secret, mqttUrl: `mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`, simulator: SIMULATOR });
    const running = agent;
    await series.start();
    const stored = (sensor: string): Promise<number> => series.count({ agent: AGENT, sensor });
    const appliedVersion = async (): Promise<number> => metricValue(await running.metrics(), 'pb_agent_pairing_allowlist_version');
    const drained = async (): Promise<boolean> => {
      const { outbox } = await running.health();
      return outbox.readings === 0 && outbox.buffered === 0;
    };

    await showLogsOnFailure([running], async () => {
      await running.start();
      // The hub serves a new agent its gym's (empty) list when it first comes online.
      await until('the agent to apply its first list', async () => (await appliedVersion()) > 0, 30_000, 100);
      const token = await platformToken(hub);
      const api = async (method: string, path: string, body?: unknown): Promise<{ id: string }> => {
        const response = await fetch(`http://127.0.0.1:${hub.addresses.http!.port}/api/v1${path}`, {
          method,
          headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
        return (text === '' ? {} : JSON.parse(text)) as { id: string };
      };
      // Written as people type them: the hub stores the canonical form, which is what the agent reports.
      const paired = await api('POST', '/gym-sensors', { gym: GYM, sensor: strap1.toUpperCase().replace(/^BLE:/, 'ble:'), kind: 'heart_rate', label: 'Strap 1' });
      await until("strap 1's readings to reach the hub", async () => (await stored(strap1)) > 0, 30_000, 200);
      await until('the agent to get every reading acknowledged', drained, 30_000, 200);
      assert.equal(await stored(strap2), 0, 'the unpaired strap sends nothing');

      const version = await appliedVersion();
      await api('DELETE', `/gym-sensors/${paired.id}`);
      await until('the agent to apply the list without strap 1', async () => (await appliedVersion()) > version, 30_000, 100);
      assert.equal(metricValue(await running.metrics(), 'pb_agent_pairing_allowlist_sensors'), 0);
      // What was read before the list applied may still be on its way; after it nothing more of strap 1 is.
      await until('the agent to get every reading acknowledged', drained, 30_000, 200);
      const strap1Final = await stored(strap1);

      // Pairing strap 2 now proves readings still flow, so strap 1's silence is the unpairing, not a stall.
      await api('POST', '/gym-sensors', { gym: GYM, sensor: strap2, kind: 'heart_rate' });
      await until("strap 2's readings to reach the hub", async () => (await stored(strap2)) > 0, 30_000, 200);
      await until('the agent to get every reading acknowledged', drained, 30_000, 200);
      assert.equal(await stored(strap1), strap1Final, 'strap 1 sends nothing after it was unpaired');
      assert.equal(running.proc?.log().match(/"msg":"agent starting"/g)?.length, 1, 'the agent was not restarted');
    });
  } finally {
    await agent?.stop();
    await series.stop();
    await hub.stop();
  }
});
