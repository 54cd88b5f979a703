/**
 * Redirects `require('@abandonware/bluetooth-hci-socket')` to the fake socket, so noble's unmodified Linux
 * stack (lib/hci-socket/*.js) runs against the fake controllers of a FakeBleWorld.
 *
 * Call install() before noble's hci-socket code is first required (noble requires its bindings when an
 * instance is created: `require('@abandonware/noble')` or `.../with-custom-binding`). Node 20's CommonJS
 * require does not go through ESM loader hooks, hence Module._resolveFilename; the target is a .cts file
 * that tsx compiles when noble requires it.
 */
import { PulsebridgeError } from '@pulsebridge/runtime';
import Module from 'node:module';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FakeHciSocket } from './hci-socket.ts';
import { fakeBleRegistry } from './registry.ts';

export const HCI_SOCKET_MODULE = '@abandonware/bluetooth-hci-socket';
const FAKE_SOCKET_MODULE = fileURLToPath(new URL('./hci-socket.cts', import.meta.url));
const NOBLE_HCI_FILE = `${sep}noble${sep}lib${sep}hci-socket${sep}hci.js`;
const REAL_SOCKET_DIRECTORY = `${sep}@abandonware${sep}bluetooth-hci-socket${sep}`;

export class FakeBleInstallError extends PulsebridgeError<'NOBLE_ALREADY_LOADED'> {
  constructor(message: string) {
    super('NOBLE_ALREADY_LOADED', message);
  }
}

export interface InstallOptions {
  /**
   * noble's hci.js polls isDevUp() with a 1 s setTimeout it never stops, which keeps a process alive for
   * ever (with a real adapter the native socket does too). When true (default), those timers are unref'd,
   * so a test process exits once the world is closed.
   */
  unrefNoblePolling?: boolean;
}

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

interface ModuleInternals {
  _resolveFilename: ResolveFilename;
  _cache: Record<string, unknown>;
}

export function install(options: InstallOptions = {}): void {
  const registry = fakeBleRegistry();
  // State lives in the registry, not this module, so a second instance of this file cannot install twice.
  if (registry.uninstall !== undefined) return;
  registry.socketClass = FakeHciSocket;

  const internals = Module as unknown as ModuleInternals;
  const loadedReal = Object.keys(internals._cache).find((file) => file.includes(REAL_SOCKET_DIRECTORY));
  if (loadedReal !== undefined) {
    throw new FakeBleInstallError(`the real ${HCI_SOCKET_MODULE} is already loaded (${loadedReal}); install the fake before noble is required`);
  }

  const originalResolve = internals._resolveFilename;
  internals._resolveFilename = function (this: unknown, request, ...rest) {
    if (request === HCI_SOCKET_MODULE) return FAKE_SOCKET_MODULE;
    return originalResolve.call(this, request, ...rest);
  };

  const originalSetTimeout = globalThis.setTimeout;
  if (options.unrefNoblePolling ?? true) globalThis.setTimeout = unrefNoblePolling(originalSetTimeout);

  registry.uninstall = () => {
    internals._resolveFilename = originalResolve;
    globalThis.setTimeout = originalSetTimeout;
    registry.uninstall = undefined;
  };
}

/** Restores module resolution and setTimeout; noble instances created meanwhile keep the fake. */
export function uninstall(): void {
  fakeBleRegistry().uninstall?.();
}

export function isInstalled(): boolean {
  return fakeBleRegistry().uninstall !== undefined;
}

function unrefNoblePolling(original: typeof setTimeout): typeof setTimeout {
  const wrapped = function (this: unknown, callback: unknown, ms?: number, ...args: unknown[]): NodeJS.Timeout {
    const timer = Reflect.apply(original, this, [callback, ms, ...args]) as NodeJS.Timeout;
    // hci.js: setTimeout(this.pollIsDevUp.bind(this), 1000); the bound anonymous function is named 'bound '.
    if (ms === 1000 && typeof callback === 'function' && callback.name === 'bound ' && new Error().stack?.includes(NOBLE_HCI_FILE)) {
      timer.unref();
    }
    return timer;
  };
  Object.defineProperty(wrapped, promisify.custom, { value: (original as unknown as Record<symbol, unknown>)[promisify.custom] });
  return wrapped as unknown as typeof setTimeout;
}
