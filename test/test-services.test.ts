/**
 * scripts/test-services.sh takes the daemons it installs out of the boot sequence. Checked on a directory laid
 * out like / (PB_TEST_SERVICES_SYSROOT) with the links Debian's packages leave, so the machine is not touched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../scripts/test-services.sh', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'pb-sysroot-'));
after(() => rmSync(root, { recursive: true, force: true }));

function link(path: string, target: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  symlinkSync(target, join(root, path));
}

/** What `apt-get install influxdb mosquitto postgresql` leaves on Debian 12, beside links of other services. */
function debianAfterInstall(): void {
  for (const service of ['influxdb', 'mosquitto', 'postgresql', 'e2scrub_reap']) {
    link(`etc/systemd/system/multi-user.target.wants/${service}.service`, `/lib/systemd/system/${service}.service`);
  }
  link('etc/systemd/system/influxd.service', '/lib/systemd/system/influxdb.service');
  for (const service of ['influxdb', 'mosquitto', 'postgresql', 'dbus']) {
    for (const level of [2, 3, 4, 5]) link(`etc/rc${level}.d/S01${service}`, `../init.d/${service}`);
    for (const level of [0, 1, 6]) link(`etc/rc${level}.d/K01${service}`, `../init.d/${service}`);
  }
}

function script(...args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync('bash', [SCRIPT, ...args], { env: { ...process.env, PB_TEST_SERVICES_SYSROOT: root }, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stderr: result.stderr };
}

/** lstat: the links point into the real /lib, which the fake root does not have. */
function present(path: string): boolean {
  try {
    lstatSync(join(root, path));
    return true;
  } catch {
    return false;
  }
}

test('boot-check names every test-service daemon enabled at boot; disable-at-boot removes their start links and nothing else', () => {
  debianAfterInstall();
  const before = script('boot-check');
  assert.equal(before.status, 1, before.stderr);
  for (const daemon of ['influxdb', 'mosquitto', 'postgresql'])
    assert.match(before.stderr, new RegExp(`${daemon} is enabled at boot: .*multi-user\\.target\\.wants/${daemon}\\.service .*rc2\\.d/S01${daemon}`));

  const disabled = script('disable-at-boot', 'influxdb', 'mosquitto', 'postgresql');
  assert.equal(disabled.status, 0, disabled.stderr);
  const after = script('boot-check');
  assert.equal(after.status, 0, after.stderr);
  assert.equal(after.stderr, '');

  for (const daemon of ['influxdb', 'mosquitto', 'postgresql']) {
    assert.ok(!present(`etc/systemd/system/multi-user.target.wants/${daemon}.service`), daemon);
    for (const level of [2, 3, 4, 5]) assert.ok(!present(`etc/rc${level}.d/S01${daemon}`), `${daemon} rc${level}`);
    assert.ok(present(`etc/rc0.d/K01${daemon}`), 'stop links stay');
  }
  assert.ok(present('etc/systemd/system/multi-user.target.wants/e2scrub_reap.service'), 'other services stay enabled');
  assert.ok(present('etc/rc2.d/S01dbus'), 'other services stay enabled');
});

test('after an install, only the daemons that install added are taken out of the boot sequence', () => {
  // mosquitto and postgresql are installed now; postgresql was before, as the machine's own.
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'dpkg-query'), '#!/bin/sh\ncase "$3" in mosquitto|postgresql) echo installed ;; esac\n');
  chmodSync(join(bin, 'dpkg-query'), 0o755);
  for (const daemon of ['mosquitto', 'postgresql']) {
    link(`etc/systemd/system/multi-user.target.wants/${daemon}.service`, `/lib/systemd/system/${daemon}.service`);
    link(`etc/rc3.d/S01${daemon}`, `../init.d/${daemon}`);
  }
  const result = spawnSync('bash', ['-c', `source "$1" && keep_out_of_boot postgresql`, 'bash', SCRIPT], {
    env: { ...process.env, PB_TEST_SERVICES_SYSROOT: root, PATH: `${bin}:${process.env['PATH']}` },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /mosquitto: taken out of the boot sequence/);
  assert.ok(!present('etc/systemd/system/multi-user.target.wants/mosquitto.service') && !present('etc/rc3.d/S01mosquitto'));
  assert.ok(present('etc/systemd/system/multi-user.target.wants/postgresql.service') && present('etc/rc3.d/S01postgresql'), "the machine's own stays as it was");
});
