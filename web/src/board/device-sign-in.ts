/**
 * The board's one door to the device authorization flow (web/src/auth/device.ts, written with the app shell).
 * The board codes against `DeviceSignIn` below, the shape of that module's class; when it is merged,
 * `createDeviceSignIn` becomes one line: `return new DeviceSignIn(location.origin, localStorage, onSignedOut);`.
 */
import type { TokenSource } from '../lib/api.ts';

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

const notMerged = (): never => {
  throw new Error('device sign-in needs web/src/auth/device.ts');
};

/** `onSignedOut`: the tokens stopped working (grant revoked), the screen shows a new code. */
export function createDeviceSignIn(onSignedOut: () => void): DeviceSignIn {
  void onSignedOut;
  return {
    tokens: { accessToken: async () => undefined, refused: () => {} },
    signedIn: false,
    start: async () => notMerged(),
    poll: async () => notMerged(),
  };
}
