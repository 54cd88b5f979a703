/**
 * The board's one door to the device authorization flow (web/src/auth/device.ts, written with the app shell).
 * The board codes against `DeviceSignIn` only; when auth/device.ts is merged, `deviceSignIn` below becomes the
 * one line that hands its implementation over.
 */
import type { TokenSource } from '../lib/api.ts';

/** What the screen shows while it waits for someone to confirm on a phone. */
export interface DeviceCode {
  /** The code to type, e.g. ABCD-EFGH. */
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
  tokens: TokenSource;
  /** Whether tokens are held already (a reload of a signed-in screen skips the code). */
  signedIn(): boolean;
  /** Asks the hub for a new code. */
  start(): Promise<DeviceCode>;
  /** Resolves once the code was confirmed and tokens are held; rejects when it expired or was refused. */
  poll(code: DeviceCode, signal: AbortSignal): Promise<void>;
}

const notMerged = (): never => {
  throw new Error('device sign-in needs web/src/auth/device.ts');
};

/** Replaced by the implementation in web/src/auth/device.ts when it is merged. */
export const deviceSignIn: DeviceSignIn = {
  tokens: { accessToken: async () => undefined, refused: () => {} },
  signedIn: () => false,
  start: async () => notMerged(),
  poll: async () => notMerged(),
};
