/** FTMS Rower Data 0x2AD1. Bit 0 gates a pair: stroke rate and stroke count. */
import { SESSION_READINGS, gssResistanceLayout, machineDataProfile, sessionGroups, type MachineDataSpec, type SessionField, type MachineLayout } from './fitness-machine-data.ts';

export type RowerField =
  | SessionField
  | 'strokeRateSpm'
  | 'strokeCount'
  | 'averageStrokeRateSpm'
  | 'totalDistanceM'
  | 'instantaneousPaceSPer500m'
  | 'averagePaceSPer500m'
  | 'instantaneousPowerW'
  | 'averagePowerW'
  | 'resistanceLevel';

const ftms10: MachineLayout<RowerField> = {
  interpretation: 'FTMS 1.0',
  flagBytes: 2,
  groups: [
    {
      bit: 0,
      fields: [
        { name: 'strokeRateSpm', type: 'u8', divisor: 2 },
        { name: 'strokeCount', type: 'u16' },
      ],
    },
    { bit: 1, fields: [{ name: 'averageStrokeRateSpm', type: 'u8', divisor: 2 }] },
    { bit: 2, fields: [{ name: 'totalDistanceM', type: 'u24' }] },
    { bit: 3, fields: [{ name: 'instantaneousPaceSPer500m', type: 'u16' }] },
    { bit: 4, fields: [{ name: 'averagePaceSPer500m', type: 'u16' }] },
    { bit: 5, fields: [{ name: 'instantaneousPowerW', type: 's16' }] },
    { bit: 6, fields: [{ name: 'averagePowerW', type: 's16' }] },
    { bit: 7, fields: [{ name: 'resistanceLevel', type: 's16' }] },
    ...sessionGroups(8),
  ],
};

export const rowerDataSpec: MachineDataSpec<RowerField> = {
  name: 'rower_data',
  layouts: [ftms10, gssResistanceLayout(ftms10)],
  readings: [
    { metric: 'stroke_rate', field: 'strokeRateSpm' },
    { metric: 'stroke_count', field: 'strokeCount' },
    { metric: 'distance', field: 'totalDistanceM' },
    { metric: 'power', field: 'instantaneousPowerW' },
    { metric: 'resistance', field: 'resistanceLevel' },
    ...SESSION_READINGS,
  ],
};

export const rowerData = machineDataProfile(rowerDataSpec);
