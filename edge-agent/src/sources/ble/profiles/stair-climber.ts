/**
 * FTMS Stair Climber Data 0x2AD0 (layout from FTMS 1.0; the reference notes give only its UUID). Bit 0 gates
 * Floors; elevation gain is in whole metres, as on the cross trainer.
 */
import { SESSION_READINGS, machineDataProfile, sessionGroups, type MachineDataSpec, type SessionField } from './fitness-machine-data.ts';

export type StairClimberField = SessionField | 'floors' | 'stepsPerMinute' | 'averageStepRate' | 'positiveElevationGainM' | 'strideCount';

export const stairClimberDataSpec: MachineDataSpec<StairClimberField> = {
  name: 'stair_climber_data',
  layouts: [
    {
      interpretation: 'FTMS 1.0',
      flagBytes: 2,
      groups: [
        { bit: 0, fields: [{ name: 'floors', type: 'u16' }] },
        { bit: 1, fields: [{ name: 'stepsPerMinute', type: 'u16' }] },
        { bit: 2, fields: [{ name: 'averageStepRate', type: 'u16' }] },
        { bit: 3, fields: [{ name: 'positiveElevationGainM', type: 'u16' }] },
        { bit: 4, fields: [{ name: 'strideCount', type: 'u16' }] },
        ...sessionGroups(5),
      ],
    },
  ],
  readings: [
    { metric: 'floors', field: 'floors' },
    { metric: 'cadence', field: 'stepsPerMinute' },
    { metric: 'elevation_gain', field: 'positiveElevationGainM' },
    { metric: 'stride_count', field: 'strideCount' },
    ...SESSION_READINGS,
  ],
};

export const stairClimberData = machineDataProfile(stairClimberDataSpec);
