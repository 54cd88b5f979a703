import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Reading } from '@pulsebridge/protocol';
import { haversineM } from '../../../../src/sources/gps/local-frame.ts';
import { RecordingSink, serialRig, waitUntil } from './harness.ts';
import { SOCAT_MISSING } from '../../../devices/simulator-process.ts';
import { missingService } from '../../../../../test/services.ts';

const skip = missingService(SOCAT_MISSING);

function pathLength(readings: readonly Reading[], sensor: string): { points: number; metres: number } {
  const latitudes = readings.filter((r) => r.sensor === sensor && r.metric === 'latitude');
  const longitudes = readings.filter((r) => r.sensor === sensor && r.metric === 'longitude');
  assert.equal(latitudes.length, longitudes.length, `${sensor}: one longitude per latitude`);
  let metres = 0;
  for (let i = 1; i < latitudes.length; i++) {
    metres += haversineM(latitudes[i - 1]!.value, longitudes[i - 1]!.value, latitudes[i]!.value, longitudes[i]!.value);
  }
  return { points: latitudes.length, metres };
}

test('GPS track over a pty: raw fixes keep the outliers, the corrected track is within 2 % of the true length', { skip, timeout: 60_000 }, async (t) => {
  const rig = serialRig(t);
  await rig.pty.plug();
  const source = rig.source({ ports: [{ path: rig.pty.devicePath, protocol: 'nmea', name: 'Coach GPS' }] });
  const sink = new RecordingSink();
  await source.start(sink);
  const receiver = rig.device('gps-receiver.ts', [
    '--laps',
    '2',
    '--speedup',
    '40',
    '--outliers',
    '30,90,170',
    '--dropout-start',
    '130',
    '--dropout-seconds',
    '8',
    '--garbage-at',
    '50',
  ]);
  await receiver.ready();
  await waitUntil(() => receiver.of('done').length > 0, 30_000, 'the receiver to finish the track');
  const start = receiver.of('start')[0] as unknown as { sentFixes: number; trueLengthM: number; outliers: number[] };
  const sensor = source.ports()[0]?.sensorId as string;
  assert.match(sensor, /^gps:nmea:[A-Za-z0-9:._-]+$/);
  await waitUntil(() => sink.values(sensor, 'latitude').length >= start.sentFixes, 2_000, 'every fix decoded');
  // The last corrected positions wait for the smoother's look-ahead, then go out when fixes stop.
  await waitUntil(() => source.ports()[0]?.driver['correctedPending'] === 0, 5_000, 'the pending corrected positions to be flushed');

  const raw = pathLength(sink.readings, sensor);
  const corrected = pathLength(sink.readings, `${sensor}~corrected`);
  t.diagnostic(
    `true ${start.trueLengthM.toFixed(1)} m, raw ${raw.metres.toFixed(1)} m (${raw.points} fixes), corrected ${corrected.metres.toFixed(1)} m (${corrected.points} points)`,
  );

  // GGA and RMC of one fix give one position, not two.
  assert.equal(raw.points, start.sentFixes);
  for (const metric of ['altitude', 'gps_speed', 'heading']) assert.equal(sink.values(sensor, metric).length, start.sentFixes, metric);
  assert.ok(Math.abs(corrected.metres - start.trueLengthM) / start.trueLengthM < 0.02, `corrected ${corrected.metres} vs true ${start.trueLengthM}`);
  assert.ok(raw.metres > start.trueLengthM * 1.2, `raw ${raw.metres} should show the outliers against true ${start.trueLengthM}`);
  assert.ok(corrected.points <= start.sentFixes - start.outliers.length, 'the outliers have no corrected position');
  assert.ok(corrected.points >= start.sentFixes - start.outliers.length - 3, 'only outliers are dropped from the corrected track');

  const ids = sink.inventories.at(-1)?.map((s) => s.id);
  assert.deepEqual(ids, [sensor, `${sensor}~corrected`]);
  assert.equal(source.health().rejected, 2, 'the bad checksum sentence and the line of noise');
  assert.equal(source.health().sensors, 2);
  assert.deepEqual(sink.duplicates(), []);
});
