import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import type { Counter } from 'prom-client';
import type { SeriesReadings } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import type { BoardSnapshot } from '../../src/api/board-operations.ts';
import { BOOKINGS } from '../../src/domain/classes/collections.ts';
import { BINDINGS } from '../../src/domain/pairing/collections.ts';
import { CLASS_RUNS } from '../../src/domain/sessions/collections.ts';
import { AUTH, NOW, readProblem, startApi, TOKEN, withApi, type RunningApi } from './harness.ts';
import { FixedTokens, principal } from './principals.ts';
import { runDocument } from '../domain/test-domain.ts';

const GYM = 'gym-a';
const START = NOW - 60_000;
const RUN = `spin@${START}`;

async function seedRun(api: RunningApi, athletes: { id: string; sensor: string }[]): Promise<void> {
  const { documents } = api.deps.domain;
  await documents.collection(CLASS_RUNS).insert(runDocument({ id: RUN, gym: GYM, start: START }));
  for (const { id, sensor } of athletes) {
    await documents.collection(BOOKINGS).insert({
      id: `booking-${id}`,
      gym: GYM,
      class: 'spin',
      occurrence: RUN,
      start: START,
      user: id,
      status: 'booked',
      active: true,
      position: 0,
      bookedBy: id,
      createdAt: 0,
    });
    await documents.collection(BINDINGS).insert({ id: `binding-${id}`, gym: GYM, sensor, athlete: id, active: true, from: 0, kind: 'own', createdBy: id });
  }
}

interface Message {
  event: string;
  data: BoardSnapshot;
}

/** Reads the board stream's events as they arrive. */
async function openBoard(api: RunningApi, path = `/api/v1/class-runs/${RUN}/board`, headers: Record<string, string> = { ...AUTH }) {
  const controller = new AbortController();
  const response = await fetch(`${api.url}${path}`, { headers, signal: controller.signal });
  const messages: Message[] = [];
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) messages.push({ event, data: JSON.parse(data) as BoardSnapshot });
        }
      }
    } catch {
      // Aborted by close().
    }
  })();
  return {
    response,
    messages,
    pump,
    close: async () => {
      controller.abort();
      await pump;
    },
  };
}

const heartRate = (sensor: string, ts: number, bpm: number): SeriesReadings => ({ sensor, metric: 'heart_rate', ts: [ts], values: [bpm] }) as SeriesReadings;

test('the board stream sends the whole board on connecting, then the tiles a reading changes; the snapshot answers the same tiles', async () => {
  await withApi(async (api) => {
    const ann = await api.deps.domain.identity.createUser({ email: 'ann@example.org', displayName: 'Ann' });
    await api.deps.domain.identity.saveProfile(ann.id, { maxHeartRate: 200, resultsVisibility: 'friends', boardVisibility: 'name' });
    await seedRun(api, [
      { id: ann.id, sensor: 'strap-ann' },
      { id: 'someone', sensor: 'strap-2' },
    ]);
    const stream = await openBoard(api);
    try {
      assert.equal(stream.response.status, 200);
      assert.match(stream.response.headers.get('content-type') ?? '', /^text\/event-stream/);
      await until('the first board event', () => stream.messages.length > 0, 3_000);
      assert.equal(stream.messages[0]!.event, 'board');
      assert.equal(stream.messages[0]!.data.tiles.length, 2);
      api.deps.domain.live.publish({ gym: GYM, agent: 'box', series: [heartRate('strap-ann', NOW, 150)] });
      await until('a tiles event', () => stream.messages.some((m) => m.event === 'tiles'), 3_000);
      const tiles = stream.messages.find((m) => m.event === 'tiles')!.data;
      assert.equal(tiles.run, RUN);
      assert.deepEqual(
        tiles.tiles.map((t) => [t.athlete, t.name, t.heartRateBpm, t.percentOfMax, t.zone]),
        [[ann.id, 'Ann', 150, 75, 3]],
      );
      const snapshot = (await (await api.get(`/api/v1/class-runs/${RUN}/board/snapshot`)).json()) as BoardSnapshot;
      assert.equal(snapshot.state, 'running');
      assert.equal(snapshot.tiles.find((t) => t.athlete === ann.id)?.heartRateBpm, 150);
      const head = await fetch(`${api.url}/api/v1/class-runs/${RUN}/board`, { method: 'HEAD', headers: AUTH });
      assert.equal(head.status, 200);
      assert.match(head.headers.get('content-type') ?? '', /^text\/event-stream/);
    } finally {
      await stream.close();
    }
  });
});

test('the stream sends ended and closes when the run ends; an ended run answers ended at once', async () => {
  await withApi({ board: { tickMs: 20 } }, async (api) => {
    await seedRun(api, [{ id: 'someone', sensor: 'strap-1' }]);
    const stream = await openBoard(api, `/api/v1/class-runs/${RUN}/board?access_token=${TOKEN}`, {});
    await until('the first board event', () => stream.messages.length > 0, 3_000);
    await api.deps.domain.documents.collection(CLASS_RUNS).update({ id: RUN }, { set: { state: 'ended', endedAt: NOW } });
    await stream.pump;
    assert.equal(stream.messages.at(-1)!.event, 'ended');
    const again = await openBoard(api);
    await again.pump;
    assert.deepEqual(
      again.messages.map((m) => m.event),
      ['ended'],
    );
    const snapshot = (await (await api.get(`/api/v1/class-runs/${RUN}/board/snapshot`)).json()) as BoardSnapshot;
    assert.equal(snapshot.state, 'ended');
    assert.deepEqual(snapshot.tiles, []);
  });
});

test("another gym's accounts get 404 for a run, and an unknown run is 404", async () => {
  const tokens = new FixedTokens({ other: principal([{ gym: 'gym-b', role: 'gym_admin' }]), own: principal([{ gym: GYM, role: 'athlete' }]) });
  await withApi({ verifier: tokens }, async (api) => {
    await seedRun(api, [{ id: 'someone', sensor: 'strap-1' }]);
    for (const path of [`/api/v1/class-runs/${RUN}/board`, `/api/v1/class-runs/${RUN}/board/snapshot`]) {
      const response = await api.get(path, { Authorization: 'Bearer other' });
      assert.equal(response.status, 404);
      assert.equal((await readProblem(response)).status, 404);
    }
    assert.equal((await api.get(`/api/v1/class-runs/nothing@1/board/snapshot`, { Authorization: 'Bearer own' })).status, 404);
    assert.equal((await api.get(`/api/v1/class-runs/${RUN}/board/snapshot`, { Authorization: 'Bearer own' })).status, 200, 'an athlete of the gym sees it');
  });
});

test('a board viewer that does not read is disconnected; the board is dropped with its last viewer', async () => {
  const api = await startApi({ board: { tickMs: 10, streams: { maxBufferedBytes: 64 * 1024 } } });
  const slow = connect(Number(new URL(api.url).port), '127.0.0.1');
  // Listened for at once: seeding may take longer than connecting (it does on PostgreSQL), and a 'connect'
  // awaited only after it would never come.
  const connected = once(slow, 'connect');
  try {
    // Many athletes make each board event some 30 kB.
    await seedRun(
      api,
      Array.from({ length: 150 }, (_, i) => ({ id: `athlete-${i}`, sensor: `strap-${i}` })),
    );
    await connected;
    slow.write(`GET /api/v1/class-runs/${RUN}/board HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    const [head] = (await once(slow, 'data')) as [Buffer];
    assert.match(head.toString('latin1'), /^HTTP\/1\.1 200/);
    slow.pause();
    const dropped = api.metrics.getSingleMetric('pb_hub_board_disconnects_total') as Counter;
    const slowDrops = async (): Promise<number> => (await dropped.get()).values.find((v) => v.labels['reason'] === 'slow')?.value ?? 0;
    await until('the slow viewer to be dropped', async () => (await slowDrops()) === 1, 20_000, 50);
    const open = api.metrics.getSingleMetric('pb_hub_board_open')!;
    await until('the board to be dropped', async () => (await open.get()).values[0]?.value === 0, 3_000);
  } finally {
    slow.destroy();
    await api.close();
  }
});
