/**
 * The board's one door to the device authorization flow (web/src/auth/device.ts). The board's screens code
 * against the `DeviceSignIn` interface below, so their tests can hand them a scripted sign-in.
 */
import type { TokenSource } from '../lib/api.ts';
import { DeviceSignIn as DeviceAuthorization } from '../auth/device.ts';
import { MemoryStorage } from '../lib/memory-storage.ts';

/** What the screen shows while it waits for someone to confirm on a phone. */
export interface DeviceCode {
  /** The code to type, e.g. BCDF-GHJK. */
  userCode: string;
  /** Where to type it. */
  verificationUri: string;
  /** The same page with the code filled in. */
  verificationUriComplete?: string;
  /** When the code stops working (ms since the epoch): the screen asks for a new one then. */
  expiresAt: number;
}

export interface DeviceSignIn {
  /** Tokens for the API; they refresh themselves and survive reloads (the screen stays signed in for weeks). */
  readonly tokens: TokenSource;
  /** Tokens are held already (a reload of a signed-in screen skips the code). */
  readonly signedIn: boolean;
  /** Asks the hub for a new code. */
  start(): Promise<DeviceCode>;
  /** Resolves once the latest code was confirmed and tokens are held; rejects when it expired or was refused. */
  poll(signal?: AbortSignal): Promise<void>;
}

/** `onSignedOut`: the tokens stopped working (grant revoked), the screen shows a new code. */
export function createDeviceSignIn(onSignedOut: () => void): DeviceSignIn {
  return new DeviceAuthorization(location.origin, tokenStorage(), onSignedOut);
}

/** localStorage keeps the screen signed in across reboots; a browser with storage disabled signs in per load. */
function tokenStorage(): Storage {
  try {
    return window.localStorage;
  } catch {
    return new MemoryStorage();
  }
}
