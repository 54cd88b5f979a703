/**
 * An outage in the middle of a class: the link between the gym's agent and the hub's broker is cut, the coach
 * ends the class while the agent keeps the straps' readings in its outbox, then the link comes back and the
 * backlog arrives. The sessions completed without the backlog (revision 1, results of what had arrived) and
 * are computed again with it (revision 2, changedAt), to the results of the whole signal.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import { assertResults, expectedResults, type HeartRateReading } from './class-results.ts';
import { ClassGym, endRun, heartRateOf, profileOf, runResults, simulatorOf, startRun, strapSimulator, type Athlete } from './class-harness.ts';
import { showLogsOnFailure, tempDir } from './harness.ts';

const work = tempDir('class-outage');
after(() => work.cleanup());

const GYM = 'gym-outage';
const SIMULATOR = strapSimulator(3, 33);
/** Streaming before the cut, and how much of the class the agent keeps in its outbox before the coach ends it. */
const CONNECTED_MS = 6_000;
const CUT_BEFORE_END_MS = 4_000;
/** Chunks younger than this travel in the agent's live lane: the class's backlog must be older by the time the link is back. */
const LIVE_AGE_MS = 1_000;

/** A TCP link from the agent to the hub's broker that the test cuts (every connection dropped, none let through) and restores. */
class CuttableLink {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private open = true;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<string> {
    this.server = createServer((socket) => {
      if (!this.open) return void socket.destroy();
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const [a, b] of [
        [socket, upstream],
        [upstream, socket],
      ] as const) {
        this.sockets.add(a);
        a.pipe(b);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return `mqtt://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.open = true;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

test('the link to the hub is cut mid-class and the class ends: the backlog arrives later and the results are computed again with it', { timeout: 120_000 }, async () => {
  let link: CuttableLink | undefined;
  const gym = await ClassGym.start({
    dir: work.dir,
    gym: GYM,
    agentId: 'box-outage',
    simulator: SIMULATOR,
    lateIntervalMs: 200,
    uplink: { liveAgeMs: LIVE_AGE_MS },
    brokerUrl: async (mqttPort) => {
      link = new CuttableLink(mqttPort);
      return link.start();
    },
  });
  try {
    await showLogsOnFailure([gym.agent], async () => {
      const coach = await gym.person('Coach Omar', 'coach');
      const now = Date.now();
      const athletes: Athlete[] = [];
      for (let i = 0; i < 4; i++) athletes.push(await gym.athlete(`Rider ${i + 1}`, profileOf(i, now)));
      const cls = await gym.createClass('Outage ride', coach, 4);
      for (const athlete of athletes) await gym.call('POST', `${gym.occurrencePath(cls)}/bookings`, { token: athlete.token, body: {}, expect: 201 });
      const simulator = simulatorOf(SIMULATOR);
      const straps = simulator.sensors().map((s) => s.id);
      const wearers = athletes.slice(0, 3);
      await Promise.all(wearers.map((athlete, i) => gym.tapToPair(athlete, straps[i]!)));
      await gym.storedUntil(straps, Date.now(), 30_000);

      const run = await startRun(gym, cls, coach);
      const startedAt = Date.parse(run.startedAt);
      await gym.storedUntil(straps, startedAt + CONNECTED_MS, CONNECTED_MS + 30_000);

      link!.cut();
      await until('the agent to lose the hub', async () => (await gym.agent.health()).uplink.state !== 'connected', 30_000, 100);
      const arrived = new Map<string, HeartRateReading[]>();
      for (const a of wearers) arrived.set(a.id, await gym.storedHeartRate(a.strap!, startedAt, Number.MAX_SAFE_INTEGER));
      const lastArrived = Math.max(...[...arrived.values()].map((r) => r.at(-1)!.ts));
      // The class goes on while the agent keeps every reading in its outbox.
      const keptBy = (at: number) => simulator.generate(lastArrived + 1, at).length;
      const heldBack = keptBy(lastArrived + CUT_BEFORE_END_MS);
      await until(`the outbox to hold ${heldBack} readings`, async () => (await gym.agent.health()).outbox.readings >= heldBack, 30_000, 100);
      const ended = await endRun(gym, run.id, coach);
      const endedAt = Date.parse(ended.endedAt!);
      const atEnd = await gym.agent.health();
      assert.notEqual(atEnd.uplink.state, 'connected');
      assert.ok(atEnd.outbox.readings > 0, 'the agent holds readings of the class when it ends');

      // Revision 1: the results of what had arrived when the class ended, nothing of the backlog.
      const signal = new Map(wearers.map((a) => [a.id, heartRateOf(simulator, a.strap!, startedAt, endedAt)]));
      for (const a of wearers) {
        const before = arrived.get(a.id)!.filter((r) => r.ts < endedAt);
        assert.deepEqual(before, signal.get(a.id)!.slice(0, before.length), `${a.name}: what arrived is the start of the signal`);
        assert.ok(before.length <= signal.get(a.id)!.length - 2, `${a.name}: the outage held back the end of the class`);
      }
      const first = await runResults(gym, run.id, coach);
      assert.equal(first.length, athletes.length);
      for (const athlete of athletes) {
        const session = first.find((s) => s.athlete === athlete.id)!;
        assert.deepEqual({ state: session.state, revision: session.revision, changedAt: session.changedAt }, { state: 'completed', revision: 1, changedAt: undefined });
        assertResults(session.results, expectedResults(arrived.get(athlete.id) ?? [], startedAt, endedAt, athlete.profile), `${athlete.name}, revision 1`);
      }

      // The class's backlog goes out in the agent's backlog lane once it is older than the live age.
      await until(
        `the outbox to hold ${keptBy(endedAt + 2 * LIVE_AGE_MS)} readings`,
        async () => (await gym.agent.health()).outbox.readings >= keptBy(endedAt + 2 * LIVE_AGE_MS),
        30_000,
        100,
      );
      link!.restore();
      await gym.storedExactly(new Map(wearers.map((a) => [a.strap!, signal.get(a.id)!])), startedAt, endedAt, 'the backlog to reach the hub');

      // Revision 2: the late-readings round computed the sessions again, with the whole signal.
      const wearerIds = new Set(wearers.map((a) => a.id));
      await until(
        'the sessions with late readings to be computed again',
        async () => (await runResults(gym, run.id, coach)).every((s) => !wearerIds.has(s.athlete) || (s.revision >= 2 && !s.recomputing)),
        20_000,
        200,
      );
      const second = await runResults(gym, run.id, coach);
      for (const athlete of athletes) {
        const session = second.find((s) => s.athlete === athlete.id)!;
        if (athlete.strap === undefined) {
          assert.deepEqual({ revision: session.revision, changedAt: session.changedAt }, { revision: 1, changedAt: undefined }, `${athlete.name} had no late readings`);
          assertResults(session.results, expectedResults([], startedAt, endedAt, athlete.profile), athlete.name);
          continue;
        }
        assert.equal(session.revision, 2, `${athlete.name}: one new revision for the backlog`);
        assert.ok(session.changedAt !== undefined && Date.parse(session.changedAt) > endedAt, `${athlete.name}: changedAt ${session.changedAt}`);
        assert.deepEqual({ startedAt: session.startedAt, endedAt: session.endedAt }, { startedAt: run.startedAt, endedAt: ended.endedAt });
        assertResults(session.results, expectedResults(signal.get(athlete.id)!, startedAt, endedAt, athlete.profile), `${athlete.name}, revision 2`);
      }
    });
  } finally {
    await gym.stop();
    await link?.stop();
  }
});
