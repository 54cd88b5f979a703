/**
 * The CSAFE driver's request schedule, without a port: what it writes, answered by hand under mock timers.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { CsafeCommand, ODOMETER_EVERY_POLLS, PmCommand } from '../../../../src/sources/serial/csafe/commands.ts';
import { CsafeFrameReader, encodeFrame } from '../../../../src/sources/serial/csafe/frame.ts';
import type { Measurement } from '../../../../src/sources/measurement.ts';
import { SERIAL_PROTOCOLS } from '../../../../src/sources/serial/protocols.ts';
import { serialSourceConfig } from '../../../../src/sources/serial/config.ts';

const POLL_MS = 100;

function session(t: TestContext, concept2: boolean) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const config = serialSourceConfig({ csafe: { pollIntervalMs: POLL_MS, responseTimeoutMs: 50, concept2 } });
  const driver = SERIAL_PROTOCOLS.csafe.createDriver(config);
  const requests: Uint8Array[] = [];
  const measurements: Measurement[] = [];
  const reader = new CsafeFrameReader();
  driver.open({
    log: pino({ level: 'silent' }),
    write: (bytes) => requests.push(...reader.push(bytes).map((frame) => frame.contents)),
    measurements: (m) => measurements.push(...m),
    rejected: () => undefined,
    identified: () => undefined,
    problem: () => undefined,
  });
  t.after(() => driver.close());
  const answer = (contents: number[]): void => driver.receive(encodeFrame(Uint8Array.from([0x85, ...contents])));
  return { requests, measurements, answer, tick: (ms: number) => t.mock.timers.tick(ms) };
}

const hasCommand = (request: Uint8Array | undefined, id: number): boolean => request !== undefined && request.includes(id);

test('CSAFE schedule: identify first, then the odometer with the first poll and every ODOMETER_EVERY_POLLS-th, GetTWork in every poll', (t) => {
  const { requests, measurements, answer, tick } = session(t, false);
  assert.deepEqual([...(requests[0] ?? [])], [CsafeCommand.getSerial]);
  answer([CsafeCommand.getSerial, 3, 0x34, 0x32, 0x31]);
  for (let poll = 0; poll <= ODOMETER_EVERY_POLLS; poll++) {
    tick(POLL_MS);
    answer([CsafeCommand.getTWork, 3, 0, 1, poll % 60, CsafeCommand.getOdometer, 5, 0x87, 0xd6, 0x12, 0x00, 0x24]);
  }
  const polls = requests.slice(1);
  assert.equal(polls.length, ODOMETER_EVERY_POLLS + 1);
  assert.ok(
    polls.every((request) => hasCommand(request, CsafeCommand.getTWork)),
    'work time in every poll',
  );
  assert.deepEqual(
    polls.flatMap((request, index) => (hasCommand(request, CsafeCommand.getOdometer) ? [index] : [])),
    [0, ODOMETER_EVERY_POLLS],
  );
  assert.equal(measurements.filter((m) => m.metric === 'elapsed_time').length, ODOMETER_EVERY_POLLS + 1);
  assert.deepEqual(
    measurements.find((m) => m.metric === 'odometer'),
    { metric: 'odometer', value: 1_234_567 },
  );
});

test('CSAFE schedule for a Concept2 PM: the PM work time replaces GetTWork, so each poll has one work time', (t) => {
  const { requests, answer, tick } = session(t, true);
  answer([CsafeCommand.getSerial, 3, 0x34, 0x32, 0x31]);
  tick(POLL_MS);
  const poll = requests.at(-1);
  assert.ok(poll);
  const wrapper = poll.indexOf(CsafeCommand.pmWrapper);
  // PM_GET_WORKTIME has GetTWork's id (0xA0), so only the standard commands before the wrapper count.
  assert.equal(hasCommand(poll.subarray(0, wrapper), CsafeCommand.getTWork), false);
  assert.deepEqual([...poll.subarray(wrapper, wrapper + 4)], [CsafeCommand.pmWrapper, 2, PmCommand.getDragFactor, PmCommand.getWorkTime]);
});
