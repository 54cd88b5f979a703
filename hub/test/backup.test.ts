/**
 * `pulsebridge-hub backup <dir>` against a running hub that ingests: the backup runs in its own process (as an
 * operator's cron job would) while an agent keeps publishing; the copies restored into a fresh hub hold
 * everything acknowledged before the backup started, and every copy passes PRAGMA integrity_check.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { Topics, encodeBatch, type AckMessage } from '@pulsebridge/protocol';
import { until } from '@pulsebridge/runtime';
import { integrityProblems, sqliteFilesOf, type BackupReport } from '../src/backup.ts';
import { Hub, openStateDatabase } from '../src/hub.ts';
import { createIdentityStore } from '../src/identity/index.ts';
import { main } from '../src/main.ts';
import { SqliteSeriesStore } from '../src/storage/series/sqlite-series-store.ts';
import { SqliteAgentRegistry } from '../src/registry/sqlite-agent-registry.ts';
import { capturingIo } from './cli-io.ts';
import { platformToken, testHubConfig } from './test-hub.ts';

const log = pino({ level: 'silent' });
const topics = new Topics('pb');
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const READINGS_PER_BATCH = 50;

/** Runs `pulsebridge-hub backup <dir> --json` in a child process; resolves its report. */
function backupInChild(dataDir: string, dir: string): Promise<BackupReport> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'hub/src/main.ts', 'backup', dir, '--json'], {
    cwd: ROOT,
    env: { ...process.env, PB_HUB_HUB__DATA_DIR: dataDir, PB_HUB_LOG__PRETTY: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as BackupReport) : reject(new Error(`backup exited ${code}: ${err}${out}`))));
  });
}

describe('hub backup', { timeout: 120_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pb-backup-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a backup taken while the hub ingests restores into a fresh hub with everything acknowledged before it started', async () => {
    const dataDir = join(dir, 'live');
    const hub = new Hub(testHubConfig(dataDir), { log });
    await hub.start();
    const http = `http://127.0.0.1:${hub.addresses.http!.port}`;
    const backupDir = join(dir, 'backup-1');
    let acked = new Set<number>();
    let ackedBeforeBackup = new Set<number>();
    let report: BackupReport;
    let publishing = true;
    // Far enough back that every batch the publisher sends in the test, at 100 ms a reading, is still in the past when read.
    const ts0 = Date.now() - 6 * 3_600_000;
    try {
      // Something in each store: an agent (state), a gym (documents), a platform admin (identity).
      const db = openStateDatabase(dataDir);
      const { secret } = await new SqliteAgentRegistry({ db, log }).create('box-1', 'gym-1');
      db.close();
      const put = await fetch(`${http}/api/v1/gyms/gym-1`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${await platformToken(hub)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Backup Gym', timeZone: 'Europe/Berlin' }),
      });
      assert.equal(put.status, 200, await put.text());
      const admin = capturingIo({ PB_HUB_HUB__DATA_DIR: dataDir });
      assert.equal(await main(['admin', 'create', '--email', 'ops@example.org'], admin), 0, admin.err);

      const client = await mqtt.connectAsync(
        `mqtt://127.0.0.1:${hub.addresses.mqtt!.port}`,
        { clientId: 'pb-agent-box-1', username: 'box-1', password: secret, protocolVersion: 4, reconnectPeriod: 0 },
        false,
      );
      await client.subscribeAsync(topics.of('box-1', 'ack'), { qos: 1 });
      client.on('message', (_topic, payload) => {
        const ack = JSON.parse(payload.toString()) as AckMessage;
        if (ack.result === 'stored') acked.add(ack.first / READINGS_PER_BATCH);
      });
      const publisher = (async () => {
        for (let i = 0; publishing; i++) {
          const first = i * READINGS_PER_BATCH;
          const ts = Array.from({ length: READINGS_PER_BATCH }, (_, k) => ts0 + (first + k) * 100);
          const batch = { agent: 'box-1', stream: 's1', first, last: first + READINGS_PER_BATCH - 1, floor: 0, clockUnsynced: false };
          await client.publishAsync(
            topics.of('box-1', 'readings'),
            encodeBatch({ ...batch, series: [{ sensor: 'ble:hr-1', metric: 'heart_rate', ts, values: ts.map((_, k) => 60 + k) }] }),
            {
              qos: 1,
            },
          );
        }
      })();
      try {
        await until('20 batches acknowledged', () => acked.size >= 20, 20_000, 10);
        ackedBeforeBackup = new Set(acked);
        report = await backupInChild(dataDir, backupDir);
        const ackedDuringBackup = acked.size - ackedBeforeBackup.size;
        assert.ok(ackedDuringBackup > 0, 'the hub went on ingesting while the backup ran');
      } finally {
        publishing = false;
        await publisher;
        await client.endAsync();
      }
      acked = new Set(acked);
    } finally {
      await hub.stop();
    }

    assert.deepEqual(
      report.files.map((f) => f.name),
      ['state', 'series', 'documents', 'identity'],
    );
    assert.deepEqual(JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8')).files, report.files);
    for (const file of report.files) assert.deepEqual(integrityProblems(file.copy), [], file.name);

    // The restore: the copies, under the hub's file names, in a fresh data folder.
    const restoredDir = join(dir, 'restored');
    mkdirSync(restoredDir);
    const config = testHubConfig(restoredDir);
    const { files } = sqliteFilesOf(config);
    for (const file of files) copyFileSync(join(backupDir, `${file.name}.db`), file.path);
    const restored = new Hub(config, { log });
    await restored.start();
    try {
      const token = await platformToken(restored);
      const get = async (path: string): Promise<unknown> => {
        const res = await fetch(`http://127.0.0.1:${restored.addresses.http!.port}${path}`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(res.status, 200, path);
        return res.json();
      };
      assert.equal(((await get('/api/v1/agents/box-1')) as { gym: string }).gym, 'gym-1');
      assert.equal(((await get('/api/v1/gyms/gym-1')) as { name: string }).name, 'Backup Gym');
    } finally {
      await restored.stop();
    }
    // The readings and the user, read from the restored files themselves.
    const series = new SqliteSeriesStore({ path: files.find((f) => f.name === 'series')!.path, log });
    await series.start();
    try {
      const readings = await series.readRaw({ sensor: 'ble:hr-1', metric: 'heart_rate', from: ts0, to: Date.now() }, 100_000);
      const batchesInCopy = new Set(readings.map((r) => Math.floor((r.ts - ts0) / 100 / READINGS_PER_BATCH)));
      for (const batch of ackedBeforeBackup) assert.ok(batchesInCopy.has(batch), `batch ${batch}, acknowledged before the backup, is missing`);
      // Nothing half-written: every batch in the copy is whole, and none is one the hub never acknowledged.
      assert.equal(readings.length, batchesInCopy.size * READINGS_PER_BATCH);
      for (const batch of batchesInCopy) assert.ok(acked.has(batch), `batch ${batch} is in the copy but was never acknowledged`);
    } finally {
      await series.stop();
    }
    const identity = createIdentityStore(config.identity.store, { dataDir: restoredDir, env: {} });
    await identity.start();
    try {
      assert.ok(await identity.findUserByEmail('ops@example.org'), 'the platform admin is in the restored identity store');
    } finally {
      await identity.stop();
    }
  });

  test('backup refuses a folder that is not empty, and needs one', async () => {
    const dataDir = join(dir, 'refuse');
    const target = join(dir, 'full');
    mkdirSync(target);
    copyFileSync(fileURLToPath(import.meta.url), join(target, 'something'));
    const full = capturingIo({ PB_HUB_HUB__DATA_DIR: dataDir });
    assert.equal(await main(['backup', target], full), 1);
    assert.match(full.err, /exists and is not an empty folder/);
    const none = capturingIo({ PB_HUB_HUB__DATA_DIR: dataDir });
    assert.equal(await main(['backup'], none), 2);
    assert.match(none.err, /backup needs a folder/);
    assert.equal(existsSync(join(target, 'manifest.json')), false);
  });
});
