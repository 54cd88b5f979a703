/**
 * Preload for a whole process (an agent in a system test) that should see simulated BLE peripherals:
 *
 *   PB_FAKE_BLE_SCENARIO=scenario.json node --import tsx --import ./edge-agent/test/devices/ble/preload.ts ...
 *
 * Installs the redirect and, when PB_FAKE_BLE_SCENARIO names a scenario file (format in scenario.ts),
 * starts that world. FakeBleWorld.active() returns it to code in the same process.
 */
import { install } from './install.ts';
import { readScenarioFile, startScenario } from './scenario.ts';

install();
const scenarioFile = process.env.PB_FAKE_BLE_SCENARIO;
if (scenarioFile !== undefined && scenarioFile !== '') startScenario(readScenarioFile(scenarioFile));
