/** The boot id where the kernel gives none: kept in a file, reused within the boot, new at the next. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BootId } from '@pulsebridge/protocol';
import { Value } from '@sinclair/typebox/value';
import { BootIdentity, type BootIdOptions } from '../../src/clock/boot-id.ts';
import { Clock } from '../../src/clock/clock.ts';
import { ManualTime, T0, silentLog, tempDir } from '../outbox/fixtures.ts';

const noKernelId = (): undefined => undefined;

function identity(time: ManualTime, file: string | undefined, over: Partial<BootIdOptions> = {}): BootIdentity {
  return new BootIdentity({ log: silentLog, wall: () => time.wall, mono: () => time.mono, toleranceMs: 1_000, file, readKernelBootId: noKernelId, ...over });
}

test("the kernel's boot id is used as it is, and nothing is written", (t) => {
  const file = join(tempDir(t), 'boot-id.json');
  const id = identity(new ManualTime(), file, { readKernelBootId: () => '9d72e910-2c48-435b-8c5a-67cd62817fc1' });
  assert.equal(id.id, '9d72e910-2c48-435b-8c5a-67cd62817fc1');
  assert.equal(id.generated, false);
  assert.throws(() => readFileSync(file), /ENOENT/);
});

test('without a kernel boot id, an agent restarted within the boot keeps its generated id', (t) => {
  const file = join(tempDir(t), 'boot-id.json');
  const time = new ManualTime(T0, 20_000);
  const first = identity(time, file);
  assert.equal(first.generated, true);
  assert.ok(Value.Check(BootId, first.id), `${first.id} is a protocol BootId`);
  time.advance(60_000);
  assert.equal(identity(time, file).id, first.id);
  // The wall clock drifted a little relative to monotonic time: still the same boot.
  time.advance(60_000);
  time.setWall(time.wall + 300);
  assert.equal(identity(time, file).id, first.id);
});

test('without a kernel boot id, a new boot (monotonic time below the recorded one) gets a new id', (t) => {
  const file = join(tempDir(t), 'boot-id.json');
  const before = new ManualTime(T0, 3_600_000);
  const first = identity(before, file);
  // Rebooted: monotonic time starts again near 0, and this box's wall clock came back at the same offset.
  const after = new ManualTime(T0 - 3_600_000 + 10_000, 10_000);
  assert.equal(after.wall - after.mono, before.wall - before.mono, 'only monotonic time tells the boots apart');
  const second = identity(after, file);
  assert.notEqual(second.id, first.id);
  assert.ok(Value.Check(BootId, second.id));
});

test('without a kernel boot id, a wall clock set while the agent was stopped starts a new id rather than risk a wrong correction', (t) => {
  const file = join(tempDir(t), 'boot-id.json');
  const time = new ManualTime(T0 - 3 * 3_600_000, 20_000);
  const first = identity(time, file);
  time.advance(60_000);
  time.setWall(T0 + 60_000);
  assert.notEqual(identity(time, file).id, first.id);
});

test('a restart after a reboot is told apart even when it starts later after boot than the previous run did', (t) => {
  const file = join(tempDir(t), 'boot-id.json');
  const time = new ManualTime(0, 5_000);
  const clock = new Clock({ log: silentLog, wall: () => time.wall, mono: () => time.mono, bootIdFile: file, readKernelBootId: noKernelId });
  const firstBoot = clock.bootId;
  clock.start();
  time.advance(3_600_000);
  clock.stop();
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).mono, 3_605_000, 'the stop noted how long the boot had run');

  // A box that starts at 1970 every boot: wall − monotonic is the same; the agent starts 60 s after boot.
  const next = new ManualTime(55_000, 60_000);
  assert.equal(next.wall - next.mono, time.wall - time.mono);
  const restarted = new Clock({ log: silentLog, wall: () => next.wall, mono: () => next.mono, bootIdFile: file, readKernelBootId: noKernelId });
  assert.notEqual(restarted.bootId, firstBoot);

  next.advance(1_000);
  const again = new Clock({ log: silentLog, wall: () => next.wall, mono: () => next.mono, bootIdFile: file, readKernelBootId: noKernelId });
  assert.equal(again.bootId, restarted.bootId, 'and is kept within the new boot');
});

test('a damaged or foreign boot-id file is ignored and replaced; a kernel id outside the BootId alphabet is not used', (t) => {
  const file = join(tempDir(t), 'boot-id.json');
  const time = new ManualTime(T0, 20_000);
  for (const content of ['{"id":"ok","mo', '[]', '{"id":"has space","mono":1,"wallMinusMono":0}', '{"id":"x","mono":"1","wallMinusMono":0}']) {
    writeFileSync(file, content);
    const id = identity(time, file);
    assert.ok(Value.Check(BootId, id.id));
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).id, id.id, `rewritten after ${content}`);
  }
  assert.equal(identity(time, file, { readKernelBootId: () => 'not/a boot id' }).generated, true);
});

test('a boot-id file that cannot be written still gives an id for this process', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'not-a-dir'), '');
  const id = identity(new ManualTime(), join(dir, 'not-a-dir', 'boot-id.json'));
  assert.ok(Value.Check(BootId, id.id));
});
