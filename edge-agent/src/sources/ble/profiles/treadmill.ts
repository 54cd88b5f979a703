/** FTMS Treadmill Data 0x2ACD. */
import { kmhToMetresPerSecond } from './profile.ts';
import { SESSION_READINGS, machineDataProfile, sessionGroups, variantLayout, type MachineDataSpec, type SessionField, type MachineLayout } from './fitness-machine-data.ts';

export type TreadmillField =
  | SessionField
  | 'instantaneousSpeedKmh'
  | 'averageSpeedKmh'
  | 'totalDistanceM'
  | 'inclinationPercent'
  | 'rampAngleDeg'
  | 'positiveElevationGainM'
  | 'negativeElevationGainM'
  | 'instantaneousPace'
  | 'averagePace'
  | 'forceOnBeltN'
  | 'powerOutputW';

const ftms10: MachineLayout<TreadmillField> = {
  interpretation: 'FTMS 1.0',
  flagBytes: 2,
  groups: [
    { bit: 0, fields: [{ name: 'instantaneousSpeedKmh', type: 'u16', divisor: 100 }] },
    { bit: 1, fields: [{ name: 'averageSpeedKmh', type: 'u16', divisor: 100 }] },
    { bit: 2, fields: [{ name: 'totalDistanceM', type: 'u24' }] },
    {
      bit: 3,
      fields: [
        { name: 'inclinationPercent', type: 's16', divisor: 10 },
        { name: 'rampAngleDeg', type: 's16', divisor: 10 },
      ],
    },
    {
      bit: 4,
      fields: [
        { name: 'positiveElevationGainM', type: 'u16', divisor: 10 },
        { name: 'negativeElevationGainM', type: 'u16', divisor: 10 },
      ],
    },
    // km/min with 0.1 resolution in the 2017 XML.
    { bit: 5, fields: [{ name: 'instantaneousPace', type: 'u8', divisor: 10 }] },
    { bit: 6, fields: [{ name: 'averagePace', type: 'u8', divisor: 10 }] },
    ...sessionGroups(7),
    {
      bit: 12,
      fields: [
        { name: 'forceOnBeltN', type: 's16' },
        { name: 'powerOutputW', type: 's16' },
      ],
    },
  ],
};

export const treadmillDataSpec: MachineDataSpec<TreadmillField> = {
  name: 'treadmill_data',
  layouts: [
    ftms10,
    // The GATT Specification Supplement reading (bluetooth-sig-python): pace as uint16 seconds per 500 m.
    variantLayout(ftms10, 'pace uint16 (GSS)', { instantaneousPace: { type: 'u16' }, averagePace: { type: 'u16' } }),
  ],
  readings: [
    { metric: 'speed', field: 'instantaneousSpeedKmh', convert: kmhToMetresPerSecond },
    { metric: 'distance', field: 'totalDistanceM' },
    { metric: 'incline', field: 'inclinationPercent' },
    ...SESSION_READINGS,
    { metric: 'power', field: 'powerOutputW' },
  ],
};

export const treadmillData = machineDataProfile(treadmillDataSpec);
