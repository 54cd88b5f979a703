/**
 * A box without a real-time clock: a real agent process whose wall clock is 3 hours behind (Debian's
 * libfaketime, preloaded) and whose monotonic clock is left alone, against a real hub with its SQLite store.
 * Every reading the hub stores must carry the true time it was made at, including the first batch after
 * the agent connects and the first after it reconnects to a restarted hub.
 *
 * libfaketime fakes CLOCK_MONOTONIC as well by default (with a relative FAKETIME it then reports the faked
 * wall time); FAKETIME_DONT_FAKE_MONOTONIC=1 keeps it real, as on a box whose wall clock alone is wrong.
 * Node's process.hrtime and its timers read CLOCK_MONOTONIC, Date.now CLOCK_REALTIME.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { until } from '@pulsebridge/runtime';
import { SqliteSeriesStore } from '../hub/src/storage/series/sqlite-series-store.ts';
import { MAX_SERIES_PAGE } from '../hub/src/storage/series/series-query.ts';
import { hubWithAgent, showLogsOnFailure, tempDir, type HubRunner } from './harness.ts';

const HOUR = 3_600_000;
const BEHIND_MS = 3 * HOUR;
/** How far a stored time may be from when the reading was made: the hub's answer is good to half a round trip. */
const TOLERANCE_MS = 5_000;
const AGENT = 'box-no-rtc';

/** libfaketime's preload library, wherever the distribution's multiarch layout put it. */
function findLibfaketime(): string | undefined {
  const candidates = ['/usr/lib/faketime/libfaketime.so.1'];
  try {
    for (const dir of readdirSync('/usr/lib')) candidates.push(join('/usr/lib', dir, 'faketime', 'libfaketime.so.1'));
  } catch {
    // no /usr/lib: not a Debian-like system
  }
  return candidates.find((path) => existsSync(path));
}

const LIBFAKETIME = findLibfaketime();
const FAKETIME_MISSING = LIBFAKETIME === undefined ? 'libfaketime is not installed (Debian package faketime; scripts/test-services.sh installs it)' : false;

const work = tempDir('clock-faketime');
after(() => work.cleanup());

/** Every stored reading time of one agent, read through the store's own port. */
async function storedTimes(hub: HubRunner, agent: string): Promise<number[]> {
  const store = new SqliteSeriesStore({ path: join(hub.dir, 'data', 'series.db'), log: pino({ level: 'silent' }) });
  await store.start();
  try {
    const times: number[] = [];
    for (const series of await store.listSeries({ agent }, { limit: MAX_SERIES_PAGE })) {
      const points = await store.readRaw({ sensor: series.sensor, metric: series.metric, agent, from: 0, to: Number.MAX_SAFE_INTEGER }, 100_000);
      for (const point of points) times.push(point.ts);
    }
    return times;
  } finally {
    await store.stop();
  }
}

/** The JSON log lines of a process with the given message. */
function logged(log: string, msg: string): Record<string, unknown>[] {
  return log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.msg === msg);
}

test(
  'an agent whose wall clock is 3 h behind: the hub stores every reading at its true time, from the first batch and after a hub restart',
  { skip: FAKETIME_MISSING, timeout: 180_000 },
  async () => {
    const startedAt = Date.now();
    const { hub, agent } = await hubWithAgent(
      { dir: tempDir('clock-faketime-hub').dir },
      {
        dir: work.dir,
        id: AGENT,
        simulator: { athletes: 4, sensorRateHz: 4, seed: 5 },
        env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: `-${BEHIND_MS / HOUR}h`, FAKETIME_DONT_FAKE_MONOTONIC: '1' },
      },
    );
    try {
      await showLogsOnFailure([hub, agent], async () => {
        // The box starts before the hub is reachable, so that its first batch is backlog that the uplink
        // would send the moment it connects, and live readings that waited long enough to go at once too.
        await hub.stop();
        await agent.start();
        await until('the outbox to hold readings older than the live age', async () => (await agent.health()).outbox.oldestAgeMs >= 7_000, 30_000, 200);
        await hub.start();
        await until('the hub to store readings of the first connection', async () => (await hub.storedCount(AGENT)) >= 300, 60_000, 200);

        await hub.stop();
        await until('the agent to see the hub gone', async () => (await agent.health()).uplink.state !== 'connected', 30_000, 100);
        const beforeRestart = await hub.storedCount(AGENT);
        await hub.start();
        await until('the hub to store readings of the second connection', async () => (await hub.storedCount(AGENT)) >= beforeRestart + 300, 60_000, 200);
        const agentLog = agent.log();
        await agent.stop();
        const endedAt = Date.now();

        const corrections = logged(agentLog, 'wall clock is off: readings will be corrected by the hub time');
        assert.equal(corrections.length, 1, 'the agent ran with a wrong wall clock and learned it once (later answers agree)');
        const correctionMs = corrections[0]!.correctionMs as number;
        assert.ok(Math.abs(correctionMs - BEHIND_MS) < TOLERANCE_MS, `correction ${correctionMs} ms is not the 3 h libfaketime set`);
        assert.deepEqual(logged(agentLog, 'no time answer from the hub in time: readings of unknown true time are sent flagged clockUnsynced'), []);

        const times = await storedTimes(hub, AGENT);
        assert.ok(times.length >= beforeRestart + 300);
        // Every reading the hub acknowledged is in the athletes' series, none kept apart as of unknown time.
        const stopped = logged(agent.log(), 'agent stopped')[0]?.outbox as { acknowledged: number } | undefined;
        assert.ok(stopped && times.length >= stopped.acknowledged, `${times.length} stored, ${stopped?.acknowledged} acknowledged`);
        const wrong = times.filter((ts) => ts < startedAt - TOLERANCE_MS || ts > endedAt + TOLERANCE_MS);
        assert.deepEqual(
          wrong.slice(0, 5).map((ts) => new Date(ts).toISOString()),
          [],
          `${wrong.length} of ${times.length} stored readings are not at the time they were made (${new Date(startedAt).toISOString()} .. ${new Date(endedAt).toISOString()})`,
        );
      });
    } finally {
      await agent.stop();
      await hub.stop();
    }
  },
);
