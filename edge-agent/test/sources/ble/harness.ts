/** A BLE source on fake noble bindings, with a sink that records what it gets. */
import type { TestContext } from 'node:test';
import pino from 'pino';
import type { Reading, SensorInfo } from '@pulsebridge/protocol';
import { BleSource, type BleSourceOptions } from '../../../src/sources/ble/ble-source.ts';
import { bleSourceConfig } from '../../../src/sources/ble/config.ts';
import type { SourceSink } from '../../../src/sources/source.ts';
import { FakeAir } from './fake-bindings.ts';
import { until as waitFor } from '@pulsebridge/runtime';

export const silentLog = pino({ level: 'silent' });

/** Short timeouts so every scenario runs in well under a second. */
export const FAST = {
  startTimeoutMs: 500,
  connectTimeoutMs: 200,
  gattTimeoutMs: 200,
  reconnectInitialMs: 40,
  reconnectMaxMs: 160,
  silenceTimeoutMs: 5_000,
  adapterSilenceMs: 60_000,
};

/** Wall clock of the readings: a fixed epoch plus real elapsed time, so timestamps can be checked. */
export const EPOCH = 1_700_000_000_000;

export class RecordingSink implements SourceSink {
  readonly readings: Reading[] = [];
  readonly inventories: SensorInfo[][] = [];
  throwOnReading = 0;

  reading(reading: Reading): void {
    if (this.throwOnReading > 0) {
      this.throwOnReading--;
      throw new Error('sink failed');
    }
    this.readings.push(reading);
  }

  inventory(sensors: SensorInfo[]): void {
    this.inventories.push(sensors);
  }

  get lastInventory(): SensorInfo[] {
    return this.inventories[this.inventories.length - 1] ?? [];
  }

  of(sensor: string, metric?: string): Reading[] {
    return this.readings.filter((r) => r.sensor === sensor && (metric === undefined || r.metric === metric));
  }
}

export interface Rig {
  source: BleSource;
  sink: RecordingSink;
  air: FakeAir;
}

export async function rig(t: TestContext, config: Record<string, unknown> = {}, air = new FakeAir(), over: Partial<BleSourceOptions> = {}): Promise<Rig> {
  const started = performance.now();
  const source = new BleSource({
    ...bleSourceConfig({ ...FAST, ...config }),
    now: () => EPOCH + Math.round(performance.now() - started),
    log: silentLog,
    createNoble: air.createNoble,
    ...over,
  });
  const sink = new RecordingSink();
  t.after(async () => {
    await source.stop();
    air.close();
  });
  await source.start(sink);
  return { source, sink, air };
}

export function until(what: string, predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  return waitFor(what, predicate, timeoutMs);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Adverts every few ms (sensors advertise many times a second) until `predicate` holds. */
export function advertiseUntil(air: FakeAir, what: string, predicate: () => boolean, addresses?: string[], adapters: number[] = [0], timeoutMs = 2_000): Promise<void> {
  return waitFor(
    what,
    () => {
      if (predicate()) return true;
      air.advertise(addresses, adapters);
      return false;
    },
    timeoutMs,
    5,
  );
}

export function deviceState(source: BleSource, id: string): string | undefined {
  return source.health().devices?.find((d) => d.id === id)?.state;
}
