/** FTMS Treadmill Data 0x2ACD. */
import {
  SESSION_READINGS,
  SPEED_READING,
  inclineGroup,
  machineDataProfile,
  sessionGroups,
  speedGroups,
  variantLayout,
  type InclineField,
  type MachineDataSpec,
  type MachineLayout,
  type SessionField,
  type SpeedField,
} from './fitness-machine-data.ts';

export type TreadmillField =
  | SessionField
  | SpeedField
  | InclineField
  | 'totalDistanceM'
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
    ...speedGroups(0),
    { bit: 2, fields: [{ name: 'totalDistanceM', type: 'u24' }] },
    inclineGroup(3),
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
    SPEED_READING,
    { metric: 'distance', field: 'totalDistanceM' },
    { metric: 'incline', field: 'inclinationPercent' },
    ...SESSION_READINGS,
    { metric: 'power', field: 'powerOutputW' },
  ],
};

export const treadmillData = machineDataProfile(treadmillDataSpec);
