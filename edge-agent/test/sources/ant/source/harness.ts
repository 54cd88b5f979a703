/**
 * What the ANT source tests share beyond the simulator process (`devices/simulator-process.ts`): the
 * network key the simulated stick is started with, a bounded wait, and a sink that collects what an
 * AntSource hands it.
 */
import type { Reading, SensorInfo } from '@pulsebridge/protocol';
import type { SourceSink } from '../../../../src/sources/source.ts';

export const TEST_NETWORK_KEY = '0123456789abcdef';

export { until } from '@pulsebridge/runtime';

export class CollectingSink implements SourceSink {
  readonly readings: Reading[] = [];
  inventories: SensorInfo[][] = [];

  reading(reading: Reading): void {
    this.readings.push(reading);
  }

  inventory(sensors: SensorInfo[]): void {
    this.inventories.push(sensors);
  }

  get lastInventory(): SensorInfo[] {
    return this.inventories.at(-1) ?? [];
  }

  sensorsWithReadings(since = 0): Set<string> {
    return new Set(this.readings.filter((r) => r.ts >= since).map((r) => r.sensor));
  }
}
