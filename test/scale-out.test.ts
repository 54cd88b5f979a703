/**
 * Issue 12, test 1: three stateless hub replicas behind Mosquitto's MQTT 5 shared subscriptions, on InfluxDB
 * (readings), PostgreSQL (agent registry, dedupe ranges, documents) and Redis (live bus); 50 agents of the real
 * agent code stream; one replica is SIGKILLed and another restarted mid-stream.
 *
 * "Exactly once", observably: for every agent, InfluxDB holds exactly as many readings as the agent's outbox
 * accepted (acceptedTotal). Points are keyed by (agent, sensor, metric, time), so a batch written twice (its
 * replica died between the write and the ack, and the agent resent it elsewhere) overwrites itself and cannot
 * add a reading; a lost batch would show as a shortfall, a reading stored under another key as an excess. The
 * replicas' dedupe counters are printed, not asserted: how often a resend met a replica that knew the batch
 * depends on timing. Sign-in (the identity store) stays per replica: each replica's own token is used on it.
 *
 * Live: every SSE subscriber, on every replica, saw every stored reading of its gym stamped while it was
 * connected (a second after it connected, up to a bound on ingest latency before it was cut off), whichever
 * replica ingested it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { Cluster, LiveSubscriber, clusterServicesMissing, missedBy } from './scale-out-harness.ts';
import { showLogsOnFailure } from './harness.ts';
import { missingService } from './services.ts';

const SKIP = missingService(clusterServicesMissing());
const GYMS = ['gym-so-a', 'gym-so-b'];
/** Per agent; 50 agents at about 24 readings/s each, some 25 s of streaming. */
const READINGS_PER_AGENT = 600;
/** The agents' ackTimeoutMs (3 s) and a reconnect: how late a reading stamped before a replica died may still be stored. */
const INGEST_LATENCY_BOUND_MS = 8_000;

let cluster: Cluster | undefined;
after(async () => cluster?.cleanup());

test(
  'three replicas, one SIGKILLed and one restarted mid-stream: every reading the 50 agents accepted is stored exactly once, and every live subscriber saw its gym',
  { skip: SKIP, timeout: 180_000 },
  async (t) => {
    const t0 = Date.now();
    const phase = (what: string): void => console.log(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    const c = new Cluster({ replicas: 3, agents: 50, gyms: GYMS });
    cluster = c;
    await c.prepare();
    phase('prepared');
    await c.startHubs();
    phase('hubs ready');
    const subscribers: LiveSubscriber[] = [];
    const subscribe = async (replica: number): Promise<void> => {
      for (const gym of GYMS) {
        const s = new LiveSubscriber(replica, gym);
        await s.open(c.hubs[replica]!);
        subscribers.push(s);
      }
    };
    for (let r = 0; r < 3; r++) await subscribe(r);
    const total = READINGS_PER_AGENT * c.agents.length;

    await showLogsOnFailure([...c.hubs, { log: () => c.agentLog }], async () => {
      await c.startAgents({ athletes: 2, sensorRateHz: 2, rrIntervals: false, maxReadings: READINGS_PER_AGENT });
      const accepted = async (n: number): Promise<void> => until(`the agents to accept ${n} readings`, async () => (await c.appended()) >= n, 60_000, 250);

      phase('agents started');
      await accepted(total * 0.25);
      phase('25 %');
      await c.hubs[0]!.stop('SIGKILL');
      await accepted(total * 0.45);
      await c.hubs[1]!.stop('SIGTERM');
      await c.hubs[1]!.start();
      await subscribe(1);
      await accepted(total * 0.65);
      await c.hubs[0]!.start();
      await subscribe(0);

      phase('restarts done');
      const reports = await c.allAcknowledged(90_000);
      phase('all acknowledged');
      const endOfRun = Date.now();
      await c.stopAgents();
      const { perAgent, readings } = await c.stored();
      phase('read back');

      const acceptedTotal = reports.reduce((sum, a) => sum + a.outbox.acceptedTotal, 0);
      assert.equal(acceptedTotal, total, 'each agent accepted its simulator limit');
      const wrong = reports.filter((a) => perAgent.get(a.id) !== a.outbox.acceptedTotal).map((a) => `${a.id}: accepted ${a.outbox.acceptedTotal}, stored ${perAgent.get(a.id)}`);
      assert.deepEqual(wrong, [], 'InfluxDB holds exactly the readings each agent accepted');

      const resent = reports.reduce((sum, a) => sum + Number(a.uplink['batchesResent'] ?? 0), 0);
      const timeouts = reports.reduce((sum, a) => sum + Number(a.uplink['ackTimeouts'] ?? 0), 0);
      console.log(
        JSON.stringify({
          accepted: acceptedTotal,
          stored: [...perAgent.values()].reduce((a, b) => a + b, 0),
          agentBatchesResent: resent,
          agentAckTimeouts: timeouts,
          hubBatchesStored: await c.counter('pb_hub_ingest_batches_total', { result: 'stored' }),
          hubBatchesDuplicate: await c.counter('pb_hub_ingest_batches_total', { result: 'duplicate' }),
        }),
      );

      await t.test('every live subscriber on every replica saw every reading of its gym stored while it was connected', () => {
        for (const s of subscribers) {
          assert.ok(s.seen.size > 0, `replica ${s.replica}'s subscriber to ${s.gym} saw nothing`);
          const agentsOfGym = new Set(c.agents.filter((a) => a.gym === s.gym).map((a) => a.id));
          const missed = missedBy(s, readings, agentsOfGym, endOfRun, INGEST_LATENCY_BOUND_MS);
          assert.deepEqual(missed.slice(0, 5), [], `replica ${s.replica}'s subscriber to ${s.gym} missed ${missed.length} readings (saw ${s.seen.size})`);
        }
      });
    });
  },
);
