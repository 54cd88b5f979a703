import { FitBaseType, FitEncoder, type FitEncoderField } from 'fit-file-parser/encoder';
import { FitMessageReaderError, readFitMessages, type FitRawField, type FitRawMessage } from 'fit-file-parser/raw';
import { checkSampleCount, WorkoutFileError, withoutUndefined, type Workout, type WorkoutFileLimits, type WorkoutSample, type WorkoutSport } from './workout.js';

/** Global message numbers and field numbers from the FIT profile (Profile.xlsx, "Messages"). */
const MESSAGE = { fileId: 0, sport: 12, session: 18, lap: 19, record: 20, event: 21, activity: 34 } as const;
const TIMESTAMP = 253;
const RECORD = {
  lat: 0,
  lon: 1,
  altitude: 2,
  heartrate: 3,
  cadence: 4,
  distance: 5,
  speed: 6,
  power: 7,
  enhancedSpeed: 73,
  enhancedAltitude: 78,
} as const;
/** FIT `event` and `event_type` enums. */
const EVENT = { timer: 0, session: 8, lap: 9, activity: 26 } as const;
const EVENT_TYPE = { start: 0, stop: 1, stopAll: 4 } as const;
const FIT_SPORTS: Record<WorkoutSport, number> = {
  generic: 0,
  running: 1,
  cycling: 2,
  swimming: 5,
  training: 10,
  walking: 11,
  rowing: 15,
};
/** Garmin's "development" manufacturer id, the one the FIT SDK tells non-device producers to use. */
const MANUFACTURER_DEVELOPMENT = 255;
const FILE_TYPE_ACTIVITY = 4;
/** Protocol 1.0: no developer fields or 64-bit types needed, and every reader accepts it. */
const FIT_PROTOCOL_1_0 = 0x10;

const SEMICIRCLES_PER_DEGREE = 2 ** 31 / 180;
const ALTITUDE_SCALE = 5;
const ALTITUDE_OFFSET = 500;
const SPEED_SCALE = 1000;
const DISTANCE_SCALE = 100;
/** Seconds between the Unix epoch and the FIT epoch (1989-12-31T00:00:00Z). */
const FIT_EPOCH_S = 631_065_600;

const fitSeconds = (ms: number): number => Math.round(ms / 1000) - FIT_EPOCH_S;

/** A field when the scaled value fits its FIT type (the type's invalid value excluded), else nothing. */
function field(number: number, baseType: FitBaseType, value: number | undefined): FitEncoderField[] {
  if (value === undefined || !Number.isFinite(value)) return [];
  const raw = Math.round(value);
  const [size, min, max] = FIELD_RANGES[baseType as keyof typeof FIELD_RANGES];
  return raw >= min && raw <= max ? [{ number, size, baseType, value: raw }] : [];
}

const FIELD_RANGES = {
  [FitBaseType.Enum]: [1, 0, 0xfe],
  [FitBaseType.Uint8]: [1, 0, 0xfe],
  [FitBaseType.Uint16]: [2, 0, 0xfffe],
  [FitBaseType.Uint32]: [4, 0, 0xfffffffe],
  [FitBaseType.Sint32]: [4, -0x7fffffff, 0x7fffffff],
} as const;

/** A FIT activity file: file_id, a timer start, one record per sample, one lap, one session, the activity. */
export function exportFit(workout: Workout): Uint8Array {
  // The header byte is major << 4 | minor; the encoder's default (2) would read as 0.2.
  const encoder = new FitEncoder({ protocolVersion: FIT_PROTOCOL_1_0 });
  const start = fitSeconds(workout.startTime);
  const lastT = workout.samples.at(-1)?.t ?? 0;
  const end = fitSeconds(workout.startTime + lastT);
  const elapsedMs = (end - start) * 1000;
  const distances = workout.samples.flatMap((sample) => (sample.distance !== undefined ? [sample.distance] : []));
  const totalDistance = distances.length > 0 ? Math.max(...distances) * DISTANCE_SCALE : undefined;
  const U = FitBaseType;

  encoder.writeMessage(MESSAGE.fileId, [
    ...field(0, U.Enum, FILE_TYPE_ACTIVITY),
    ...field(1, U.Uint16, MANUFACTURER_DEVELOPMENT),
    ...field(2, U.Uint16, 0),
    ...field(4, U.Uint32, start),
  ]);
  encoder.writeMessage(MESSAGE.event, [...field(TIMESTAMP, U.Uint32, start), ...field(0, U.Enum, EVENT.timer), ...field(1, U.Enum, EVENT_TYPE.start)]);
  for (const sample of workout.samples) {
    const hasPosition = sample.lat !== undefined && sample.lon !== undefined;
    encoder.writeMessage(
      MESSAGE.record,
      [
        ...field(TIMESTAMP, U.Uint32, fitSeconds(workout.startTime + sample.t)),
        ...(hasPosition ? field(RECORD.lat, U.Sint32, sample.lat! * SEMICIRCLES_PER_DEGREE) : []),
        ...(hasPosition ? field(RECORD.lon, U.Sint32, sample.lon! * SEMICIRCLES_PER_DEGREE) : []),
        ...field(RECORD.altitude, U.Uint16, sample.altitude === undefined ? undefined : (sample.altitude + ALTITUDE_OFFSET) * ALTITUDE_SCALE),
        ...field(RECORD.heartrate, U.Uint8, sample.heartrate),
        ...field(RECORD.cadence, U.Uint8, sample.cadence),
        ...field(RECORD.distance, U.Uint32, sample.distance === undefined ? undefined : sample.distance * DISTANCE_SCALE),
        ...field(RECORD.speed, U.Uint16, sample.speed === undefined ? undefined : sample.speed * SPEED_SCALE),
        ...field(RECORD.power, U.Uint16, sample.watts),
      ],
      1,
    );
  }
  encoder.writeMessage(MESSAGE.event, [...field(TIMESTAMP, U.Uint32, end), ...field(0, U.Enum, EVENT.timer), ...field(1, U.Enum, EVENT_TYPE.stopAll)]);
  const totals = [...field(2, U.Uint32, start), ...field(7, U.Uint32, elapsedMs), ...field(8, U.Uint32, elapsedMs), ...field(9, U.Uint32, totalDistance)];
  encoder.writeMessage(MESSAGE.lap, [...field(TIMESTAMP, U.Uint32, end), ...field(0, U.Enum, EVENT.lap), ...field(1, U.Enum, EVENT_TYPE.stop), ...totals]);
  encoder.writeMessage(MESSAGE.session, [
    ...field(TIMESTAMP, U.Uint32, end),
    ...field(0, U.Enum, EVENT.session),
    ...field(1, U.Enum, EVENT_TYPE.stop),
    ...totals,
    ...field(5, U.Enum, FIT_SPORTS[workout.sport]),
    ...field(6, U.Enum, 0),
    ...field(25, U.Uint16, 0),
    ...field(26, U.Uint16, 1),
  ]);
  encoder.writeMessage(MESSAGE.activity, [
    ...field(TIMESTAMP, U.Uint32, end),
    ...field(0, U.Uint32, elapsedMs),
    ...field(1, U.Uint16, 1),
    ...field(2, U.Enum, 0),
    ...field(3, U.Enum, EVENT.activity),
    ...field(4, U.Enum, EVENT_TYPE.stop),
  ]);
  return encoder.close();
}

export function importFit(bytes: Uint8Array, limits: WorkoutFileLimits): Workout {
  // Counted on the bytes first: the reader keeps an object per retained message.
  checkSampleCount(countFitRecords(bytes), limits);
  let messages: FitRawMessage[];
  try {
    messages = readFitMessages(bytes, {
      messageNumbers: [MESSAGE.fileId, MESSAGE.sport, MESSAGE.session, MESSAGE.record],
      maxInputBytes: limits.maxBytes,
    }).messages;
  } catch (err) {
    if (err instanceof FitMessageReaderError) {
      if (err.code === 'input_limit') throw new WorkoutFileError('too_large', 'the FIT file is too large', { cause: err });
      throw new WorkoutFileError('corrupt', `the FIT file is corrupt or truncated (${err.code})`, { cause: err });
    }
    throw err;
  }
  const records = messages.filter((message) => message.globalMessageNumber === MESSAGE.record);
  const session = messages.find((message) => message.globalMessageNumber === MESSAGE.session);
  const sportMessage = messages.find((message) => message.globalMessageNumber === MESSAGE.sport);
  const sessionStart = session && numberField(session, 2);
  const firstRecordTime = records.find((record) => record.timestamp !== undefined)?.timestamp;
  const startSeconds = sessionStart ?? firstRecordTime;
  if (startSeconds === undefined) throw new WorkoutFileError('corrupt', 'the FIT file has no timed records');
  const startTime = (startSeconds + FIT_EPOCH_S) * 1000;
  const samples = records.flatMap((record): WorkoutSample[] => {
    if (record.timestamp === undefined) return [];
    const lat = numberField(record, RECORD.lat);
    const lon = numberField(record, RECORD.lon);
    const altitude = numberField(record, RECORD.enhancedAltitude) ?? numberField(record, RECORD.altitude);
    const speed = numberField(record, RECORD.enhancedSpeed) ?? numberField(record, RECORD.speed);
    const distance = numberField(record, RECORD.distance);
    return [
      withoutUndefined({
        t: (record.timestamp + FIT_EPOCH_S) * 1000 - startTime,
        heartrate: numberField(record, RECORD.heartrate),
        watts: numberField(record, RECORD.power),
        cadence: numberField(record, RECORD.cadence),
        speed: speed === undefined ? undefined : speed / SPEED_SCALE,
        distance: distance === undefined ? undefined : distance / DISTANCE_SCALE,
        lat: lat === undefined || lon === undefined ? undefined : lat / SEMICIRCLES_PER_DEGREE,
        lon: lat === undefined || lon === undefined ? undefined : lon / SEMICIRCLES_PER_DEGREE,
        altitude: altitude === undefined ? undefined : altitude / ALTITUDE_SCALE - ALTITUDE_OFFSET,
      }),
    ];
  });
  const fitSport = numberField(session, 5) ?? numberField(sportMessage, 0);
  const sport = (Object.keys(FIT_SPORTS) as WorkoutSport[]).find((name) => FIT_SPORTS[name] === fitSport) ?? 'generic';
  return { sport, startTime, samples };
}

/**
 * The value of an integer field, or undefined when absent or holding its type's invalid
 * value. Arrays (size larger than the base type) are not read: no field used here is one.
 */
function numberField(message: FitRawMessage | undefined, fieldNumber: number): number | undefined {
  const found: FitRawField | undefined = message?.fields.find((candidate) => candidate.fieldNumber === fieldNumber);
  if (found === undefined) return undefined;
  const view = new DataView(found.bytes.buffer, found.bytes.byteOffset, found.bytes.byteLength);
  const little = message!.littleEndian;
  const baseType = found.baseType & 0x1f;
  const reading = BASE_TYPE_READERS[baseType];
  if (reading === undefined || reading.size !== found.size) return undefined;
  const value = reading.read(view, little);
  return value === reading.invalid ? undefined : value;
}

/** FIT base types by their five-bit number: size, reader and the value that means "no value". */
const BASE_TYPE_READERS: Record<number, { size: number; invalid: number; read: (view: DataView, little: boolean) => number }> = {
  0x00: { size: 1, invalid: 0xff, read: (view) => view.getUint8(0) },
  0x01: { size: 1, invalid: 0x7f, read: (view) => view.getInt8(0) },
  0x02: { size: 1, invalid: 0xff, read: (view) => view.getUint8(0) },
  0x03: { size: 2, invalid: 0x7fff, read: (view, little) => view.getInt16(0, little) },
  0x04: { size: 2, invalid: 0xffff, read: (view, little) => view.getUint16(0, little) },
  0x05: { size: 4, invalid: 0x7fffffff, read: (view, little) => view.getInt32(0, little) },
  0x06: { size: 4, invalid: 0xffffffff, read: (view, little) => view.getUint32(0, little) },
  0x0a: { size: 1, invalid: 0x00, read: (view) => view.getUint8(0) },
  0x0b: { size: 2, invalid: 0x0000, read: (view, little) => view.getUint16(0, little) },
  0x0c: { size: 4, invalid: 0x00000000, read: (view, little) => view.getUint32(0, little) },
};

/**
 * Counts record data messages by walking the FIT structure with constant memory. It
 * stops at the first inconsistency: the strict reader that runs next refuses such files.
 */
export function countFitRecords(bytes: Uint8Array): number {
  if (bytes.length < 12) return 0;
  const headerSize = bytes[0]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dataEnd = Math.min(bytes.length, headerSize + view.getUint32(4, true));
  const definitions = new Map<number, { global: number; size: number }>();
  let count = 0;
  let at = headerSize;
  while (at < dataEnd) {
    const header = bytes[at++]!;
    if ((header & 0x80) !== 0) {
      const definition = definitions.get((header >> 5) & 3);
      if (definition === undefined) return count;
      if (definition.global === MESSAGE.record) count++;
      // The reader skips the timestamp field of a compressed-header message.
      at += Math.max(0, definition.size - 4);
    } else if ((header & 0x40) !== 0) {
      if (at + 5 > dataEnd) return count;
      const little = bytes[at + 1] === 0;
      const global = little ? view.getUint16(at + 2, true) : view.getUint16(at + 2, false);
      const fieldCount = bytes[at + 4]!;
      at += 5;
      let size = 0;
      for (let index = 0; index < fieldCount && at + 3 <= dataEnd; index++, at += 3) size += bytes[at + 1]!;
      if ((header & 0x20) !== 0 && at < dataEnd) {
        const developerCount = bytes[at++]!;
        for (let index = 0; index < developerCount && at + 3 <= dataEnd; index++, at += 3) size += bytes[at + 1]!;
      }
      definitions.set(header & 0x0f, { global, size });
    } else {
      const definition = definitions.get(header & 0x0f);
      if (definition === undefined) return count;
      if (definition.global === MESSAGE.record) count++;
      at += definition.size;
    }
  }
  return count;
}
