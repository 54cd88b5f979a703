/**
 * The class board's sign-in: the device authorization flow of the hub's provider, as the device client
 * `pulsebridge-board`. The board shows a user code and a link (a QR code of verificationUriComplete); a coach
 * or admin confirms it on a phone; the board's poll() then gets tokens. The refresh token rotates and slides,
 * so a screen left on stays signed in for weeks; the tokens live in localStorage so a power cut does not sign
 * it out.
 *
 *   const board = new DeviceSignIn();
 *   if (!board.signedIn) { const code = await board.start(); show(code); await board.poll(); }
 *   const api = new Api(board.tokens);
 */
import * as oauth from 'oauth4webapi';
import { BOARD_SCOPES, StoredTokenSource, discover, tokensOf, type Provider } from './tokens.ts';

export const BOARD_CLIENT_ID = 'pulsebridge-board';
const TOKENS_KEY = 'pulsebridge.board.tokens';

export interface DeviceCode {
  /** What the screen shows, e.g. "BCDF-GHJK". */
  userCode: string;
  /** Where the phone goes to type it. */
  verificationUri: string;
  /** The same with the code filled in (for a QR code). */
  verificationUriComplete: string;
  /** Epoch ms after which the code is dead: start() again. */
  expiresAt: number;
}

export class DeviceCodeExpired extends Error {
  constructor() {
    super('the code expired before anyone confirmed it');
    this.name = 'DeviceCodeExpired';
  }
}

export class DeviceSignIn {
  readonly tokens: StoredTokenSource;
  private provider: Promise<Provider> | undefined;
  private pending: { deviceCode: string; intervalMs: number; expiresAt: number } | undefined;

  constructor(
    private readonly origin: string = location.origin,
    storage: Storage = localStorage,
    /** Called when the tokens stop working (grant revoked): show a new code. */
    onSignedOut: () => void = () => undefined,
    private readonly wait: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.tokens = new StoredTokenSource(storage, TOKENS_KEY, () => this.discovered(), onSignedOut);
  }

  get signedIn(): boolean {
    return this.tokens.read() !== undefined;
  }

  private discovered(): Promise<Provider> {
    this.provider ??= discover(this.origin, BOARD_CLIENT_ID).catch((err: unknown) => {
      this.provider = undefined;
      throw err;
    });
    return this.provider;
  }

  /** Asks the provider for a new user code. */
  async start(): Promise<DeviceCode> {
    const { as, client, options } = await this.discovered();
    const response = await oauth.deviceAuthorizationRequest(as, client, oauth.None(), { scope: ['openid', 'offline_access', ...BOARD_SCOPES].join(' ') }, options);
    const answer = await oauth.processDeviceAuthorizationResponse(as, client, response);
    const expiresAt = Date.now() + answer.expires_in * 1000;
    this.pending = { deviceCode: answer.device_code, intervalMs: (answer.interval ?? 5) * 1000, expiresAt };
    return {
      userCode: answer.user_code,
      verificationUri: answer.verification_uri,
      verificationUriComplete: answer.verification_uri_complete ?? answer.verification_uri,
      expiresAt,
    };
  }

  /** Polls at the provider's interval until someone confirms the code (then the tokens are saved) or it expires. */
  async poll(signal?: AbortSignal): Promise<void> {
    const pending = this.pending;
    if (pending === undefined) throw new Error('start() first');
    const { as, client, options } = await this.discovered();
    for (;;) {
      signal?.throwIfAborted();
      if (Date.now() >= pending.expiresAt) throw new DeviceCodeExpired();
      try {
        const response = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), pending.deviceCode, options);
        this.tokens.save(tokensOf(await oauth.processDeviceCodeResponse(as, client, response)));
        this.pending = undefined;
        return;
      } catch (err) {
        if (!(err instanceof oauth.ResponseBodyError)) throw err;
        if (err.error === 'slow_down') pending.intervalMs += 5000;
        else if (err.error === 'expired_token') throw new DeviceCodeExpired();
        else if (err.error !== 'authorization_pending') throw err;
      }
      await this.wait(pending.intervalMs);
    }
  }

  signOut(): void {
    this.tokens.clear();
  }
}
