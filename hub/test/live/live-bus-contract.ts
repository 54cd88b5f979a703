/**
 * What every LiveBus adapter must do, run against each (live-bus.test.ts). A pair of buses stands for two hub
 * replicas: for the in-process bus both are the same bus (one process), for Redis two buses on two connections.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until } from '@pulsebridge/runtime';
import type { SeriesReadings } from '@pulsebridge/protocol';
import type { LiveBus, LiveFilter, LiveReadings } from '../../src/live/live-bus.ts';

export interface LiveBusPair {
  a: LiveBus;
  b: LiveBus;
  /** Unique per pair, so pairs on one shared Redis never see each other's gyms. */
  gym: (name: string) => string;
  close(): Promise<void>;
}

export interface LiveBusContractOptions {
  skip?: string | false;
  pair(): Promise<LiveBusPair>;
}

function series(sensor: string, metric: string, value: number): SeriesReadings {
  return { sensor, metric, ts: [1_700_000_000_000], values: [value] } as SeriesReadings;
}

/** Everything a subscriber received, and a wait for the marker readings a test publishes last. */
function recorder(bus: LiveBus, filter: LiveFilter): { got: LiveReadings[]; stop: () => void; sawMarker: (agent: string) => Promise<void> } {
  const got: LiveReadings[] = [];
  const stop = bus.subscribe(filter, (readings) => got.push(readings));
  return {
    got,
    stop,
    sawMarker: (agent) => until(`marker ${agent} to arrive`, () => got.some((r) => r.agent === agent), 5_000, 5),
  };
}

export function liveBusContract(name: string, options: LiveBusContractOptions): void {
  const withPair = async (work: (pair: LiveBusPair) => Promise<void>): Promise<void> => {
    const pair = await options.pair();
    try {
      await work(pair);
    } finally {
      await pair.close();
    }
  };
  const skip = options.skip ?? false;

  test(`${name}: readings published on one replica reach the other's subscribers, each filter applied`, { skip }, () =>
    withPair(async ({ a, b, gym }) => {
      const g1 = gym('g1');
      const g2 = gym('g2');
      const byGym = recorder(b, { gym: g1 });
      const byAgent = recorder(b, { gym: g1, agent: 'agent-1' });
      const bySensor = recorder(b, { gym: g1, sensor: 'hr-1' });
      const byMetric = recorder(b, { gym: g1, metric: 'power' });
      const otherGym = recorder(b, { gym: g2 });
      await b.listening();

      a.publish({ gym: g1, agent: 'agent-1', series: [series('hr-1', 'heart_rate', 120), series('bike-1', 'power', 200)] });
      a.publish({ gym: g1, agent: 'agent-2', series: [series('hr-2', 'heart_rate', 130)] });
      a.publish({ gym: g2, agent: 'agent-9', series: [series('hr-9', 'heart_rate', 90)] });
      // Published last, after everything else: once it is in, the rest had its chance.
      a.publish({ gym: g1, agent: 'marker', series: [series('m', 'heart_rate', 1)] });
      a.publish({ gym: g2, agent: 'marker', series: [series('m', 'heart_rate', 1)] });
      await byGym.sawMarker('marker');
      await otherGym.sawMarker('marker');

      assert.deepEqual(
        byGym.got.map((r) => r.agent),
        ['agent-1', 'agent-2', 'marker'],
      );
      assert.deepEqual(
        byAgent.got.map((r) => r.series.map((s) => s.sensor)),
        [['hr-1', 'bike-1']],
      );
      assert.deepEqual(
        bySensor.got.map((r) => [r.agent, r.series.map((s) => s.sensor)]),
        [['agent-1', ['hr-1']]],
        'a sensor filter keeps only that sensor, and readings without it are not delivered',
      );
      assert.deepEqual(
        byMetric.got.map((r) => [r.agent, r.series.map((s) => s.metric)]),
        [['agent-1', ['power']]],
      );
      assert.deepEqual(
        otherGym.got.map((r) => r.agent),
        ['agent-9', 'marker'],
      );
    }),
  );

  test(`${name}: a replica's own subscribers get its readings once, and a subscriber without a gym gets every gym's once`, { skip }, () =>
    withPair(async ({ a, b, gym }) => {
      const g1 = gym('g1');
      const g2 = gym('g2');
      const local = recorder(a, { gym: g1 });
      const localAll = recorder(a, {});
      const remoteAll = recorder(b, {});
      const remoteGym = recorder(b, { gym: g1 });
      await Promise.all([a.listening(), b.listening()]);

      a.publish({ gym: g1, agent: 'agent-1', series: [series('hr-1', 'heart_rate', 120)] });
      a.publish({ gym: g2, agent: 'agent-2', series: [series('hr-2', 'heart_rate', 121)] });
      assert.deepEqual(
        local.got.map((r) => r.agent),
        ['agent-1'],
        'delivered locally at once, without waiting for Redis',
      );
      // Once the other replica has the first one's messages, Redis has also sent them back to the first; the
      // marker the other replica publishes after that reaches the first replica after those echoes.
      await remoteAll.sawMarker('agent-2');
      b.publish({ gym: g1, agent: 'marker', series: [series('m', 'heart_rate', 1)] });
      for (const r of [local, localAll, remoteAll, remoteGym]) await r.sawMarker('marker');

      assert.deepEqual(
        local.got.map((r) => r.agent),
        ['agent-1', 'marker'],
      );
      assert.deepEqual(
        localAll.got.map((r) => r.agent),
        ['agent-1', 'agent-2', 'marker'],
      );
      assert.deepEqual(
        remoteAll.got.map((r) => r.agent),
        ['agent-1', 'agent-2', 'marker'],
      );
      assert.deepEqual(
        remoteGym.got.map((r) => r.agent),
        ['agent-1', 'marker'],
      );
    }),
  );

  test(`${name}: after unsubscribing nothing more arrives, and the others keep theirs`, { skip }, () =>
    withPair(async ({ a, b, gym }) => {
      const g1 = gym('g1');
      const leaving = recorder(b, { gym: g1 });
      const staying = recorder(b, { gym: g1, agent: 'marker' });
      await b.listening();
      a.publish({ gym: g1, agent: 'agent-1', series: [series('hr-1', 'heart_rate', 120)] });
      await leaving.sawMarker('agent-1');
      leaving.stop();
      leaving.stop();
      a.publish({ gym: g1, agent: 'agent-2', series: [series('hr-1', 'heart_rate', 121)] });
      a.publish({ gym: g1, agent: 'marker', series: [series('m', 'heart_rate', 1)] });
      await staying.sawMarker('marker');
      assert.deepEqual(
        leaving.got.map((r) => r.agent),
        ['agent-1'],
      );

      // The last subscriber of a gym leaving and a new one coming: the new one still gets the gym's readings.
      staying.stop();
      const next = recorder(b, { gym: g1 });
      await b.listening();
      a.publish({ gym: g1, agent: 'marker', series: [series('m', 'heart_rate', 2)] });
      await next.sawMarker('marker');
    }),
  );

  test(`${name}: a subscriber that throws keeps no other subscriber, here or on the other replica, from the readings`, { skip }, () =>
    withPair(async ({ a, b, gym }) => {
      const g1 = gym('g1');
      a.subscribe({ gym: g1 }, () => {
        throw new Error('a broken viewer');
      });
      const local = recorder(a, { gym: g1 });
      const remote = recorder(b, { gym: g1 });
      await Promise.all([a.listening(), b.listening()]);
      assert.throws(() => a.publish({ gym: g1, agent: 'agent-1', series: [series('hr-1', 'heart_rate', 120)] }), /a broken viewer/, 'the publisher learns of it');
      assert.throws(() => a.publish({ gym: g1, agent: 'marker', series: [series('hr-1', 'heart_rate', 121)] }), /a broken viewer/);
      await local.sawMarker('marker');
      await remote.sawMarker('marker');
      assert.deepEqual(
        local.got.map((r) => r.agent),
        ['agent-1', 'marker'],
      );
      assert.deepEqual(
        remote.got.map((r) => r.agent),
        ['agent-1', 'marker'],
      );
    }),
  );

  test(`${name}: subscribers without a sensor or metric filter share one object per message (serialised once for all)`, { skip }, () =>
    withPair(async ({ a, b, gym }) => {
      const g1 = gym('g1');
      const first = recorder(b, { gym: g1 });
      const second = recorder(b, { gym: g1 });
      await b.listening();
      a.publish({ gym: g1, agent: 'marker', series: [series('hr-1', 'heart_rate', 120)] });
      await first.sawMarker('marker');
      await second.sawMarker('marker');
      assert.equal(first.got[0], second.got[0]);
    }),
  );
}
