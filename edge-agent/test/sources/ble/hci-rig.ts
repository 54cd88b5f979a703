/**
 * The BLE source with its default noble loader (noble's real Linux stack) over the fake HCI controller of
 * test/devices/ble: what runs on a gym box, minus the radio. install() runs when this module loads, before
 * the source first requires noble.
 */
import type { TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { destination, pino, type Logger } from 'pino';
import { BleSource } from '../../../src/sources/ble/ble-source.ts';
import { bleSourceConfig } from '../../../src/sources/ble/config.ts';
import { BLE_PROFILES } from '../../../src/sources/ble/profiles/index.ts';
import { install } from '../../devices/ble/install.ts';
import type { NotificationRecord, SimulatedPeripheral } from '../../devices/ble/peripheral.ts';
import type { FakeAdapter } from '../../devices/ble/controller.ts';
import { Opcode, PacketType } from '../../devices/ble/hci.ts';
import type { FakeBleWorld } from '../../devices/ble/world.ts';
import { RecordingSink } from './harness.ts';
import { until as waitFor } from '@pulsebridge/runtime';

install();
// Every noble instance (one per adapter, a new one per adapter reset) adds process 'exit' listeners.
process.setMaxListeners(100);

/** Short timeouts, so link losses, silences and resets play out in seconds. */
export const HCI_FAST = {
  startTimeoutMs: 3_000,
  connectTimeoutMs: 2_000,
  gattTimeoutMs: 2_000,
  reconnectInitialMs: 50,
  reconnectMaxMs: 400,
  silenceTimeoutMs: 1_500,
  adapterSilenceMs: 2_000,
};

/** `PB_TEST_LOG=debug` shows what the source does while a scenario runs. */
export function testLogger(): Logger {
  const level = process.env.PB_TEST_LOG ?? 'silent';
  return pino({ level, base: undefined }, level === 'silent' ? undefined : destination(2));
}

export interface HciRig {
  world: FakeBleWorld;
  source: BleSource;
  sink: RecordingSink;
}

/**
 * Starts `world` (peripherals already added) and a BLE source on it; both are stopped when the test ends,
 * the source first so it never sees its adapters vanish.
 */
export async function hciRig(t: Pick<TestContext, 'after'>, world: FakeBleWorld, config: Record<string, unknown> = {}): Promise<HciRig> {
  world.start();
  const source = new BleSource({ ...bleSourceConfig({ ...HCI_FAST, ...config }), now: Date.now, log: testLogger() });
  const sink = new RecordingSink();
  t.after(async () => {
    await source.stop();
    world.close();
  });
  await source.start(sink);
  return { world, source, sink };
}

/** The sensor id the source gives a simulated peripheral. */
export function sensorIdOf(peripheral: Pick<SimulatedPeripheral, 'address'>): string {
  return `ble:${peripheral.address.toLowerCase().replaceAll(':', '-')}`;
}

export function until(what: string, predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  return waitFor(what, predicate, timeoutMs);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * How many readings of each metric the profile decoders make of these notifications, decoded in order
 * with state carried from one to the next as the source does within one link. `linkStarts` marks the
 * records where a new link began (the source forgets decoder state on reconnect).
 */
export function expectedReadings(records: readonly NotificationRecord[], linkStarts: ReadonlySet<NotificationRecord> = new Set()): Map<string, number> {
  const counts = new Map<string, number>();
  const states = new Map<string, unknown>();
  for (const record of records) {
    if (linkStarts.has(record)) states.clear();
    const profile = BLE_PROFILES.get(record.uuid);
    if (!profile) continue;
    const result = profile.decode(record.data, { previous: states.get(record.uuid) });
    if (!result.ok) continue;
    if (result.state !== undefined) states.set(record.uuid, result.state);
    for (const measurement of result.measurements) counts.set(measurement.metric, (counts.get(measurement.metric) ?? 0) + 1);
  }
  return counts;
}

/** The records that are the first of a new link: the connection that delivered them changed. */
export function linkStartsOf(records: readonly NotificationRecord[]): Set<NotificationRecord> {
  const starts = new Set<NotificationRecord>();
  let previous: string | undefined;
  for (const record of records) {
    const delivery = record.deliveries[0];
    const link = delivery === undefined ? undefined : `${delivery.adapterId}/${delivery.connectionHandle}`;
    if (link !== previous) starts.add(record);
    previous = link;
  }
  return starts;
}

export function stateOf(source: BleSource, peripheral: SimulatedPeripheral): string | undefined {
  return source.health().devices?.find((device) => device.id === sensorIdOf(peripheral))?.state;
}

export function connected(source: BleSource, peripheral: SimulatedPeripheral): boolean {
  return stateOf(source, peripheral) === 'connected';
}

export function commandsNamed(adapter: FakeAdapter, name: string): number {
  return adapter.commandLog.filter((entry) => entry.name === name).length;
}

/**
 * Counts LE Create Connection commands still waiting for their connection, per adapter, in the order the
 * controller sees them; the most ever outstanding at once is what the source's one-at-a-time rule bounds.
 */
export function watchConnectionAttempts(world: FakeBleWorld, peripherals: SimulatedPeripheral[]): { maxOutstanding: Map<number, number> } {
  const outstanding = new Map<number, number>();
  const maxOutstanding = new Map<number, number>();
  for (const adapter of world.adapters()) {
    const fromHost = adapter.fromHost.bind(adapter);
    adapter.fromHost = (packet, origin) => {
      if (packet[0] === PacketType.command && packet.length >= 3) {
        const op = packet.readUInt16LE(1);
        const now = outstanding.get(adapter.id) ?? 0;
        if (op === Opcode.leCreateConnection || op === Opcode.leExtendedCreateConnection) outstanding.set(adapter.id, now + 1);
        if (op === Opcode.leCreateConnectionCancel) outstanding.set(adapter.id, Math.max(0, now - 1));
        maxOutstanding.set(adapter.id, Math.max(maxOutstanding.get(adapter.id) ?? 0, outstanding.get(adapter.id) ?? 0));
      }
      fromHost(packet, origin);
    };
  }
  for (const peripheral of peripherals) {
    const connectedTo = peripheral.connected.bind(peripheral);
    peripheral.connected = (link) => {
      outstanding.set(link.adapterId, Math.max(0, (outstanding.get(link.adapterId) ?? 0) - 1));
      connectedTo(link);
    };
  }
  return { maxOutstanding };
}

/** `global.gc` without starting node with --expose-gc, so heap figures are not noise from garbage. */
export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
