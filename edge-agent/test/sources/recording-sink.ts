/**
 * The one SourceSink of the source tests: it keeps every reading and inventory a source hands it, with
 * the questions the tests ask of them.
 */
import type { Reading, SensorInfo } from '@pulsebridge/protocol';
import type { SourceSink } from '../../src/sources/source.ts';

export class RecordingSink implements SourceSink {
  readonly readings: Reading[] = [];
  readonly inventories: SensorInfo[][] = [];
  /** performance.now() of each reading, for recovery timing. */
  readonly receivedAt: number[] = [];

  reading(reading: Reading): void {
    this.readings.push(reading);
    this.receivedAt.push(performance.now());
  }

  inventory(sensors: SensorInfo[]): void {
    this.inventories.push(sensors);
  }

  get lastInventory(): SensorInfo[] {
    return this.inventories.at(-1) ?? [];
  }

  values(sensor: string, metric: string): number[] {
    return this.readings.filter((r) => r.sensor === sensor && r.metric === metric).map((r) => r.value);
  }

  sensorsWithReadings(since = 0): Set<string> {
    return new Set(this.readings.filter((r) => r.ts >= since).map((r) => r.sensor));
  }

  /** Readings sharing sensor, metric and ts: what the hub would store once and the outbox would send twice. */
  duplicates(): Reading[] {
    const seen = new Set<string>();
    return this.readings.filter((r) => {
      const key = `${r.sensor}|${r.metric}|${r.ts}`;
      if (seen.has(key)) return true;
      seen.add(key);
      return false;
    });
  }
}
