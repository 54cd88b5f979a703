/**
 * CSAFE commands the agent sends, and their encoding into frame contents. Ids follow PYROW `csafe_dic.py`.
 * Short commands (id >= 0x80) carry no data; long commands (id < 0x80) carry `id, byte count, data`.
 * Concept2 PM proprietary commands travel inside the 0x1A wrapper (`CSAFE_SETUSERCFG1_CMD`).
 */
import { CsafeEncodeError, encodeFrame } from './frame.ts';

export const CsafeCommand = {
  getStatus: 0x80,
  reset: 0x81,
  goIdle: 0x82,
  goReady: 0x87,
  getVersion: 0x91,
  getId: 0x92,
  getSerial: 0x94,
  getOdometer: 0x9b,
  getTWork: 0xa0,
  getHorizontal: 0xa1,
  getCalories: 0xa3,
  getPace: 0xa6,
  getCadence: 0xa7,
  getHeartRate: 0xb0,
  getPower: 0xb4,
  setTWork: 0x20,
  setHorizontal: 0x21,
  /** Concept2 PM proprietary wrapper. */
  pmWrapper: 0x1a,
} as const;

/** Concept2 PM commands, valid only inside the 0x1A wrapper. */
export const PmCommand = {
  getWorkTime: 0xa0,
  getWorkDistance: 0xa3,
  getWorkoutType: 0x89,
  getStrokeState: 0xbf,
  getDragFactor: 0xc1,
} as const;

/** Unit specifiers (CSAFE-D `enumtypes.dart`). */
export const CsafeUnit = {
  kilometre: 0x21,
  metre: 0x24,
  secondsPerKilometre: 0x39,
  secondsPerMile: 0x3a,
  strokesPerMinute: 0x54,
  beatsPerMinute: 0x55,
  watt: 0x58,
} as const;

export type CommandBytes = number[];

function checkByte(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new CsafeEncodeError('invalid_argument', `${what} ${value} is not a byte`);
}

export function shortCommand(id: number): CommandBytes {
  checkByte(id, 'command id');
  if (id < 0x80) throw new CsafeEncodeError('invalid_argument', `command 0x${id.toString(16)} is a long command: it needs data`);
  return [id];
}

export function longCommand(id: number, data: readonly number[]): CommandBytes {
  checkByte(id, 'command id');
  if (id >= 0x80) throw new CsafeEncodeError('invalid_argument', `command 0x${id.toString(16)} is a short command: it takes no data`);
  if (data.length > 0xff) throw new CsafeEncodeError('invalid_argument', `command 0x${id.toString(16)} carries ${data.length} bytes, more than 255`);
  data.forEach((byte) => checkByte(byte, 'data byte'));
  return [id, data.length, ...data];
}

/** Wraps PM proprietary commands (each already encoded) in 0x1A. */
export function pmCommands(...commands: CommandBytes[]): CommandBytes {
  return longCommand(CsafeCommand.pmWrapper, commands.flat());
}

export function setHorizontal(distance: number, unit: number = CsafeUnit.metre): CommandBytes {
  if (!Number.isInteger(distance) || distance < 0 || distance > 0xffff) throw new CsafeEncodeError('invalid_argument', `distance ${distance} does not fit uint16`);
  return longCommand(CsafeCommand.setHorizontal, [distance & 0xff, distance >> 8, unit]);
}

export function setTWork(hours: number, minutes: number, seconds: number): CommandBytes {
  if (minutes > 59 || seconds > 59) throw new CsafeEncodeError('invalid_argument', `work time ${hours}:${minutes}:${seconds} is not a time`);
  return longCommand(CsafeCommand.setTWork, [hours, minutes, seconds]);
}

/** One frame carrying several commands (the PM answers all of them in one response). */
export function encodeCommands(...commands: CommandBytes[]): Uint8Array {
  return encodeFrame(Uint8Array.from(commands.flat()));
}

/** What the agent polls while a workout runs: one frame, one response. */
export const WORKOUT_POLL: readonly CommandBytes[] = [
  shortCommand(CsafeCommand.getStatus),
  shortCommand(CsafeCommand.getHorizontal),
  shortCommand(CsafeCommand.getPace),
  shortCommand(CsafeCommand.getCadence),
  shortCommand(CsafeCommand.getPower),
  shortCommand(CsafeCommand.getHeartRate),
  shortCommand(CsafeCommand.getCalories),
];

/** Work time of a standard machine (h:m:s); a Concept2 PM is asked for its own, finer one instead. */
export const WORK_TIME_POLL: CommandBytes = shortCommand(CsafeCommand.getTWork);

/** The machine's lifetime distance: it changes slowly, so it rides along with one poll in ODOMETER_EVERY_POLLS. */
export const ODOMETER_POLL: CommandBytes = shortCommand(CsafeCommand.getOdometer);
export const ODOMETER_EVERY_POLLS = 60;
