import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Reading } from '@pulsebridge/protocol';
import pino from 'pino';
import { Clock } from '../../src/clock/clock.ts';
import { Outbox, type OutboxOptions } from '../../src/outbox/outbox.ts';

export const silentLog = pino({ level: 'silent' });

export const T0 = 1_700_000_000_000;

/** A wall clock and a monotonic clock the test moves by hand. */
export class ManualTime {
  wall: number;
  mono: number;

  constructor(wall = T0, mono = 5_000_000) {
    this.wall = wall;
    this.mono = mono;
  }

  /** Both clocks move: time passes. */
  advance(ms: number): void {
    this.wall += ms;
    this.mono += ms;
  }

  /** Only the wall clock moves: somebody set it. */
  setWall(wall: number): void {
    this.wall = wall;
  }

  clock(bootId = 'boot-a', jumpThresholdMs?: number): Clock {
    return new Clock({ log: silentLog, wall: () => this.wall, mono: () => this.mono, bootId, ...(jumpThresholdMs === undefined ? {} : { jumpThresholdMs }) });
  }
}

export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'pb-outbox-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An outbox the test stops itself (to reopen its file); the flush timer is long so tests flush explicitly. */
export function startOutbox(path: string, clock: Clock): Outbox {
  const outbox = new Outbox({ path, clock, log: silentLog, flushIntervalMs: 60_000 });
  outbox.start();
  return outbox;
}

/** An outbox that the test's end stops (in a fresh directory unless `path` is given); the flush timer is long so tests flush explicitly. */
export function openOutbox(t: TestContext, options: Partial<OutboxOptions> & { clock: Clock }): Outbox {
  const outbox = new Outbox({ log: silentLog, flushIntervalMs: 60_000, path: join(tempDir(t), 'outbox.db'), ...options });
  outbox.start();
  t.after(() => outbox.stop());
  return outbox;
}

export function reading(sensor: string, ts: number, value = 120, metric: Reading['metric'] = 'heart_rate'): Reading {
  return { sensor, metric, ts, value };
}

/** `count` heart-rate readings of one sensor, 250 ms apart from `start`. */
export function readings(sensor: string, start: number, count: number): Reading[] {
  return Array.from({ length: count }, (_, i) => reading(sensor, start + i * 250, 60 + (i % 100)));
}

/** Flattens series back into readings, sorted by sensor, metric and time, for comparisons. */
export function flatten(series: readonly { sensor: string; metric: string; ts: number[]; values: number[] }[]): Reading[] {
  const out: Reading[] = [];
  for (const s of series) for (let i = 0; i < s.ts.length; i++) out.push({ sensor: s.sensor, metric: s.metric as Reading['metric'], ts: s.ts[i]!, value: s.values[i]! });
  return out.sort((a, b) => a.sensor.localeCompare(b.sensor) || a.metric.localeCompare(b.metric) || a.ts - b.ts);
}

/** Writes `length` bytes of `byte` at `offset` of a file, as a failing disk or a stray writer could. */
export function overwrite(path: string, offset: number, length: number, byte = 0xa5): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(length, byte), 0, length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Garbage over the whole database and its -wal and -shm files, while a connection may hold them open. */
export function garbleDatabase(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) overwrite(path + suffix, 0, statSync(path + suffix).size);
}
