import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecordingSink, serialRig, waitUntil } from './harness.ts';
import { SOCAT_MISSING } from '../../../devices/simulator-process.ts';
import { missingService } from '../../../../../test/services.ts';

const METRICS = ['distance', 'speed', 'stroke_rate', 'power', 'heart_rate', 'energy', 'elapsed_time'] as const;

test(
  'CSAFE polling session over a pty: stuffed frames (checksum too) decode to the values sent, work time every poll and the odometer on some; NAK, timeout and a bad checksum are counted and the session goes on',
  { skip: missingService(SOCAT_MISSING), timeout: 30_000 },
  async (t) => {
    const rig = serialRig(t);
    await rig.pty.plug();
    const machine = rig.device('csafe-machine.ts', ['--serial', '431234567', '--nak-poll', '4', '--silent-poll', '6', '--corrupt-poll', '8', '--stuff-checksum-poll', '2']);
    await machine.ready();
    const source = rig.source({ ports: [{ path: rig.pty.devicePath, protocol: 'csafe', name: 'Rower 3' }], csafe: { pollIntervalMs: 60, responseTimeoutMs: 250, concept2: true } });
    const sink = new RecordingSink();
    await source.start(sink);

    await waitUntil(() => machine.of('response').filter((e) => e.kind === 'poll' && (e['poll'] as number) >= 14).length > 0, 15_000, 'poll 14 answered');
    await waitUntil(
      () => sink.values('serial:csafe:431234567', 'energy').length === machine.of('response').filter((e) => e.kind === 'poll').length,
      2_000,
      'the last response decoded',
    );

    const sensor = 'serial:csafe:431234567';
    const inventory = sink.inventories.at(-1);
    assert.deepEqual(
      inventory?.map((s) => [s.id, s.kind, s.source, s.name]),
      [[sensor, 'rower', 'serial', 'Rower 3']],
    );

    const responses = machine.of('response').filter((e) => e.kind === 'poll') as unknown as Array<{
      poll: number;
      checksumStuffed: boolean;
      stuffedBytes: number;
      values: Record<string, number>;
    }>;
    assert.ok(
      responses.some((r) => r.checksumStuffed),
      'a response whose checksum needed stuffing was sent',
    );
    assert.ok(
      responses.every((r) => r.stuffedBytes > 0),
      'every response carried stuffed bytes',
    );
    for (const metric of METRICS) {
      const expected = responses.map((r) => r.values[metric] as number);
      const got = sink.values(sensor, metric);
      if (metric === 'speed') {
        assert.equal(got.length, expected.length);
        got.forEach((v, i) => assert.ok(Math.abs(v - (expected[i] as number)) < 1e-9, `speed ${v} vs ${expected[i]}`));
      } else assert.deepEqual(got, expected, metric);
    }
    const odometerPolls = responses.filter((r) => r.values['odometer'] !== undefined);
    assert.ok(odometerPolls.length >= 1 && odometerPolls.length < responses.length, 'the odometer rides along with some polls, not all');
    assert.deepEqual(
      sink.values(sensor, 'odometer'),
      odometerPolls.map(() => 1_234_567),
    );
    assert.deepEqual(
      responses.map((r) => r.poll).filter((p) => [4, 6, 8].includes(p)),
      [],
      'misbehaving polls gave no values',
    );
    assert.ok(
      responses.some((r) => r.poll > 8),
      'polls after the failures were answered and decoded',
    );

    const [status] = source.ports();
    assert.equal(status?.driver['timeouts'], 1);
    assert.equal(status?.driver['refusedResponses'], 1);
    assert.equal(status?.driver['droppedFrames'], 1);
    const health = source.health();
    assert.equal(health.rejected, 2, 'the NAK and the bad checksum');
    assert.equal(health.state, 'running');
    assert.equal(health.sensors, 1);
    assert.equal(health.readings, sink.readings.length);
    assert.deepEqual(sink.duplicates(), []);
  },
);
