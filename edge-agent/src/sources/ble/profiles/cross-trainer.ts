/** FTMS Cross Trainer Data 0x2ACE: the only machine with 24-bit flags; bit 15 is a direction, not a field. */
import {
  SESSION_READINGS,
  SPEED_READING,
  inclineGroup,
  machineDataProfile,
  sessionGroups,
  speedGroups,
  type InclineField,
  type MachineDataSpec,
  type SessionField,
  type SpeedField,
} from './fitness-machine-data.ts';

export type CrossTrainerField =
  | SessionField
  | SpeedField
  | InclineField
  | 'totalDistanceM'
  | 'stepsPerMinute'
  | 'averageStepRate'
  | 'strideCount'
  | 'positiveElevationGainM'
  | 'negativeElevationGainM'
  | 'resistanceLevel'
  | 'instantaneousPowerW'
  | 'averagePowerW'
  | 'movingBackward';

export const crossTrainerDataSpec: MachineDataSpec<CrossTrainerField> = {
  name: 'cross_trainer_data',
  layouts: [
    {
      interpretation: 'FTMS 1.0',
      flagBytes: 3,
      groups: [
        ...speedGroups(0),
        { bit: 2, fields: [{ name: 'totalDistanceM', type: 'u24' }] },
        {
          bit: 3,
          fields: [
            { name: 'stepsPerMinute', type: 'u16' },
            { name: 'averageStepRate', type: 'u16' },
          ],
        },
        // Resolution 0.1 per the GATT XML (decimal exponent -1).
        { bit: 4, fields: [{ name: 'strideCount', type: 'u16', divisor: 10 }] },
        {
          // Whole metres here, unlike the treadmill's 0.1 m.
          bit: 5,
          fields: [
            { name: 'positiveElevationGainM', type: 'u16' },
            { name: 'negativeElevationGainM', type: 'u16' },
          ],
        },
        inclineGroup(6),
        { bit: 7, fields: [{ name: 'resistanceLevel', type: 's16', divisor: 10 }] },
        { bit: 8, fields: [{ name: 'instantaneousPowerW', type: 's16' }] },
        { bit: 9, fields: [{ name: 'averagePowerW', type: 's16' }] },
        ...sessionGroups(10),
        { bit: 15, fields: [], marker: 'movingBackward' },
      ],
    },
  ],
  readings: [
    SPEED_READING,
    { metric: 'distance', field: 'totalDistanceM' },
    { metric: 'cadence', field: 'stepsPerMinute' },
    { metric: 'stride_count', field: 'strideCount' },
    { metric: 'incline', field: 'inclinationPercent' },
    { metric: 'resistance', field: 'resistanceLevel' },
    { metric: 'power', field: 'instantaneousPowerW' },
    ...SESSION_READINGS,
  ],
};

export const crossTrainerData = machineDataProfile(crossTrainerDataSpec);
