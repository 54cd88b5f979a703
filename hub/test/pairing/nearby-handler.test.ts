/** What ingest tells the pairing channel: nearby reports (ingest/handlers/nearby.ts) and agents coming online (handlers/status.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NearbySensorReport } from '@pulsebridge/protocol';
import type { PairingIngest } from '../../src/ingest/ingest-context.ts';
import { GOOD, setupIngest, waitFor } from '../ingest/ingest-harness.ts';

class RecordingPairing implements PairingIngest {
  readonly online: string[] = [];
  readonly nearby: { agent: string; sensors: readonly NearbySensorReport[] }[] = [];
  async agentOnline(agent: string): Promise<void> {
    this.online.push(agent);
  }
  async recordNearby(agent: string, sensors: readonly NearbySensorReport[]): Promise<void> {
    this.nearby.push({ agent, sensors });
  }
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

test('a nearby report goes to the pairing channel with the agent the transport authenticated; an invalid one is counted and goes nowhere', async () => {
  const pairing = new RecordingPairing();
  const s = setupIngest({ pairing });
  const sensors = [{ id: 'ble:c4-7f-51-00-00-01', kind: 'heart_rate', rssi: -51 }];
  s.transport.deliver(GOOD, 'nearby', json({ sensors }));
  s.transport.deliver(GOOD, 'nearby', json({ sensors: [{ id: 'not an id', kind: 'heart_rate' }] }));
  s.transport.deliver(GOOD, 'nearby', Buffer.from('{'));
  await s.ingest.stop();
  assert.deepEqual(pairing.nearby, [{ agent: GOOD, sensors }]);
  assert.equal(await s.metric('pb_hub_ingest_messages_total', { kind: 'nearby', result: 'invalid' }), 1);
  assert.equal(await s.metric('pb_hub_ingest_messages_total', { kind: 'nearby', result: 'malformed' }), 1);
  await s.close();
});

test('an online status tells the pairing channel the agent is online; an offline one does not', async () => {
  const pairing = new RecordingPairing();
  const s = setupIngest({ pairing });
  s.transport.deliver(GOOD, 'status', json({ state: 'offline' }));
  s.transport.deliver(GOOD, 'status', json({ state: 'online', mono: 1 }));
  await waitFor('the pairing channel to hear of it', () => pairing.online.length === 1);
  await s.ingest.stop();
  assert.deepEqual(pairing.online, [GOOD]);
  await s.close();
});
