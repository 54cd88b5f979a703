/** Battery Level 0x2A19 (Battery service 0x180F): a reading, and the battery fact the inventory keeps. */
import { refused } from '../../measurement.ts';
import { MeasurementList, type BleProfile } from './profile.ts';

export const batteryLevel: BleProfile = {
  name: 'battery_level',
  decode(data) {
    if (data.length !== 1) return refused(`battery level of ${data.length} bytes, expected 1`);
    const percent = data[0] ?? 0;
    if (percent > 100) return refused(`battery level ${percent} % above 100`);
    return new MeasurementList().add('battery', percent).result({ battery: percent });
  },
};
