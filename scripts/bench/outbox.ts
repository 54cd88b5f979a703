/**
 * The edge agent's outbox against the bare tool underneath, as JSON lines (DESIGN §9).
 *
 *   node --import tsx scripts/bench/outbox.ts [--readings 200000] [--runs 5] [--seconds 25] [--skip-io]
 *
 * 1. Append rate: readings/s through append() + flush(), for 100 sensors stamped 4 times a second; a flush
 *    after every 100 readings (what a 250 ms flush commits at 100 sensors × 4 Hz) and after 5 000 (the
 *    chunk size limit). The limit is bare better-sqlite3 inserting the same readings one row each, one
 *    transaction per flush, same journal settings. Median of `--runs` runs, each on a fresh file.
 * 2. Disk bytes written per reading: a child process runs an outbox with its default settings in real time
 *    (100 sensors × 4 Hz, flushes every 250 ms) for `--seconds`; this process reads the child's
 *    /proc/<pid>/io write_bytes after the outbox opened and after it closed (the close checkpoints the
 *    WAL, so the figure includes what the WAL costs twice). Measured offline (nothing acknowledged) and
 *    online (every chunk acknowledged 50 ms after its commit); the limit is the bare tool offline. Target:
 *    64 bytes a reading or fewer.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { METRICS, type MetricId, type Reading } from '@pulsebridge/protocol';
import { pino } from 'pino';
import { Clock } from '../../edge-agent/src/clock/clock.ts';
import { Outbox } from '../../edge-agent/src/outbox/outbox.ts';
import { printFigure, printRate, timedRate, withTempDir, type Rate } from './figures.ts';

const { values: args } = parseArgs({
  options: {
    readings: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '25' },
    'skip-io': { type: 'boolean', default: false },
    child: { type: 'string' },
    path: { type: 'string' },
  },
});

const SENSORS = 100;
const RATE_HZ = 4;
const STEP_MS = 1000 / RATE_HZ;
const DISK_TARGET_BYTES = 64;
const log = pino({ level: 'silent' });

/** Sensor ids shaped like the BLE sources' own. */
const sensorIds = Array.from({ length: SENSORS }, (_, i) => `ble:c0:ff:ee:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}:42`);
const metricOf = (sensor: number): MetricId => (sensor % 3 === 0 ? 'power' : sensor % 3 === 1 ? 'heart_rate' : 'cadence');

/** A plausible next value: a bounded random walk per sensor. */
function nextValue(sensor: number, previous: number | undefined): number {
  const spec = METRICS[metricOf(sensor)];
  const start = metricOf(sensor) === 'power' ? 180 : metricOf(sensor) === 'heart_rate' ? 120 : 85;
  const step = (Math.random() - 0.5) * (metricOf(sensor) === 'power' ? 20 : 3);
  const value = Math.min(spec.max, Math.max(spec.min, (previous ?? start) + step));
  return Math.round(value * 10 ** spec.decimals) / 10 ** spec.decimals;
}

/** `total` readings: steps of one reading per sensor, 250 ms apart, each sensor at its own phase. */
function makeReadings(total: number, t0: number): Reading[] {
  const out: Reading[] = [];
  const last: (number | undefined)[] = [];
  for (let step = 0; out.length < total; step++) {
    for (let s = 0; s < SENSORS && out.length < total; s++) {
      last[s] = nextValue(s, last[s]);
      out.push({ sensor: sensorIds[s]!, metric: metricOf(s), ts: t0 + step * STEP_MS + Math.floor((s * STEP_MS) / SENSORS), value: last[s]! });
    }
  }
  return out;
}

function outboxRate(readings: readonly Reading[], perFlush: number): Promise<Rate> {
  return withTempDir('outbox', (dir) => {
    const clock = new Clock({ log });
    const outbox = new Outbox({ path: join(dir, 'outbox.db'), clock, log, flushIntervalMs: 60_000, maxChunkReadings: perFlush });
    outbox.start();
    try {
      const rate = timedRate(readings.length, () => {
        for (const r of readings) outbox.append(r);
        outbox.flush();
      });
      const stats = outbox.stats();
      if (stats.readings !== readings.length) throw new Error(`outbox holds ${stats.readings} of ${readings.length} readings: ${JSON.stringify(stats)}`);
      return rate;
    } finally {
      outbox.stop();
    }
  });
}

/** The bare tool: one row per reading, one transaction per flush, WAL + synchronous=NORMAL. */
function openBare(path: string): { db: Database.Database; insert: (batch: readonly Reading[]) => void } {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE readings (id INTEGER PRIMARY KEY, sensor TEXT NOT NULL, metric INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL)');
  const statement = db.prepare<[string, number, number, number]>('INSERT INTO readings (sensor, metric, ts, value) VALUES (?, ?, ?, ?)');
  const insert = db.transaction((batch: readonly Reading[]) => {
    for (const r of batch) statement.run(r.sensor, METRICS[r.metric].code, r.ts, r.value);
  });
  return { db, insert };
}

function bareRate(readings: readonly Reading[], perFlush: number): Promise<Rate> {
  return withTempDir('outbox', (dir) => {
    const { db, insert } = openBare(join(dir, 'bare.db'));
    try {
      return timedRate(readings.length, () => {
        for (let i = 0; i < readings.length; i += perFlush) insert(readings.slice(i, i + perFlush));
      });
    } finally {
      db.close();
    }
  });
}

// ---- disk bytes: the child side ----

type IoMode = 'offline' | 'online' | 'bare';

/**
 * Produces 100 sensors × 4 Hz in real time for `seconds`. Prints "ready" once the store is open, then
 * "done <readings>" once it is closed, and exits when its standard input closes, so the parent can read
 * /proc/<pid>/io at both points.
 */
async function runChild(mode: IoMode, path: string, seconds: number): Promise<void> {
  const clock = new Clock({ log });
  clock.start();
  let write: (r: Reading) => void;
  let close: () => void;
  if (mode === 'bare') {
    const { db, insert } = openBare(path);
    let batch: Reading[] = [];
    const timer = setInterval(() => {
      insert(batch);
      batch = [];
    }, STEP_MS);
    write = (r) => batch.push(r);
    close = () => {
      clearInterval(timer);
      insert(batch);
      db.close();
    };
  } else {
    const outbox = new Outbox({ path, clock, log });
    outbox.start();
    // The hub's acknowledgement arrives a round trip after the chunk was committed.
    if (mode === 'online') outbox.on('flushed', (chunk) => setTimeout(() => outbox.acknowledge(chunk.first, chunk.last), 50));
    write = (r) => outbox.append(r);
    close = () => {
      outbox.stop();
      const stats = outbox.stats();
      if (stats.dropped.invalid + stats.dropped.overflow + stats.dropped.expired > 0) throw new Error(`readings dropped: ${JSON.stringify(stats.dropped)}`);
    };
  }
  process.stdout.write('ready\n');
  const started = clock.mono();
  const values: (number | undefined)[] = [];
  const due = Array.from({ length: SENSORS }, (_, s) => started + (s * STEP_MS) / SENSORS);
  let readings = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const mono = clock.mono();
      for (let s = 0; s < SENSORS; s++) {
        while (due[s]! <= mono) {
          values[s] = nextValue(s, values[s]);
          write({ sensor: sensorIds[s]!, metric: metricOf(s), ts: clock.now(), value: values[s]! });
          readings++;
          due[s]! += STEP_MS;
        }
      }
      if (mono - started >= seconds * 1000) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  close();
  clock.stop();
  process.stdout.write(`done ${readings}\n`);
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on('end', resolve));
}

// ---- disk bytes: the parent side ----

function ioOf(pid: number): { writeBytes: number; cancelledWriteBytes: number } {
  const text = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { writeBytes: field('write_bytes'), cancelledWriteBytes: field('cancelled_write_bytes') };
}

interface IoResult {
  readings: number;
  writeBytes: number;
  cancelledWriteBytes: number;
}

function measureIo(mode: IoMode, seconds: number): Promise<IoResult> {
  return withTempDir('outbox-io', async (dir) => {
    const script = fileURLToPath(import.meta.url);
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--child', mode, '--path', join(dir, `${mode}.db`), '--seconds', String(seconds)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      let before: ReturnType<typeof ioOf> | undefined;
      for await (const line of createInterface({ input: child.stdout! })) {
        if (line === 'ready') before = ioOf(child.pid!);
        const done = /^done (\d+)$/.exec(line);
        if (done && before) {
          const after = ioOf(child.pid!);
          return { readings: Number(done[1]), writeBytes: after.writeBytes - before.writeBytes, cancelledWriteBytes: after.cancelledWriteBytes - before.cancelledWriteBytes };
        }
      }
      throw new Error(`the ${mode} writer ended without reporting`);
    } finally {
      child.stdin!.end();
      await exited;
    }
  });
}

// ---- main ----

async function main(): Promise<void> {
  if (args.child) {
    const mode = args.child as IoMode;
    if (!['offline', 'online', 'bare'].includes(mode) || !args.path) throw new Error('--child offline|online|bare --path <file>');
    await runChild(mode, args.path, Number(args.seconds));
    return;
  }
  const total = Number(args.readings);
  const runs = Number(args.runs);
  const seconds = Number(args.seconds);
  if (![total, runs, seconds].every((n) => Number.isInteger(n) && n > 0)) throw new Error('--readings, --runs and --seconds must be positive integers');

  // Stamped just before now, so that none of them is old enough to expire.
  const readings = makeReadings(total, Date.now() - (total / SENSORS) * STEP_MS);
  for (const perFlush of [SENSORS, 5_000]) {
    const ours: Rate[] = [];
    const bare: Rate[] = [];
    for (let r = 0; r < runs; r++) {
      bare.push(await bareRate(readings, perFlush));
      ours.push(await outboxRate(readings, perFlush));
    }
    printRate(`outbox.append_rate.flush_every_${perFlush}`, 'readings/s', ours, bare, { readings: total, sensors: SENSORS, runs });
  }

  if (args['skip-io']) return;
  if (process.platform !== 'linux') {
    console.log(JSON.stringify({ name: 'outbox.disk_bytes_per_reading', skipped: 'needs /proc/<pid>/io (Linux)' }));
    return;
  }
  // In parallel: write_bytes is counted per process, and each writer needs little CPU.
  const [offline, online, bare] = await Promise.all([measureIo('offline', seconds), measureIo('online', seconds), measureIo('bare', seconds)]);
  const perReading = (io: IoResult): number => +(io.writeBytes / io.readings).toFixed(1);
  for (const [name, io] of [
    ['outbox.disk_bytes_per_reading.offline', offline],
    ['outbox.disk_bytes_per_reading.online', online],
  ] as const) {
    printFigure(name, perReading(io), 'bytes/reading', {
      limit: perReading(bare),
      ratio: +(perReading(io) / perReading(bare)).toFixed(3),
      target: DISK_TARGET_BYTES,
      readings: io.readings,
      writeBytes: io.writeBytes,
      cancelledWriteBytes: io.cancelledWriteBytes,
      bareWriteBytes: bare.writeBytes,
      sensors: SENSORS,
      rateHz: RATE_HZ,
      seconds,
    });
  }
}

await main();
