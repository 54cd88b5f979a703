/**
 * The BLE source over noble's real Linux stack and the fake HCI controller (edge-agent/test/devices/ble),
 * with 10 simulated sensors on two adapters (5 links each). JSON lines (DESIGN §9):
 *
 * - ble_source_cpu_per_1000_notifications: process CPU (user + system) per 1000 notifications delivered,
 *   the median of equal windows (SECONDS in all, in phases that alternate with the limit's, after one
 *   discarded warm-up phase). The fake controller and the simulated sensors run in this process too, so
 *   `limit` is the same measurement with bare noble in place of the source (the same sensors, links and
 *   subscriptions, a listener that only counts): value − limit is the source's share.
 * - ble_fake_world_idle_cpu: the same sensors advertising with no host at all, for scale.
 * - ble_reconnect_to_data_ms: a strap's link is lost (the controller reports it at once and the strap is
 *   back in range), measured from the Disconnection Complete the controller sends to the strap's next
 *   reading; median and max over the drops, with the reconnect configuration used. Also split at the
 *   LE Create Connection the source sends: wait (backoff + next advert) and connect-to-data.
 *
 *   node --import tsx scripts/bench/ble-source.ts [--seconds 20] [--notify-ms 5] [--drops 5] [--reconnect-initial-ms 1000] [--verbose]
 *
 * --verbose prints every window's figures to stderr. Runs in about 100 s with the defaults.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Reading } from '@pulsebridge/protocol';
import { until, withTimeout } from '@pulsebridge/runtime';
import { install } from '../../edge-agent/test/devices/ble/install.ts';
import { Opcode } from '../../edge-agent/test/devices/ble/hci.ts';
import { createNoble, poweredOn, type Noble } from '../../edge-agent/test/devices/ble/noble-harness.ts';
import type { SimulatedPeripheral } from '../../edge-agent/test/devices/ble/peripheral.ts';
import { heartRateStrap, powerMeter, smartBike, speedCadenceSensor, treadmill } from '../../edge-agent/test/devices/ble/peripherals/index.ts';
import { FakeBleWorld } from '../../edge-agent/test/devices/ble/world.ts';
import { BleSource } from '../../edge-agent/src/sources/ble/ble-source.ts';
import { bleSourceConfig } from '../../edge-agent/src/sources/ble/config.ts';
import { BLE_PROFILE_TABLE } from '../../edge-agent/src/sources/ble/profiles/index.ts';
import type { Peripheral } from '@abandonware/noble';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    'notify-ms': { type: 'string', default: '5' },
    drops: { type: 'string', default: '5' },
    'reconnect-initial-ms': { type: 'string', default: '1000' },
    verbose: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const NOTIFY_MS = Number(args['notify-ms']);
const DROPS = Number(args.drops);
const RECONNECT_INITIAL_MS = Number(args['reconnect-initial-ms']);
/** Bare noble and the source take turns, so drift on a shared machine hits both alike. */
const ROUNDS = 5;
const WINDOWS_PER_PHASE = 2;
const WARMUP_MS = 2_000;
const ADAPTERS = [0, 1];
const LINKS_PER_ADAPTER = 5;
const SUBSCRIBED = BLE_PROFILE_TABLE.filter((entry) => entry.delivery === 'notify').map((entry) => entry.characteristic);

install();
// One noble instance per adapter and phase, each with its process 'exit' listeners.
process.setMaxListeners(50);
const log = pino({ level: 'silent' });

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
const emit = (line: Record<string, unknown>): void => console.log(JSON.stringify(line));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Ten sensors of five kinds, each in range of both adapters. */
function gym(notifyIntervalMs: number, advertisingIntervalMs = 100): { world: FakeBleWorld; sensors: SimulatedPeripheral[] } {
  const world = new FakeBleWorld({ adapters: ADAPTERS.map((id) => ({ id })) });
  const options = (seed: number) => ({ seed, notifyIntervalMs, advertisingIntervalMs });
  const sensors = [
    heartRateStrap(options(1)),
    heartRateStrap(options(2)),
    heartRateStrap(options(3)),
    powerMeter(options(4)),
    powerMeter(options(5)),
    speedCadenceSensor(options(6)),
    speedCadenceSensor(options(7)),
    treadmill(options(8)),
    smartBike(options(9)),
    smartBike(options(10)),
  ].map((sensor) => world.add(sensor));
  return { world, sensors };
}

/**
 * Notifications delivered, counted at the controllers: in steady state every ACL packet to a host is one
 * notification (each fits one 27-byte packet). The sensors' own record of every notification is dropped
 * as the run goes, so its growing heap (test bookkeeping) does not add GC work to either side.
 */
function delivered(world: FakeBleWorld, sensors: SimulatedPeripheral[]): number {
  for (const sensor of sensors) sensor.notifications.length = 0;
  return world.adapters().reduce((sum, adapter) => sum + adapter.counters.aclPacketsToHost, 0);
}

interface Windows {
  perThousand: number[];
  notifications: number;
}

/** CPU per 1000 delivered notifications over equal windows after a warm-up; SECONDS per kind in all. */
async function measureWindows(label: string, world: FakeBleWorld, sensors: SimulatedPeripheral[], check: () => void): Promise<Windows> {
  await sleep(WARMUP_MS);
  const perThousand: number[] = [];
  const windowMs = (SECONDS * 1000) / (ROUNDS * WINDOWS_PER_PHASE);
  let notifications = 0;
  for (let w = 0; w < WINDOWS_PER_PHASE; w++) {
    const cpu0 = cpuMs();
    const n0 = delivered(world, sensors);
    await sleep(windowMs);
    const n = delivered(world, sensors) - n0;
    const cpu = cpuMs() - cpu0;
    if (n === 0) throw new Error('no notification was delivered in a measurement window');
    perThousand.push((cpu / n) * 1000);
    if (args.verbose) console.error(`${label}: ${n} notifications, ${cpu.toFixed(0)} ms CPU, ${((cpu / n) * 1000).toFixed(1)} ms per 1000`);
    notifications += n;
  }
  check();
  return { perThousand, notifications };
}

function closeNoble(noble: Noble): void {
  noble.removeAllListeners();
  // The socket keeps reading otherwise; it belongs to a world about to close.
  (noble as unknown as { _bindings?: { _hci?: { _socket?: { stop?: () => void } } } })._bindings?._hci?._socket?.stop?.();
}

/** The same sensors, links and subscriptions with bare noble: what the source's figure is compared to. */
async function bareNoble(): Promise<Windows> {
  const { world, sensors } = gym(NOTIFY_MS);
  world.start();
  const nobles = ADAPTERS.map((id) => createNoble(id));
  let received = 0;
  try {
    await Promise.all(nobles.map((noble) => poweredOn(noble)));
    const found = new Map<string, Peripheral>();
    for (const noble of nobles) noble.on('discover', (peripheral: Peripheral) => void found.set(`${ADAPTERS[nobles.indexOf(noble)]}/${peripheral.address}`, peripheral));
    await Promise.all(nobles.map((noble) => noble.startScanningAsync([], true)));
    await until('every sensor heard on both adapters', () => sensors.every((sensor) => ADAPTERS.every((id) => found.has(`${id}/${sensor.address}`))), 10_000);
    await Promise.all(nobles.map((noble) => noble.stopScanningAsync()));
    // Five links per adapter, one connection at a time per adapter, as the source makes them.
    await Promise.all(
      ADAPTERS.map(async (adapterId, index) => {
        for (const sensor of sensors.slice(index * LINKS_PER_ADAPTER, (index + 1) * LINKS_PER_ADAPTER)) {
          const peripheral = found.get(`${adapterId}/${sensor.address}`);
          if (!peripheral) throw new Error(`${sensor.name} not found on hci${adapterId}`);
          await withTimeout(peripheral.connectAsync(), 5_000, `connection to ${sensor.name}`);
          const { characteristics } = await withTimeout(peripheral.discoverSomeServicesAndCharacteristicsAsync([], SUBSCRIBED), 5_000, `discovery of ${sensor.name}`);
          for (const characteristic of characteristics) {
            if (!characteristic.properties.includes('notify') && !characteristic.properties.includes('indicate')) continue;
            characteristic.on('data', (_data: Buffer, isNotification: boolean) => {
              if (isNotification) received++;
            });
            await withTimeout(characteristic.subscribeAsync(), 5_000, `subscription to ${characteristic.uuid} of ${sensor.name}`);
          }
        }
      }),
    );
    const receivedBefore = received;
    const sentBefore = delivered(world, sensors);
    const result = await measureWindows('bare noble', world, sensors, () => undefined);
    const sent = delivered(world, sensors) - sentBefore;
    // The last few may still be in flight between the controller and noble.
    if (Math.abs(received - receivedBefore - sent) > 50) throw new Error(`bare noble received ${received - receivedBefore} of ${sent} notifications`);
    return result;
  } finally {
    for (const noble of nobles) closeNoble(noble);
    world.close();
  }
}

/** A BLE source over the fake, started and connected to every sensor; readings counted by sensor. */
async function sourceRun(
  notifyIntervalMs: number,
  config: Record<string, unknown>,
): Promise<{ world: FakeBleWorld; sensors: SimulatedPeripheral[]; source: BleSource; readings: Map<string, number[]>; stop: () => Promise<void> }> {
  const { world, sensors } = gym(notifyIntervalMs);
  world.start();
  const ids = sensors.map((sensor) => `ble:${sensor.address.replaceAll(':', '-')}`);
  const source = new BleSource({ ...bleSourceConfig({ adapters: ADAPTERS, allow: ids, maxConnections: LINKS_PER_ADAPTER, ...config }), now: Date.now, log });
  // Reading arrival times (performance.now()) by sensor; only the latest few are kept.
  const readings = new Map<string, number[]>(ids.map((id) => [id, []]));
  let count = 0;
  await source.start({
    reading(reading: Reading) {
      count++;
      const times = readings.get(reading.sensor);
      if (times) {
        times.push(performance.now());
        if (times.length > 64) times.splice(0, 32);
      }
    },
    inventory() {},
  });
  await until('all ten sensors connected', () => source.health().devices?.filter((device) => device.state === 'connected').length === sensors.length, 20_000);
  await until('readings from every sensor', () => [...readings.values()].every((times) => times.length > 0), 10_000);
  return {
    world,
    sensors,
    source,
    readings,
    stop: async () => {
      await source.stop();
      world.close();
      if (count === 0) throw new Error('the source produced no reading');
    },
  };
}

async function sourceCpu(): Promise<Windows> {
  const run = await sourceRun(NOTIFY_MS, {});
  try {
    return await measureWindows('source', run.world, run.sensors, () => {
      const stats = run.source.stats();
      if (stats.refused + stats.handlerErrors > 0) throw new Error(`the source refused ${stats.refused} notifications and hit ${stats.handlerErrors} errors`);
      if (stats.linkLosses > 0) throw new Error(`${stats.linkLosses} links were lost during the measurement`);
    });
  } finally {
    await run.stop();
  }
}

async function idleWorld(): Promise<number> {
  const { world } = gym(NOTIFY_MS);
  world.start();
  try {
    await sleep(500);
    const cpu0 = cpuMs();
    const started = performance.now();
    await sleep(5_000);
    return (cpu0 === 0 ? 0 : cpuMs() - cpu0) / ((performance.now() - started) / 1000);
  } finally {
    world.close();
  }
}

interface Drop {
  toDataMs: number;
  waitMs: number;
  connectToDataMs: number;
}

async function reconnects(): Promise<{ drops: Drop[]; config: Record<string, number> }> {
  const config = { reconnectInitialMs: RECONNECT_INITIAL_MS, reconnectMaxMs: Math.max(30_000, RECONNECT_INITIAL_MS) };
  // Straps at their real 1 Hz would add up to a second of waiting for the first notification: 20 Hz here.
  const run = await sourceRun(50, config);
  const strap = run.sensors[0]!;
  const id = `ble:${strap.address.replaceAll(':', '-')}`;
  const adapterIds = new Map<SimulatedPeripheral, number>();
  let disconnectedAt = 0;
  let createdAt = 0;
  const disconnected = strap.disconnected.bind(strap);
  strap.disconnected = (link, reason) => {
    // The controller calls this as it queues Disconnection Complete for the host.
    disconnectedAt = performance.now();
    adapterIds.set(strap, link.adapterId);
    disconnected(link, reason);
  };
  for (const adapter of run.world.adapters()) {
    const fromHost = adapter.fromHost.bind(adapter);
    adapter.fromHost = (packet, origin) => {
      if (packet[0] === 0x01 && packet.length >= 3 && packet.readUInt16LE(1) === Opcode.leCreateConnection && disconnectedAt > 0 && createdAt === 0) createdAt = performance.now();
      fromHost(packet, origin);
    };
  }
  const drops: Drop[] = [];
  try {
    for (let i = 0; i < DROPS; i++) {
      await sleep(300);
      disconnectedAt = 0;
      createdAt = 0;
      const before = run.source.stats().linkLosses;
      strap.dropLink({ detectAfterMs: 0, returnAfterMs: 0 });
      await until('the source to see the link loss', () => run.source.stats().linkLosses === before + 1, 5_000);
      await until(`the strap's first reading after drop ${i + 1}`, () => (run.readings.get(id)?.at(-1) ?? 0) > disconnectedAt, 10_000 + 2 * config.reconnectMaxMs);
      const firstAfter = run.readings.get(id)!.find((t) => t > disconnectedAt)!;
      drops.push({ toDataMs: firstAfter - disconnectedAt, waitMs: createdAt - disconnectedAt, connectToDataMs: firstAfter - createdAt });
    }
    const stats = run.source.stats();
    if (stats.reconnects !== DROPS) throw new Error(`${stats.reconnects} reconnects for ${DROPS} drops`);
  } finally {
    await run.stop();
  }
  return { drops, config: { ...config, advertisingIntervalMs: 100, notifyIntervalMs: 50 } };
}

const started = performance.now();
const idle = await idleWorld();
const bare: Windows = { perThousand: [], notifications: 0 };
const withSource: Windows = { perThousand: [], notifications: 0 };
// The first phase warms up the JIT for code both sides share (the fake, noble's parsers): discarded.
await bareNoble();
for (let round = 0; round < ROUNDS; round++) {
  for (const [into, phase] of [
    [withSource, sourceCpu],
    [bare, bareNoble],
  ] as const) {
    const result = await phase();
    into.perThousand.push(...result.perThousand);
    into.notifications += result.notifications;
  }
}
const { drops, config } = await reconnects();

const value = median(withSource.perThousand);
const limit = median(bare.perThousand);
const context = { sensors: 10, adapters: ADAPTERS.length, notifyIntervalMs: NOTIFY_MS, seconds: SECONDS, windows: withSource.perThousand.length };
emit({
  name: 'ble_source_cpu_per_1000_notifications',
  value: round(value),
  unit: 'ms CPU',
  limit: round(limit),
  ratio: round(value / limit),
  sourceShare: round(value - limit),
  min: round(Math.min(...withSource.perThousand)),
  max: round(Math.max(...withSource.perThousand)),
  limitMin: round(Math.min(...bare.perThousand)),
  limitMax: round(Math.max(...bare.perThousand)),
  notifications: withSource.notifications,
  limitNotifications: bare.notifications,
  note: 'process CPU incl. fake controller and simulated sensors; limit = bare noble on the same links',
  ...context,
});
emit({ name: 'ble_fake_world_idle_cpu', value: round(idle), unit: 'ms CPU/s', note: '10 sensors advertising every 100 ms on 2 adapters, no host' });
emit({
  name: 'ble_reconnect_to_data_ms',
  value: round(median(drops.map((d) => d.toDataMs)), 1),
  unit: 'ms',
  max: round(Math.max(...drops.map((d) => d.toDataMs)), 1),
  waitMedian: round(median(drops.map((d) => d.waitMs)), 1),
  connectToDataMedian: round(median(drops.map((d) => d.connectToDataMs)), 1),
  connectToDataMax: round(Math.max(...drops.map((d) => d.connectToDataMs)), 1),
  drops: drops.length,
  from: 'Disconnection Complete sent by the controller',
  to: 'first reading of that sensor',
  ...config,
});
console.error(`ble-source bench took ${Math.round((performance.now() - started) / 1000)} s`);
process.exit(0);
