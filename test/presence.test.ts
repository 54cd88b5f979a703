/**
 * What the hub's agent list says about a real agent across a hub crash: online only while the agent is
 * connected to this run of the hub, and a last-seen time that the crash did not take away.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { hubWithAgent, showLogsOnFailure, tempDir } from './harness.ts';

const work = tempDir('presence');
after(() => work.cleanup());

interface ListedAgent {
  id: string;
  online: boolean;
  lastSeen: string | null;
}

/** How much last-seen a crash may lose: the registry writes it every 5 s. */
const LAST_SEEN_LOSS_MS = 5_000;

test('after a SIGKILL of the hub, the restarted hub lists the agent offline with a last-seen from just before the crash', { timeout: 120_000 }, async () => {
  const { hub, agent } = await hubWithAgent({ dir: tempDir('presence-hub').dir }, { dir: work.dir, id: 'box-presence', simulator: { athletes: 2, seed: 3 } });
  const listed = async (): Promise<ListedAgent | undefined> => (await hub.api<ListedAgent[]>('/api/v1/agents')).find((a) => a.id === 'box-presence');
  try {
    await showLogsOnFailure([hub, agent], async () => {
      await agent.start();
      await until('the agent to be listed online', async () => (await listed())?.online === true, 30_000, 100);
      const connectedAt = Date.now();
      // Past one last-seen write interval, so the database has had the chance to hold a recent time.
      await until(
        'the agent to be seen for longer than one last-seen write interval',
        async () => Date.parse((await listed())?.lastSeen ?? '') > connectedAt + LAST_SEEN_LOSS_MS + 500,
        30_000,
        200,
      );
      const killedAt = Date.now();
      await hub.stop('SIGKILL');
      // The agent must not reconnect to the restarted hub: this is about what the hub remembers.
      await agent.stop();
      await hub.start();
      const after = await listed();
      assert.equal(after?.online, false, 'the agent is not connected to the restarted hub');
      const lastSeen = Date.parse(after?.lastSeen ?? '');
      assert.ok(Number.isFinite(lastSeen), 'last-seen survived the crash');
      assert.ok(lastSeen >= killedAt - LAST_SEEN_LOSS_MS - 1_500, `last-seen ${killedAt - lastSeen} ms before the crash`);
      assert.ok(lastSeen <= killedAt + 1_000);
    });
  } finally {
    await agent.stop();
    await hub.stop();
  }
});
