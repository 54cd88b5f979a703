/**
 * Preload for a whole process (an agent in a system test) that should see simulated BLE peripherals:
 *
 *   PB_FAKE_BLE_SCENARIO=scenario.json node --import tsx --import ./edge-agent/test/devices/ble/preload.ts ...
 *
 * Installs the redirect and, when PB_FAKE_BLE_SCENARIO names a scenario file (format in scenario.ts),
 * starts that world. FakeBleWorld.active() returns it to code in the same process.
 *
 * With PB_FAKE_BLE_RECORD=<file>, SIGUSR2 silences every peripheral and then writes, as JSON lines, each
 * peripheral's characteristics `{ address, kind: 'database', uuids }` and each notification that reached
 * the host `{ address, uuid, kind, hex }`, oldest first per peripheral. A test in
 * another process learns from it exactly what the agent was sent. Silence comes first, so the file is the
 * final word: nothing is delivered after it is written.
 */
import { writeFileSync } from 'node:fs';
import { install } from './install.ts';
import { readScenarioFile, startScenario } from './scenario.ts';
import { FakeBleWorld } from './world.ts';

install();
const scenarioFile = process.env.PB_FAKE_BLE_SCENARIO;
if (scenarioFile !== undefined && scenarioFile !== '') startScenario(readScenarioFile(scenarioFile));

const recordFile = process.env.PB_FAKE_BLE_RECORD;
if (recordFile !== undefined && recordFile !== '') {
  process.on('SIGUSR2', () => {
    const peripherals = FakeBleWorld.active()?.peripherals() ?? [];
    for (const peripheral of peripherals) {
      peripheral.silence();
      peripheral.stopAdvertising();
    }
    const lines: string[] = [];
    for (const peripheral of peripherals) {
      lines.push(JSON.stringify({ address: peripheral.address, kind: 'database', uuids: peripheral.database.characteristics.map((c) => c.uuid) }));
      for (const record of peripheral.notifications) {
        if (record.deliveries.length === 0) continue;
        lines.push(JSON.stringify({ address: peripheral.address, uuid: record.uuid, kind: record.kind, hex: record.data.toString('hex') }));
      }
    }
    writeFileSync(recordFile, lines.map((line) => `${line}\n`).join(''));
  });
}
