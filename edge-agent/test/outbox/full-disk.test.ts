/**
 * A real full disk: a small tmpfs mounted for the test and filled to ENOSPC, so SQLite fails the way it does
 * on a full SD card (SQLITE_FULL), not the way a test double would. Needs root (mount); skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { until } from '@pulsebridge/runtime';
import { Agent } from '../../src/agent.ts';
import { loadAgentConfig } from '../../src/config.ts';
import { Outbox } from '../../src/outbox/outbox.ts';
import type { Reading } from '@pulsebridge/protocol';
import { hubRig } from '../uplink/fixtures.ts';
import { ManualTime, T0, flatten, readings, silentLog } from './fixtures.ts';

const notRoot = process.getuid?.() !== 0 ? 'mounting a tmpfs needs root' : false;

/**
 * Runs `body` with a tmpfs of `size` mounted on a fresh directory; skips when mounting is not allowed here.
 * The file system is unmounted whatever happens, after `body` has closed what it opened.
 */
async function withTmpfs(t: TestContext, size: string, body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pb-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmdirSync(dir);
    t.skip(`cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  try {
    await body(dir);
  } finally {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      // Something still holds a file open: detach now, the kernel frees it when closed.
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
    rmdirSync(dir);
  }
}

/** Fills the file system holding `dir` to ENOSPC; returns the filler file, whose removal gives the space back. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'a');
  const block = Buffer.alloc(4_096, 0x5a);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return path;
}

function capture(): { log: pino.Logger; messages: () => string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.length > 0) lines.push(String((JSON.parse(text) as { msg: unknown }).msg));
      callback();
    },
  });
  return { log: pino({ level: 'warn' }, sink), messages: () => lines };
}

const asSeries = (list: readonly Reading[]) => list.map((r) => ({ sensor: r.sensor, metric: r.metric, ts: [r.ts], values: [r.value] }));

test('started on a full disk: the outbox keeps readings in memory within its bound and opens the file when space returns', { skip: notRoot }, async (t) => {
  await withTmpfs(t, '256k', (dir) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const filler = fill(dir);
    const time = new ManualTime();
    const outbox = new Outbox({ path: join(dir, 'outbox.db'), clock: time.clock(), log: silentLog, flushIntervalMs: 10, maxChunkReadings: 10, maxBufferedReadings: 50 });
    try {
      assert.doesNotThrow(() => outbox.start());
      let stats = outbox.stats();
      assert.equal(stats.storage, 'unopened');
      assert.match(stats.storageProblem ?? '', /full/);
      const all = readings('ble:c0-ff-ee-00-00-01', T0, 60);
      for (const r of all) outbox.append(r);
      stats = outbox.stats();
      assert.equal(stats.buffered, 50);
      assert.equal(stats.dropped.overflow, 10);

      rmSync(filler);
      time.advance(30_000);
      t.mock.timers.tick(10);
      stats = outbox.stats();
      assert.equal(stats.storage, 'ok', stats.storageProblem ?? '');
      assert.equal(stats.buffered, 0);
      assert.equal(stats.readings, 50);
      const ids = outbox.pending(10, 'oldest').map((c) => c.id);
      assert.deepEqual(flatten(outbox.load(ids).series), flatten(asSeries(all.slice(10))));
    } finally {
      outbox.stop();
    }
  });
});

test('a disk that fills while running: no throw, readings kept in memory within the bound, one log line, all committed once space returns', { skip: notRoot }, async (t) => {
  await withTmpfs(t, '1m', (dir) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const time = new ManualTime();
    const { log, messages } = capture();
    const outbox = new Outbox({ path: join(dir, 'outbox.db'), clock: time.clock(), log, flushIntervalMs: 10, maxChunkReadings: 10, maxBufferedReadings: 50 });
    try {
      outbox.start();
      const before = readings('ble:c0-ff-ee-00-00-01', T0, 10);
      for (const r of before) outbox.append(r);
      assert.equal(outbox.stats().readings, 10);

      const filler = fill(dir);
      // The last pages SQLite holds still take a few commits: write until the disk refuses one.
      const during: Reading[] = [];
      let ts = T0 + 10_000;
      assert.doesNotThrow(() => {
        while (outbox.stats().storage === 'ok' && during.length < 100_000) {
          for (const r of readings('ble:c0-ff-ee-00-00-01', ts, 10)) {
            outbox.append(r);
            during.push(r);
          }
          ts += 2_500;
        }
        for (const r of readings('ble:c0-ff-ee-00-00-01', ts, 30)) {
          outbox.append(r);
          during.push(r);
        }
      });
      let stats = outbox.stats();
      assert.equal(stats.storage, 'failing');
      assert.match(stats.storageProblem ?? '', /^commit readings: database or disk is full$/);
      assert.equal(stats.buffered, 40, 'the refused chunk and what came after wait in memory');
      const committed = stats.readings;
      // A minute of retries (each after the backoff) on the still full disk: logged once, not every time.
      for (let s = 0; s < 60; s++) {
        time.advance(1_000);
        t.mock.timers.tick(10);
      }
      stats = outbox.stats();
      assert.ok(stats.errors >= 3, `retried: ${stats.errors} failed attempts`);
      assert.ok(stats.errors <= 10, `with backoff, not on every tick: ${stats.errors} failed attempts`);
      assert.equal(messages().filter((m) => m === 'outbox storage operation failed').length, 1, messages().join('\n'));

      rmSync(filler);
      time.advance(30_000);
      t.mock.timers.tick(10);
      stats = outbox.stats();
      assert.equal(stats.storage, 'ok', stats.storageProblem ?? '');
      assert.equal(stats.buffered, 0);
      assert.equal(stats.readings, committed + 40);
      assert.equal(stats.dropped.overflow, 0);
      const ids = outbox.pending(100_000, 'oldest').map((c) => c.id);
      assert.deepEqual(flatten(outbox.load(ids).series), flatten(asSeries([...before, ...during])));
    } finally {
      outbox.stop();
    }
  });
});

test('an agent started on a full disk runs, reports degraded with the reason, and delivers its readings once space returns', { skip: notRoot, timeout: 60_000 }, async (t) => {
  const { broker } = await hubRig(t);
  await withTmpfs(t, '256k', async (dir) => {
    const filler = fill(dir);
    const config = loadAgentConfig({
      env: {},
      overrides: {
        agent: { id: 'gym-1', dataDir: dir },
        hub: { url: broker.url, password: 'secret', protocolVersion: 4 },
        uplink: { liveBatchDelayMs: 250, statusIntervalMs: 300, reconnectMinMs: 100, reconnectMaxMs: 500, ackTimeoutMs: 2_000 },
        health: { port: 0 },
        sources: { simulator: { athletes: 2 } },
        log: { level: 'silent' },
      },
    });
    const agent = new Agent(config, { log: silentLog });
    try {
      await agent.start();
      const { port } = agent.healthServer.address()!;
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { status: string; reasons: string[] };
      assert.equal(body.status, 'degraded');
      assert.ok(
        body.reasons.some((r) => /^outbox cannot open its file: open: .*full.*; \d+ readings wait in memory \(at most 20000\)$/.test(r)),
        body.reasons.join('; '),
      );
      await until('readings in memory', () => agent.outbox.stats().buffered > 0, 5_000);

      rmSync(filler);
      await until('the outbox to open', () => agent.outbox.stats().storage === 'ok', 40_000);
      await until('readings acknowledged by the hub', () => agent.outbox.stats().acknowledged > 0, 10_000);
      assert.ok(!agent.health().reasons.some((r) => r.startsWith('outbox cannot')), agent.health().reasons.join('; '));
    } finally {
      await agent.stop();
    }
  });
});
