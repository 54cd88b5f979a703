/**
 * A Concept2-like CSAFE machine on a serial port: answers GetSerial and the workout poll with values that
 * move every poll and are chosen to need byte stuffing (pace 240-243 s/km and power 240-243 W are F0..F3;
 * distance crosses 0x01F0; calories start at 0x01F1), and on one poll picks the power so that the response
 * checksum itself must be stuffed. It also answers GetTWork, GetOdometer (lifetime 1 234 567 m) and the PM's
 * own work time, 60 s plus half a second per poll. Flags make chosen polls misbehave:
 *   --nak-poll N      answer poll N with status "previous frame rejected" and no data
 *   --silent-poll N   do not answer poll N (the master must time out)
 *   --corrupt-poll N  answer poll N with a wrong checksum
 *   --stuff-checksum-poll N   (default 2) the poll whose response checksum needs stuffing
 * N may be a comma-separated list. Every response is reported on stdout as JSON.
 *
 * Usage: node --import tsx edge-agent/test/devices/csafe-machine.ts --port <path> [--serial 431234567]
 */
import { CsafeCommand, CsafeUnit, PmCommand } from '../../src/sources/serial/csafe/commands.ts';
import { CsafeFrameReader, STUFF_FLAG, checksum, encodeFrame } from '../../src/sources/serial/csafe/frame.ts';
import { flags, numberFlag, openDevicePort, report } from './device-port.ts';

const values = flags({
  serial: { type: 'string' },
  'nak-poll': { type: 'string' },
  'silent-poll': { type: 'string' },
  'corrupt-poll': { type: 'string' },
  'stuff-checksum-poll': { type: 'string' },
  'baud-rate': { type: 'string' },
});
const pollSet = (name: string, fallback = ''): Set<number> =>
  new Set(
    String(values[name] ?? fallback)
      .split(',')
      .filter(Boolean)
      .map(Number),
  );
const nakPolls = pollSet('nak-poll');
const silentPolls = pollSet('silent-poll');
const corruptPolls = pollSet('corrupt-poll');
const stuffChecksumPolls = pollSet('stuff-checksum-poll', '2');
const serial = String(values['serial'] ?? '431234567');
const STATE_IN_USE = 5;
const DRAG_FACTOR = 118;

const port = await openDevicePort(String(values['port']), numberFlag(values, 'baud-rate', 9600));
const reader = new CsafeFrameReader();
let toggle = 0;
let polls = 0;

/** Command ids of a request: short ids alone, long ones with their data skipped; 0x1A unwrapped. */
function commandIds(contents: Uint8Array): { standard: number[]; pm: number[] } {
  const standard: number[] = [];
  const pm: number[] = [];
  for (let i = 0; i < contents.length;) {
    const id = contents[i] as number;
    if (id >= 0x80) {
      standard.push(id);
      i++;
      continue;
    }
    const count = contents[i + 1] ?? 0;
    if (id === CsafeCommand.pmWrapper) pm.push(...contents.subarray(i + 2, i + 2 + count));
    else standard.push(id);
    i += 2 + count;
  }
  return { standard, pm };
}

interface Workout {
  distance: number;
  paceSecondsPerKm: number;
  cadence: number;
  power: number;
  heartRate: number;
  calories: number;
  /** Work time in hundredths of a second, as the PM counts it. */
  workTimeCentis: number;
}

const ODOMETER_M = 1_234_567;

function workoutAt(poll: number): Workout {
  return {
    distance: 490 + 2 * poll,
    paceSecondsPerKm: 240 + (poll % 4),
    cadence: 24 + (poll % 3),
    power: 240 + (poll % 4),
    heartRate: 140 + (poll % 10),
    calories: 0x01f1 + poll,
    workTimeCentis: 6_000 + 50 * poll,
  };
}

const le16 = (value: number): number[] => [value & 0xff, value >> 8];
const le32 = (value: number): number[] => [...le16(value & 0xffff), ...le16(value >>> 16)];
const hms = (seconds: number): number[] => [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];

function responseContents(ids: { standard: number[]; pm: number[] }, workout: Workout, status: number): Uint8Array {
  const out: number[] = [status];
  for (const id of ids.standard) {
    const data: number[] | undefined = {
      [CsafeCommand.getStatus]: [],
      [CsafeCommand.getSerial]: [...Buffer.from(serial, 'ascii')],
      [CsafeCommand.getHorizontal]: [...le16(workout.distance), CsafeUnit.metre],
      [CsafeCommand.getPace]: [...le16(workout.paceSecondsPerKm), CsafeUnit.secondsPerKilometre],
      [CsafeCommand.getCadence]: [...le16(workout.cadence), CsafeUnit.strokesPerMinute],
      [CsafeCommand.getPower]: [...le16(workout.power), CsafeUnit.watt],
      [CsafeCommand.getHeartRate]: [workout.heartRate],
      [CsafeCommand.getCalories]: le16(workout.calories),
      [CsafeCommand.getTWork]: hms(Math.floor(workout.workTimeCentis / 100)),
      [CsafeCommand.getOdometer]: [...le32(ODOMETER_M), CsafeUnit.metre],
    }[id];
    if (data) out.push(id, data.length, ...data);
  }
  if (ids.pm.length > 0) {
    const nested: number[] = [];
    for (const id of ids.pm) {
      if (id === PmCommand.getDragFactor) nested.push(id, 1, DRAG_FACTOR);
      // 0.01 s units as uint32 and a fraction byte (always 0 here).
      if (id === PmCommand.getWorkTime) nested.push(id, 5, ...le32(workout.workTimeCentis), 0);
    }
    out.push(CsafeCommand.pmWrapper, nested.length, ...nested);
  }
  return Uint8Array.from(out);
}

const isFlag = (byte: number): boolean => byte >= 0xf0 && byte <= STUFF_FLAG;

function answer(contents: Uint8Array): void {
  const ids = commandIds(contents);
  const isPoll = ids.standard.includes(CsafeCommand.getHorizontal);
  if (!isPoll) {
    toggle ^= 1;
    port.write(encodeFrame(responseContents(ids, workoutAt(0), (toggle << 7) | STATE_IN_USE)));
    report({ event: 'response', kind: 'identify', serial });
    return;
  }
  const poll = ++polls;
  if (silentPolls.has(poll)) return report({ event: 'silent', poll });
  toggle ^= 1;
  const status = (toggle << 7) | STATE_IN_USE;
  if (nakPolls.has(poll)) {
    port.write(encodeFrame(Uint8Array.of(status | (1 << 4))));
    return report({ event: 'nak', poll });
  }
  let workout = workoutAt(poll);
  let body = responseContents(ids, workout, status);
  if (stuffChecksumPolls.has(poll)) {
    for (let power = 150; power < 406 && !isFlag(checksum(body)); power++) {
      workout = { ...workout, power };
      body = responseContents(ids, workout, status);
    }
  }
  const frame = encodeFrame(body);
  if (corruptPolls.has(poll)) {
    // Flipping bit 0 keeps a plain byte out of the flag range and a stuffed 00..03 inside it: only the checksum is wrong.
    const wire = [...frame];
    const at = wire.length - 2;
    wire[at] = (wire[at] as number) ^ 0x01;
    port.write(Uint8Array.from(wire));
    return report({ event: 'corrupt', poll });
  }
  port.write(frame);
  const stuffedBytes = frame.slice(1, -1).filter((b) => b === STUFF_FLAG).length;
  report({
    event: 'response',
    kind: 'poll',
    poll,
    checksumStuffed: isFlag(checksum(body)),
    stuffedBytes,
    values: {
      distance: workout.distance,
      speed: 1000 / workout.paceSecondsPerKm,
      stroke_rate: workout.cadence,
      power: workout.power,
      heart_rate: workout.heartRate,
      energy: workout.calories,
      ...(ids.pm.includes(PmCommand.getWorkTime) ? { elapsed_time: workout.workTimeCentis / 100 } : {}),
      ...(ids.standard.includes(CsafeCommand.getTWork) ? { elapsed_time: Math.floor(workout.workTimeCentis / 100) } : {}),
      ...(ids.standard.includes(CsafeCommand.getOdometer) ? { odometer: ODOMETER_M } : {}),
    },
  });
}

port.on('data', (chunk: Buffer) => {
  for (const frame of reader.push(chunk)) answer(frame.contents);
});
report({ event: 'ready', serial });
