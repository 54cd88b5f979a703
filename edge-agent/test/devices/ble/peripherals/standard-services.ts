/**
 * Services most sensors carry besides their measurement: Battery (0x180F) and Device Information (0x180A).
 */
import { serialNumber } from './options.ts';
import type { CharacteristicDefinition, ServiceDefinition } from '../gatt.ts';
import type { SimulatedPeripheral } from '../peripheral.ts';

export const BATTERY_LEVEL_UUID = '2a19';

/** Battery Level 0x2A19: one byte, percent; readable and notified on change. */
export class BatteryLevel {
  private peripheral: SimulatedPeripheral | undefined;

  constructor(private level: number) {}

  get percent(): number {
    return this.level;
  }

  service(): ServiceDefinition {
    return {
      uuid: '180f',
      characteristics: [{ uuid: BATTERY_LEVEL_UUID, properties: ['read', 'notify'], read: () => Buffer.from([this.level]) }],
    };
  }

  bind(peripheral: SimulatedPeripheral): void {
    this.peripheral = peripheral;
  }

  set(percent: number): void {
    this.level = Math.max(0, Math.min(100, Math.round(percent)));
    this.peripheral?.emit(BATTERY_LEVEL_UUID, Buffer.from([this.level]));
  }
}

export interface DeviceInformation {
  manufacturer: string;
  model: string;
  serialNumber: string;
  firmwareRevision: string;
  hardwareRevision?: string;
}

export const DeviceInformationUuid = {
  manufacturer: '2a29',
  model: '2a24',
  serialNumber: '2a25',
  firmwareRevision: '2a26',
  hardwareRevision: '2a27',
} as const;

export function deviceInformationService(info: DeviceInformation): ServiceDefinition {
  const text = (value: string) => () => Buffer.from(value, 'utf8');
  const characteristics: CharacteristicDefinition[] = [
    { uuid: DeviceInformationUuid.manufacturer, properties: ['read'], read: text(info.manufacturer) },
    { uuid: DeviceInformationUuid.model, properties: ['read'], read: text(info.model) },
    { uuid: DeviceInformationUuid.serialNumber, properties: ['read'], read: text(info.serialNumber) },
    { uuid: DeviceInformationUuid.firmwareRevision, properties: ['read'], read: text(info.firmwareRevision) },
  ];
  if (info.hardwareRevision !== undefined) {
    characteristics.push({ uuid: DeviceInformationUuid.hardwareRevision, properties: ['read'], read: text(info.hardwareRevision) });
  }
  return { uuid: '180a', characteristics };
}

/** Device information of a Pulsebridge simulated peripheral: its serial number follows from seed and kind. */
export function simulatorDeviceInformation(seed: number, kindTag: number, model: string, firmwareRevision: string, hardwareRevision?: string): ServiceDefinition {
  const info: DeviceInformation = { manufacturer: 'Pulsebridge Sim', model, serialNumber: serialNumber(seed, kindTag), firmwareRevision };
  if (hardwareRevision !== undefined) info.hardwareRevision = hardwareRevision;
  return deviceInformationService(info);
}

/** Sensor Location 0x2A5D (shared by CSC, CP and RSC). */
export function sensorLocation(location: number): { uuid: string; properties: ['read']; read: () => Buffer } {
  return { uuid: '2a5d', properties: ['read'], read: () => Buffer.from([location]) };
}
