/**
 * The InfluxDB 1.x backup and restore of docs/operations.md, against the real server (INFLUX_URL, and its RPC
 * address INFLUX_BACKUP_HOST, both from scripts/test-services.sh): `influxd backup -portable` while the store
 * keeps writing, `influxd restore -portable -newdb`, and the readings read back through the store.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { InfluxSeriesStore } from '../../src/storage/series/influx-series-store.ts';
import type { SeriesWrite } from '../../src/storage/series/series-store.ts';
import { influxql, startInfluxV2Proxy } from './influx-v2-proxy.ts';
import { missingService } from '../../../test/services.ts';

const run = promisify(execFile);
const INFLUX_URL = process.env.INFLUX_URL;
const BACKUP_HOST = process.env.INFLUX_BACKUP_HOST;
const NO_INFLUX = missingService(INFLUX_URL && BACKUP_HOST ? false : 'INFLUX_URL or INFLUX_BACKUP_HOST not set (run the tests through scripts/test-services.sh to start InfluxDB)');
const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'pb-influx-backup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function minuteOf(sensor: string, from: number): SeriesWrite[] {
  const ts = Array.from({ length: 60 }, (_, i) => from + i * 1_000);
  return [{ gym: 'g1', agent: 'a1', series: [{ sensor, metric: 'power', ts, values: ts.map((_, i) => i) }] }];
}

test('influxd backup -portable taken while the store writes restores into a new database with every reading written before it', { skip: NO_INFLUX, timeout: 60_000 }, async () => {
  const db = `pb_backup_${process.pid}_${randomBytes(4).toString('hex')}`;
  const restoredDb = `${db}_restored`;
  const proxy = await startInfluxV2Proxy(INFLUX_URL!);
  await influxql(INFLUX_URL!, `CREATE DATABASE "${db}"`);
  const store = new InfluxSeriesStore({ url: proxy.url, org: 'pulsebridge', bucket: `${db}/autogen`, log });
  await store.start();
  try {
    const t0 = Date.now() - 3_600_000;
    for (let m = 0; m < 10; m++) await store.write(minuteOf('s1', t0 + m * 60_000));
    let writing = true;
    let during = 0;
    const writer = (async () => {
      for (let m = 10; writing; m++, during++) await store.write(minuteOf('s1', t0 + m * 60_000));
    })();
    try {
      await run('influxd', ['backup', '-portable', '-db', db, '-host', BACKUP_HOST!, join(dir, 'backup')]);
    } finally {
      writing = false;
      await writer;
    }
    await run('influxd', ['restore', '-portable', '-db', db, '-newdb', restoredDb, '-host', BACKUP_HOST!, join(dir, 'backup')]);

    const restored = new InfluxSeriesStore({ url: proxy.url, org: 'pulsebridge', bucket: `${restoredDb}/autogen`, log });
    await restored.start();
    try {
      const count = await restored.count({});
      assert.ok(count >= 600, `${count} readings restored; the 600 written before the backup must be there`);
      assert.ok(count <= 600 + during * 60);
      assert.deepEqual(await restored.readRaw({ sensor: 's1', metric: 'power', from: t0, to: t0 + 3_000 }, 10), [
        { ts: t0, value: 0 },
        { ts: t0 + 1_000, value: 1 },
        { ts: t0 + 2_000, value: 2 },
      ]);
    } finally {
      await restored.stop();
    }
  } finally {
    await store.stop();
    await proxy.close();
    await influxql(INFLUX_URL!, `DROP DATABASE "${db}"`);
    await influxql(INFLUX_URL!, `DROP DATABASE "${restoredDb}"`);
  }
});
