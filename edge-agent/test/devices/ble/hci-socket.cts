/**
 * What `require('@abandonware/bluetooth-hci-socket')` resolves to once install() ran: the fake socket class
 * that install.ts registered. CommonJS because noble's hci.js does `new (require(...))()`.
 */
import type { FakeBleRegistry } from './registry.ts';

const registry = (globalThis as typeof globalThis & Record<symbol, FakeBleRegistry | undefined>)[
  Symbol.for('pulsebridge.test.fake-ble')
];
if (registry?.socketClass === undefined) {
  throw new Error('the fake Bluetooth HCI socket is not installed: import install.ts from edge-agent/test/devices/ble first');
}

export = registry.socketClass;
