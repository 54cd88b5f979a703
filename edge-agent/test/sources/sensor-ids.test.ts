/**
 * One sensor id format everywhere: every source's id builder, the simulator and the examples in the docs give
 * ids that keep the wire rule (SENSOR_ID_PATTERN) and have the shape the README documents for their source.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { SENSOR_ID_PATTERN, canonicalSensorId } from '@pulsebridge/protocol';
import { antSensorId } from '../../src/sources/ant/codec/messages.ts';
import { parseAntSensorId } from '../../src/sources/ant/config.ts';
import { bleSensorId, normalizeBleSensorId } from '../../src/sources/ble/config.ts';
import { CSAFE_ID_PREFIX } from '../../src/sources/serial/drivers/csafe-driver.ts';
import { NMEA_ID_PREFIX } from '../../src/sources/serial/drivers/nmea-driver.ts';
import { WATERROWER_ID_PREFIX } from '../../src/sources/serial/drivers/waterrower-driver.ts';
import { sensorKey, serialKeyRoom, serialSensorId } from '../../src/sources/serial/serial-source.ts';
import { simulatorConfig } from '../../src/sources/simulator/config.ts';
import { SimulatorSource } from '../../src/sources/simulator/simulator.ts';

const RULE = new RegExp(SENSOR_ID_PATTERN);

/** The shapes the README's Sensors section documents, one per source. */
const SHAPES: Record<string, RegExp> = {
  ble: /^ble:(?:[0-9a-f]{2}(?:-[0-9a-f]{2}){5}|[0-9a-z]+)$/,
  ant: /^ant:\d{1,3}:\d{1,7}:\d{1,3}$/,
  serial: /^serial:(?:csafe|waterrower):[A-Za-z0-9:._-]+$/,
  gps: /^gps:nmea:[A-Za-z0-9:._-]+(?:~corrected)?$/,
};

function assertCanonical(id: string, source: keyof typeof SHAPES, from: string): void {
  assert.match(id, RULE, `${from}: ${id} breaks the wire rule`);
  assert.match(id, SHAPES[source]!, `${from}: ${id} is not the documented ${source} shape`);
  if (source === 'ant') assert.ok(parseAntSensorId(id), `${from}: ${id} is not a valid ANT channel id`);
  assert.equal(canonicalSensorId(id), id, `${from}: ${id} is not in the canonical form`);
}

test('BLE: addresses (either separator, any case) and opaque platform ids give documented ids', () => {
  for (const address of ['C0:FF:EE:00:00:01', 'c0-ff-ee-00-00-01', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00']) {
    assertCanonical(bleSensorId(address, undefined)!, 'ble', `address ${address}`);
  }
  assertCanonical(bleSensorId('unknown', '6E400001B5A3F393E0A9E50E24DCCA9E')!, 'ble', 'platform id');
  assert.equal(bleSensorId('unknown', 'not/an id'), undefined, 'no id rather than a bad one');
  assert.equal(normalizeBleSensorId('ble:C0:FF:EE:00:00:01'), bleSensorId('c0:ff:ee:00:00:01', undefined), 'allow entries name sensors as the source does');
});

test('ANT: every device type, 20-bit device number and agreeing transmission type gives a documented id', () => {
  for (const deviceType of [1, 11, 17, 120, 127]) {
    for (const deviceNumber of [1, 0xffff, 0x10000, 0xfffff]) {
      for (const low of [0x01, 0x05]) assertCanonical(antSensorId({ deviceType, deviceNumber, transmissionType: ((deviceNumber >> 16) << 4) | low }), 'ant', 'antSensorId');
    }
  }
});

test('serial: CSAFE, WaterRower and NMEA ids from ports and serial numbers, however long or odd, are documented ids', () => {
  const raws = ['/dev/ttyUSB0', '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0'.repeat(2), '430123456', 'a b/c~d#e', '~~~', `/dev/${'x'.repeat(200)}`];
  const drivers = [
    { idPrefix: CSAFE_ID_PREFIX, source: 'serial' as const },
    { idPrefix: WATERROWER_ID_PREFIX, source: 'serial' as const },
    { idPrefix: NMEA_ID_PREFIX, source: 'gps' as const, correctedMetrics: ['latitude' as const] },
  ];
  for (const driver of drivers) {
    for (const raw of raws) {
      const key = sensorKey(raw, serialKeyRoom(driver));
      assertCanonical(serialSensorId(driver.idPrefix, key), driver.source, `${driver.idPrefix} ${raw}`);
      if (driver.correctedMetrics) assertCanonical(serialSensorId(driver.idPrefix, key, 'corrected'), driver.source, `${driver.idPrefix} ${raw} corrected`);
    }
  }
  assert.equal(serialSensorId(NMEA_ID_PREFIX, sensorKey('/dev/ttyACM0', serialKeyRoom({ idPrefix: NMEA_ID_PREFIX }))), 'gps:nmea:ttyacm0');
});

test('simulator: every simulated sensor has the id shape of the real source it imitates', () => {
  const simulator = new SimulatorSource({
    ...simulatorConfig({ athletes: 400, equipment: { bike: 1, treadmill: 1, rower: 1, outdoor: 1 } }),
    now: () => Date.UTC(2025, 0, 1),
    log: pino({ level: 'silent' }),
  });
  const sensors = simulator.sensors();
  const sourceOf: Record<string, keyof typeof SHAPES> = { heart_rate: 'ble', treadmill: 'ble', bike: 'ant', rower: 'serial', gps: 'gps' };
  assert.deepEqual(new Set(sensors.map((s) => s.kind)), new Set(Object.keys(sourceOf)));
  for (const sensor of sensors) assertCanonical(sensor.id, sourceOf[sensor.kind]!, `simulated ${sensor.kind}`);
});

test('the ids in the README, the docs, the example configuration and the wire schema are documented shapes', () => {
  const files = ['README.md', 'docs/architecture.md', 'edge-agent/agent.example.yaml', 'protocol/src/schemas.ts'];
  let seen = 0;
  for (const file of files) {
    const text = readFileSync(fileURLToPath(new URL(`../../../${file}`, import.meta.url)), 'utf8');
    for (const [token, source] of text.matchAll(/\b(ble|ant|serial|gps):[A-Za-z0-9:._~<-]+/g)) {
      const id = token.replace(/[.:]+$/, '');
      if (id.includes('<')) continue; // a placeholder such as ble:<address>
      // Upper case (and ANT numbers with leading zeros) is how people may write ids in `allow`; the agent turns them into the canonical id.
      assertCanonical(source === 'ble' ? (normalizeBleSensorId(id) ?? id) : source === 'ant' ? (canonicalSensorId(id) ?? id) : id, source as keyof typeof SHAPES, file);
      seen++;
    }
  }
  assert.ok(seen >= 8, `found ${seen} example ids`);
});
