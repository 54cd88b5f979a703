/**
 * Response values into catalogue metrics. One table for the standard commands and one for the Concept2 PM
 * proprietary ones, keyed by command id: supporting another polled value is a line in a table.
 * Multi-byte CSAFE values are little-endian.
 */
import type { Decoded, Measurement, SensorFacts } from '../../measurement.ts';
import { refused } from '../../measurement.ts';
import { CsafeCommand, CsafeUnit, PmCommand } from './commands.ts';
import { hex, parseResponse, type ResponseEntry } from './response.ts';

const METRES_PER_MILE = 1609.344;

/** What one entry adds to the result, or why its data is wrong. */
interface EntryValues {
  measurements?: Measurement[];
  facts?: SensorFacts;
}
type EntryDecoder = (data: Uint8Array) => EntryValues | string;

function expectLength(data: Uint8Array, length: number, what: string): string | undefined {
  return data.length === length ? undefined : `${what}: expected ${length} data bytes, got ${data.length}`;
}

const uint16 = (data: Uint8Array, offset: number): number => (data[offset] as number) | ((data[offset + 1] as number) << 8);
const uint32 = (data: Uint8Array, offset: number): number => uint16(data, offset) + uint16(data, offset + 2) * 0x10000;

/** uint16 value followed by a unit byte, the shape of most CSAFE GET answers. */
function valueWithUnit(what: string, convert: (value: number, unit: number) => Measurement[] | string): EntryDecoder {
  return (data) => {
    const wrong = expectLength(data, 3, what);
    if (wrong) return wrong;
    const unit = data[2] as number;
    const measurements = convert(uint16(data, 0), unit);
    return typeof measurements === 'string' ? `${what}: ${measurements}` : { measurements };
  };
}

const unknownUnit = (unit: number): string => `unsupported unit 0x${hex(unit)}`;

const asciiFact =
  (name: string, what: string): EntryDecoder =>
  (data) => {
    if (data.length === 0) return `${what}: no data`;
    for (const byte of data) if (byte < 0x20 || byte > 0x7e) return `${what}: byte 0x${hex(byte)} is not printable ASCII`;
    return { facts: { [name]: String.fromCharCode(...data) } };
  };

/** An answer the agent asked for but that carries no reading, e.g. GetStatus has no data at all. */
const noValue: EntryDecoder = () => ({});

export const STANDARD_DECODERS: ReadonlyMap<number, EntryDecoder> = new Map<number, EntryDecoder>([
  [CsafeCommand.getStatus, noValue],
  [CsafeCommand.getId, asciiFact('user_id', 'GetID')],
  [CsafeCommand.getSerial, asciiFact('serial_number', 'GetSerial')],
  [
    CsafeCommand.getHorizontal,
    valueWithUnit('GetHorizontal', (value, unit) => {
      if (unit === CsafeUnit.metre) return [{ metric: 'distance', value }];
      if (unit === CsafeUnit.kilometre) return [{ metric: 'distance', value: value * 1000 }];
      return unknownUnit(unit);
    }),
  ],
  [
    CsafeCommand.getPace,
    valueWithUnit('GetPace', (secondsPer, unit) => {
      const metres = unit === CsafeUnit.secondsPerKilometre ? 1000 : unit === CsafeUnit.secondsPerMile ? METRES_PER_MILE : undefined;
      if (metres === undefined) return unknownUnit(unit);
      // A pace of 0 is what the monitor shows while the flywheel stands still.
      return [{ metric: 'speed', value: secondsPer === 0 ? 0 : metres / secondsPer }];
    }),
  ],
  [CsafeCommand.getCadence, valueWithUnit('GetCadence', (value, unit) => (unit === CsafeUnit.strokesPerMinute ? [{ metric: 'stroke_rate', value }] : unknownUnit(unit)))],
  [CsafeCommand.getPower, valueWithUnit('GetPower', (value, unit) => (unit === CsafeUnit.watt ? [{ metric: 'power', value }] : unknownUnit(unit)))],
  [
    CsafeCommand.getOdometer,
    (data) => {
      const wrong = expectLength(data, 5, 'GetOdometer');
      if (wrong) return wrong;
      // uint32 distance then a unit byte (PYROW `csafe_dic.py`: resp[0x9B] = (4, 1)).
      const unit = data[4] as number;
      const value = uint32(data, 0);
      if (unit === CsafeUnit.metre) return { measurements: [{ metric: 'odometer', value }] };
      if (unit === CsafeUnit.kilometre) return { measurements: [{ metric: 'odometer', value: value * 1000 }] };
      return `GetOdometer: ${unknownUnit(unit)}`;
    },
  ],
  [
    CsafeCommand.getTWork,
    (data) => {
      const wrong = expectLength(data, 3, 'GetTWork');
      if (wrong) return wrong;
      const hours = data[0] as number;
      const minutes = data[1] as number;
      const seconds = data[2] as number;
      if (minutes > 59 || seconds > 59) return `GetTWork: ${hours}:${minutes}:${seconds} is not a time`;
      return { measurements: [{ metric: 'elapsed_time', value: hours * 3600 + minutes * 60 + seconds }] };
    },
  ],
  [CsafeCommand.getCalories, (data) => expectLength(data, 2, 'GetCalories') ?? { measurements: [{ metric: 'energy', value: uint16(data, 0) }] }],
  [
    CsafeCommand.getHeartRate,
    (data) => {
      const wrong = expectLength(data, 1, 'GetHRCur');
      if (wrong) return wrong;
      const bpm = data[0] as number;
      // 0 means no heart-rate receiver or no strap in range, not a heart that stopped.
      return bpm === 0 ? {} : { measurements: [{ metric: 'heart_rate', value: bpm }] };
    },
  ],
]);

export const PM_DECODERS: ReadonlyMap<number, EntryDecoder> = new Map<number, EntryDecoder>([
  [
    PmCommand.getWorkTime,
    (data) => {
      const wrong = expectLength(data, 5, 'PM_GET_WORKTIME');
      if (wrong) return wrong;
      // 0.01 s units plus a fraction byte in the same units (PYROW `pyrow.py`).
      return { measurements: [{ metric: 'elapsed_time', value: (uint32(data, 0) + (data[4] as number)) / 100 }] };
    },
  ],
  [
    PmCommand.getWorkDistance,
    (data) => {
      const wrong = expectLength(data, 5, 'PM_GET_WORKDISTANCE');
      if (wrong) return wrong;
      // 0.1 m units plus a fraction byte in the same units (PYROW `pyrow.py`).
      return { measurements: [{ metric: 'distance', value: (uint32(data, 0) + (data[4] as number)) / 10 }] };
    },
  ],
  [PmCommand.getWorkoutType, (data) => expectLength(data, 1, 'PM_GET_WORKOUTTYPE') ?? { facts: { workout_type: data[0] as number } }],
  [PmCommand.getDragFactor, (data) => expectLength(data, 1, 'PM_GET_DRAGFACTOR') ?? { facts: { drag_factor: data[0] as number } }],
]);

/**
 * A CSAFE response frame's contents into measurements. Facts carry the machine state so the driver can
 * tell a paused or finished workout apart; a rejected or bad previous frame is refused so the driver
 * resends instead of trusting stale values. Answers to commands without a decoder are ignored: the driver
 * chose to send them (GetVersion, for instance, carries no metric).
 */
export function decodeCsafeResponse(contents: Uint8Array): Decoded {
  const parsed = parseResponse(contents);
  if (!parsed.ok) return refused(parsed.reason);
  const { status, entries, pmEntries } = parsed.response;
  if (status.previousFrame !== 'ok') return refused(`machine reports previous frame ${status.previousFrame} (state ${status.state})`);
  const measurements: Measurement[] = [];
  const facts: SensorFacts = { machine_state: status.state };
  const apply = (table: ReadonlyMap<number, EntryDecoder>, entry: ResponseEntry): string | undefined => {
    const decoder = table.get(entry.id);
    if (!decoder) return undefined;
    const values = decoder(entry.data);
    if (typeof values === 'string') return values;
    if (values.measurements) measurements.push(...values.measurements);
    if (values.facts) Object.assign(facts, values.facts);
    return undefined;
  };
  for (const entry of entries) {
    const problem = apply(STANDARD_DECODERS, entry);
    if (problem) return refused(problem);
  }
  for (const entry of pmEntries) {
    const problem = apply(PM_DECODERS, entry);
    if (problem) return refused(problem);
  }
  return { ok: true, measurements, facts };
}
