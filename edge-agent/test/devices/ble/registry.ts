/**
 * The one place both halves of the fake meet. noble loads the socket module through CommonJS require, tests
 * import the world as ESM; two module instances of the same file would each have their own statics, so the
 * shared state lives on globalThis under a registered symbol.
 */
import type { FakeAdapter } from './controller.ts';

/** What a socket needs from the world that is running. */
export interface AdapterDirectory {
  adapters(): FakeAdapter[];
  lookupAdapter(id: number): FakeAdapter | undefined;
}

export interface FakeBleRegistry {
  /** The started world sockets bind to; at most one at a time. */
  activeWorld: AdapterDirectory | undefined;
  /** The socket class the redirected `@abandonware/bluetooth-hci-socket` module exports. */
  socketClass: unknown;
  /** Set while install() is in force; undoes it. */
  uninstall: (() => void) | undefined;
}

const REGISTRY_KEY = Symbol.for('pulsebridge.test.fake-ble');

export function fakeBleRegistry(): FakeBleRegistry {
  const holder = globalThis as typeof globalThis & { [REGISTRY_KEY]?: FakeBleRegistry };
  holder[REGISTRY_KEY] ??= { activeWorld: undefined, socketClass: undefined, uninstall: undefined };
  return holder[REGISTRY_KEY];
}
