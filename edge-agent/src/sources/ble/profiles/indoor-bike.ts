/**
 * FTMS Indoor Bike Data 0x2AD2. Bit 1 is Average Speed and bit 2 Instantaneous Cadence, as every device
 * sends them; the 2017 XML swaps their names.
 */
import {
  SESSION_READINGS,
  SPEED_READING,
  gssResistanceLayout,
  machineDataProfile,
  sessionGroups,
  speedGroups,
  type MachineDataSpec,
  type MachineLayout,
  type SessionField,
  type SpeedField,
} from './fitness-machine-data.ts';

export type IndoorBikeField =
  SessionField | SpeedField | 'instantaneousCadenceRpm' | 'averageCadenceRpm' | 'totalDistanceM' | 'resistanceLevel' | 'instantaneousPowerW' | 'averagePowerW';

const ftms10: MachineLayout<IndoorBikeField> = {
  interpretation: 'FTMS 1.0',
  flagBytes: 2,
  groups: [
    ...speedGroups(0),
    { bit: 2, fields: [{ name: 'instantaneousCadenceRpm', type: 'u16', divisor: 2 }] },
    { bit: 3, fields: [{ name: 'averageCadenceRpm', type: 'u16', divisor: 2 }] },
    { bit: 4, fields: [{ name: 'totalDistanceM', type: 'u24' }] },
    // sint16 as in FTMS 1.0 and as Jetblack Volt, Zwift Hub and others send it.
    { bit: 5, fields: [{ name: 'resistanceLevel', type: 's16' }] },
    { bit: 6, fields: [{ name: 'instantaneousPowerW', type: 's16' }] },
    { bit: 7, fields: [{ name: 'averagePowerW', type: 's16' }] },
    ...sessionGroups(8),
  ],
};

export const indoorBikeDataSpec: MachineDataSpec<IndoorBikeField> = {
  name: 'indoor_bike_data',
  layouts: [ftms10, gssResistanceLayout(ftms10)],
  readings: [
    SPEED_READING,
    { metric: 'cadence', field: 'instantaneousCadenceRpm' },
    { metric: 'distance', field: 'totalDistanceM' },
    { metric: 'resistance', field: 'resistanceLevel' },
    { metric: 'power', field: 'instantaneousPowerW' },
    ...SESSION_READINGS,
  ],
};

export const indoorBikeData = machineDataProfile(indoorBikeDataSpec);
