/**
 * ANT+ Fitness Equipment (FE-C), device type 17: trainers, bikes, treadmills, rowers... Page 16 is sent
 * by every kind of equipment; page 25 by trainers and stationary bikes; page 17 carries the incline.
 */
import type { Measurement, SensorFacts } from '../../measurement.ts';
import { refused } from '../../measurement.ts';
import { commonPageFacts } from './common-pages.ts';
import { AntPage, counterDelta, decoded, type AntPageDecoder } from './page.ts';

export const FITNESS_EQUIPMENT_DEVICE_TYPE = 17;
export const FITNESS_EQUIPMENT_CHANNEL_PERIOD = 8192;

export const FitnessEquipmentPage = {
  generalData: 0x10,
  generalSettings: 0x11,
  trainerData: 0x19,
} as const;

export interface FitnessEquipmentState {
  /** Last 8-bit distance field; undefined while the equipment is not in a session. */
  distanceField?: number;
  distanceM?: number;
  trainerEvents?: number;
  trainerAccumulatedPower?: number;
}

const EQUIPMENT_TYPES: Record<number, string> = {
  16: 'general',
  19: 'treadmill',
  20: 'elliptical',
  21: 'stationary_bike',
  22: 'rower',
  23: 'climber',
  24: 'nordic_skier',
  25: 'trainer',
};
const FE_STATES: Record<number, string> = { 1: 'asleep', 2: 'ready', 3: 'in_use', 4: 'finished' };
const FE_STATE_IN_USE = 3;
const FE_STATE_FINISHED = 4;
const TARGET_POWER = ['at_target', 'speed_too_low', 'speed_too_high', 'undetermined'] as const;
const TRAINER_STATUS = [
  [0x1, 'power_calibration_required'],
  [0x2, 'resistance_calibration_required'],
  [0x4, 'user_configuration_required'],
] as const;
const HEART_RATE_INVALID = 0xff;
const CADENCE_INVALID = 0xff;
const POWER_INVALID = 0xfff;
const INCLINE_INVALID = 0x7fff;
const DISTANCE_ENABLED = 0x04;

/** Byte 7 of pages 16, 17 and 25: FE state in bits 4-6 (bit 7 is the lap toggle). */
function feState(page: AntPage): number {
  return (page.u8(7) >> 4) & 0x07;
}

export const decodeFitnessEquipment: AntPageDecoder<FitnessEquipmentState> = (bytes, previous) => {
  const page = AntPage.from(bytes);
  if (typeof page === 'string') return refused(page);
  const before: FitnessEquipmentState = previous ?? {};
  switch (page.number) {
    case FitnessEquipmentPage.generalData:
      return decodeGeneralData(page, before);
    case FitnessEquipmentPage.generalSettings: {
      const incline = page.i16(4);
      const measurements: Measurement[] = incline === INCLINE_INVALID ? [] : [{ metric: 'incline', value: incline / 100 }];
      return decoded(measurements, before, stateFacts(page));
    }
    case FitnessEquipmentPage.trainerData:
      return decodeTrainerData(page, before);
    default: {
      const facts = commonPageFacts(page);
      return decoded([], before, facts);
    }
  }
};

function stateFacts(page: AntPage): SensorFacts {
  const name = FE_STATES[feState(page)];
  return name ? { feState: name } : {};
}

function decodeGeneralData(page: AntPage, before: FitnessEquipmentState): ReturnType<AntPageDecoder<FitnessEquipmentState>> {
  const measurements: Measurement[] = [{ metric: 'speed', value: page.u16(4) / 1000 }];
  const heartRate = page.u8(6);
  if (heartRate !== HEART_RATE_INVALID && heartRate !== 0) measurements.push({ metric: 'heart_rate', value: heartRate });

  const state: FitnessEquipmentState = { ...before };
  const inSession = feState(page) === FE_STATE_IN_USE || feState(page) === FE_STATE_FINISHED;
  if (inSession && page.u8(7) & DISTANCE_ENABLED) {
    const field = page.u8(3);
    // The equipment counts from the start of its own session: the first value seen is a distance
    // already covered (valid as long as we joined within its first 256 m), later ones add up by delta.
    state.distanceM = before.distanceField === undefined || before.distanceM === undefined ? field : before.distanceM + counterDelta(field, before.distanceField, 0x100);
    state.distanceField = field;
    measurements.push({ metric: 'distance', value: state.distanceM });
  } else if (!inSession) {
    // A new session on the equipment restarts its counter: forget ours so it does not jump by a wrap.
    delete state.distanceField;
    delete state.distanceM;
  }

  const facts = stateFacts(page);
  const type = EQUIPMENT_TYPES[page.u8(1) & 0x1f];
  if (type) facts.equipmentType = type;
  return decoded(measurements, state, facts);
}

function decodeTrainerData(page: AntPage, before: FitnessEquipmentState): ReturnType<AntPageDecoder<FitnessEquipmentState>> {
  const events = page.u8(1);
  const accumulatedPower = page.u16(3);
  const measurements: Measurement[] = [];
  if (page.u8(2) !== CADENCE_INVALID) measurements.push({ metric: 'cadence', value: page.u8(2) });

  if (before.trainerEvents === undefined || before.trainerAccumulatedPower === undefined) {
    const instantaneous = page.u16(5) & 0x0fff;
    if (instantaneous !== POWER_INVALID) measurements.push({ metric: 'power', value: instantaneous });
  } else {
    // Averaged over events, like a power meter: exact across lost messages.
    const newEvents = counterDelta(events, before.trainerEvents, 0x100);
    if (newEvents > 0) measurements.push({ metric: 'power', value: counterDelta(accumulatedPower, before.trainerAccumulatedPower, 0x10000) / newEvents });
  }

  const statusBits = page.u8(6) >> 4;
  const status = TRAINER_STATUS.filter(([bit]) => statusBits & bit).map(([, name]) => name);
  const facts = stateFacts(page);
  facts.trainerStatus = status.length > 0 ? status.join(',') : 'ok';
  facts.targetPower = TARGET_POWER[page.u8(7) & 0x03] ?? 'undetermined';
  return decoded(measurements, { ...before, trainerEvents: events, trainerAccumulatedPower: accumulatedPower }, facts);
}
