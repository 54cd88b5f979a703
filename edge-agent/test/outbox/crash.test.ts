import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PendingChunk } from '../../src/outbox/outbox.ts';
import { Clock } from '../../src/clock/clock.ts';
import { flatten, openOutbox, silentLog, tempDir } from './fixtures.ts';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the writer until it reported `chunks` commits, then SIGKILLs it; returns what it reported. */
async function writeUntilKilled(path: string, t0: number, chunks: number): Promise<PendingChunk[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, String(t0)], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  const reported: PendingChunk[] = [];
  const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      reported.push(JSON.parse(line) as PendingChunk);
      if (reported.length >= chunks) {
        child.kill('SIGKILL');
        break;
      }
    }
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    assert.equal(signal, 'SIGKILL', `writer ended by itself (code ${code}): ${stderr}`);
  } finally {
    clearTimeout(deadline);
  }
  return reported;
}

test('a SIGKILLed writer loses nothing it had committed, and its lifetime total of accepted readings equals the readings committed', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'outbox.db');
  // Readings stamped around now, so that none of them is old enough to expire.
  const t0 = Date.now();
  const reported = await writeUntilKilled(path, t0, 30);
  assert.ok(reported.length >= 30);

  const outbox = openOutbox(t, { path, clock: new Clock({ log: silentLog }) });
  const held = outbox.pending(100_000, 'oldest');
  const byId = new Map(held.map((c) => [c.id, c]));
  for (const chunk of reported) assert.deepEqual(byId.get(chunk.id), chunk, `committed chunk ${chunk.first}..${chunk.last} survived`);
  // Contiguous from 0: nothing committed was half-written or skipped.
  let next = 0;
  for (const chunk of held) {
    assert.equal(chunk.first, next);
    next = chunk.last + 1;
  }
  const loaded = outbox.load(held.map((c) => c.id));
  assert.equal(loaded.readings, next);
  const expected = Array.from({ length: next }, (_, k) => ({ sensor: `s${k % 7}`, metric: 'heart_rate' as const, ts: t0 + 10 * k, value: k % 250 }));
  assert.deepEqual(flatten(loaded.series), flatten(expected.map((r) => ({ sensor: r.sensor, metric: r.metric, ts: [r.ts], values: [r.value] }))));
  assert.equal(outbox.stats().corruptRecoveries, 0);
  // Readings buffered at the kill were never committed: the total stored with the last flush leaves them out.
  assert.equal(outbox.stats().acceptedTotal, next);

  // The stream goes on where the killed process stopped.
  outbox.append({ sensor: 's0', metric: 'heart_rate', ts: t0, value: 1 });
  outbox.flush();
  assert.equal(outbox.stats().acceptedTotal, next + 1);
  assert.deepEqual(
    outbox.pending(1, 'newest').map((c) => [c.first, c.last]),
    [[next, next]],
  );
});
