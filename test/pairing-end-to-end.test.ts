/**
 * Sensor pairing end to end (issue 9, test 5): a hub pairs a simulated strap, a real agent process receives
 * the gym's allowlist over MQTT, admits that strap and not the unpaired one, and stops it when the binding
 * ends, without a restart. The hub runs in this process so the test can write bindings into its documents
 * and reach its pairing channel; the agent is its own process, as in a gym.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { until } from '@pulsebridge/runtime';
import { Hub } from '../hub/src/hub.ts';
import { BINDINGS } from '../hub/src/domain/pairing/collections.ts';
import { SqliteSeriesStore } from '../hub/src/storage/series/sqlite-series-store.ts';
import { testHubConfig } from '../hub/test/test-hub.ts';
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
      const bindings = domain.documents.collection(BINDINGS);
      await bindings.insert({ id: 'binding-1', gym: GYM, sensor: strap1, athlete: 'athlete-1', active: true, from: Date.now() });
      await domain.pairing.gymChanged(GYM);
      await until("strap 1's readings to reach the hub", async () => (await stored(strap1)) > 0, 30_000, 200);
      await until('the agent to get every reading acknowledged', drained, 30_000, 200);
      assert.equal(await stored(strap2), 0, 'the unpaired strap sends nothing');

      const paired = await appliedVersion();
      await bindings.update({ id: 'binding-1' }, { set: { active: false, until: Date.now() } });
      await domain.pairing.gymChanged(GYM);
      await until('the agent to apply the list without strap 1', async () => (await appliedVersion()) > paired, 30_000, 100);
      assert.equal(metricValue(await running.metrics(), 'pb_agent_pairing_allowlist_sensors'), 0);
      // What was read before the list applied may still be on its way; after it nothing more of strap 1 is.
      await until('the agent to get every reading acknowledged', drained, 30_000, 200);
      const strap1Final = await stored(strap1);

      // Pairing strap 2 now proves readings still flow, so strap 1's silence is the unpairing, not a stall.
      await bindings.insert({ id: 'binding-2', gym: GYM, sensor: strap2, athlete: 'athlete-2', active: true, from: Date.now() });
      await domain.pairing.gymChanged(GYM);
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
