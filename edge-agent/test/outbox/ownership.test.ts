/**
 * An outbox belongs to one agent: one agent id for the readings it holds, one process at a time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Outbox } from '../../src/outbox/outbox.ts';
import { OutboxError } from '../../src/outbox/errors.ts';
import { ManualTime, T0, flatten, openOutbox, readings, silentLog, tempDir } from './fixtures.ts';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

function outboxOf(path: string, agent: string | undefined, time = new ManualTime()): Outbox {
  return new Outbox({ path, agent, clock: time.clock(), log: silentLog, flushIntervalMs: 60_000 });
}

/** Starts an outbox for `agent`, stores `count` readings in it and stops it. */
function recordReadings(path: string, agent: string | undefined, count: number): void {
  const outbox = outboxOf(path, agent);
  outbox.start();
  for (const r of readings('ble:aa:bb', T0, count)) outbox.append(r);
  outbox.stop();
}

const isCode = (code: string) => (err: unknown) => err instanceof OutboxError && err.code === code;

test('an outbox holding readings of another agent id is refused with what to do, and left as it was', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  recordReadings(path, 'gym-1', 7);

  const renamed = outboxOf(path, 'gym-2');
  let refusal: unknown;
  assert.throws(
    () => renamed.start(),
    (err) => {
      refusal = err;
      return isCode('other_agent')(err);
    },
  );
  const message = (refusal as Error).message;
  assert.match(message, /holds 7 readings recorded by agent "gym-1", and this agent is "gym-2"/);
  assert.match(message, /run this box as "gym-1"/);
  assert.match(message, /move .*outbox\.db and its -wal and -shm files aside/);
  assert.match(message, /agent\.dataDir or outbox\.path/);

  // The refusal touched nothing and released the file: its own agent sends everything.
  const owner = openOutbox(t, { path, agent: 'gym-1', clock: new ManualTime().clock() });
  const loaded = owner.load(owner.pending(10, 'oldest').map((c) => c.id));
  assert.deepEqual(flatten(loaded.series), flatten(readings('ble:aa:bb', T0, 7).map((r) => ({ sensor: r.sensor, metric: r.metric, ts: [r.ts], values: [r.value] }))));
});

test('an empty outbox of another agent id is taken over; from then on it is the new id’s', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const first = outboxOf(path, 'gym-1');
  first.start();
  for (const r of readings('ble:aa:bb', T0, 3)) first.append(r);
  first.flush();
  first.acknowledge(0, 2);
  first.stop();

  const renamed = outboxOf(path, 'gym-2');
  assert.doesNotThrow(() => renamed.start());
  for (const r of readings('ble:aa:bb', T0 + 10_000, 2)) renamed.append(r);
  renamed.stop();

  assert.throws(() => outboxOf(path, 'gym-1').start(), isCode('other_agent'));
  const db = new Database(path, { readonly: true });
  t.after(() => db.close());
  assert.equal(db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'agent'").get()?.value, 'gym-2');
});

test('an outbox from before agent ids were recorded is claimed by the first agent that opens it', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  recordReadings(path, undefined, 4);
  const db = new Database(path);
  assert.equal(db.prepare("SELECT 1 FROM meta WHERE key = 'agent'").get(), undefined, 'nothing recorded without an agent id');
  db.close();

  const claimed = outboxOf(path, 'gym-1');
  claimed.start();
  assert.equal(claimed.stats().readings, 4);
  claimed.stop();
  assert.throws(() => outboxOf(path, 'gym-2').start(), isCode('other_agent'));
});

test('a second outbox on the same file in the same process is refused while the first is open', (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const first = outboxOf(path, 'gym-1');
  first.start();
  t.after(() => first.stop());
  const second = outboxOf(path, 'gym-1');
  assert.throws(
    () => second.start(),
    (err) => isCode('in_use')(err) && /in use by another agent process/.test((err as Error).message) && /agent\.dataDir/.test((err as Error).message),
  );
  first.stop();
  assert.doesNotThrow(() => second.start());
  second.stop();
});

test('another process holding the outbox makes start refuse; once that process is killed, no stale lock is left', { timeout: 60_000 }, async (t) => {
  const path = join(tempDir(t), 'outbox.db');
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, String(Date.now())], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  t.after(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout });
  await once(lines, 'line');

  assert.throws(() => outboxOf(path, undefined).start(), isCode('in_use'));
  child.kill('SIGKILL');
  await exited;
  const outbox = outboxOf(path, undefined);
  assert.doesNotThrow(() => outbox.start());
  assert.ok(outbox.stats().readings > 0);
  outbox.stop();
});
