/**
 * The app's sign-in: authorization code + PKCE against the hub's own OpenID provider, as the first-party
 * public client `pulsebridge-web` (redirect URI <origin>/app/callback). The hub's sign-in page asks for the
 * password; the app never sees it. Tokens live in sessionStorage: a reload keeps the user signed in, the
 * refresh token renews the access token before it expires, and signing out revokes the refresh token and
 * ends the provider's session.
 */
import * as oauth from 'oauth4webapi';
import { APP_SCOPES, StoredTokenSource, discover, tokensOf, type Provider } from './tokens.ts';

export const WEB_CLIENT_ID = 'pulsebridge-web';
export const CALLBACK_PATH = '/app/callback';
const TOKENS_KEY = 'pulsebridge.tokens';
const PENDING_KEY = 'pulsebridge.signIn';

interface PendingSignIn {
  verifier: string;
  state: string;
  /** The page to return to after signing in. */
  returnTo: string;
}

export class WebSession {
  readonly tokens: StoredTokenSource;
  private provider: Promise<Provider> | undefined;

  constructor(
    private readonly origin: string = location.origin,
    private readonly storage: Storage = sessionStorage,
  ) {
    this.tokens = new StoredTokenSource(
      storage,
      TOKENS_KEY,
      () => this.discovered(),
      () => void this.signIn(location.pathname),
    );
  }

  get signedIn(): boolean {
    return this.tokens.read() !== undefined;
  }

  /** The signed-in user's id (the id token's subject). */
  get subject(): string | undefined {
    return this.tokens.read()?.subject;
  }

  private discovered(): Promise<Provider> {
    this.provider ??= discover(this.origin, WEB_CLIENT_ID).catch((err: unknown) => {
      this.provider = undefined;
      throw err;
    });
    return this.provider;
  }

  /** Goes to the hub's sign-in page; comes back at /app/callback. */
  async signIn(returnTo: string): Promise<void> {
    const { as } = await this.discovered();
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const pending: PendingSignIn = { verifier, state, returnTo: returnTo.startsWith('/app') && returnTo !== CALLBACK_PATH ? returnTo : '/app/' };
    this.storage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(as.authorization_endpoint!);
    url.searchParams.set('client_id', WEB_CLIENT_ID);
    url.searchParams.set('redirect_uri', `${this.origin}${CALLBACK_PATH}`);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', ['openid', 'offline_access', ...APP_SCOPES].join(' '));
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', state);
    location.assign(url.href);
  }

  /** At /app/callback: trades the code for tokens; answers where to go next. */
  async completeSignIn(callback: URL): Promise<string> {
    const raw = this.storage.getItem(PENDING_KEY);
    if (raw === null) throw new Error('no sign-in was started in this tab');
    this.storage.removeItem(PENDING_KEY);
    const pending = JSON.parse(raw) as PendingSignIn;
    const { as, client, options } = await this.discovered();
    const parameters = oauth.validateAuthResponse(as, client, callback, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), parameters, `${this.origin}${CALLBACK_PATH}`, pending.verifier, options);
    this.tokens.save(tokensOf(await oauth.processAuthorizationCodeResponse(as, client, response)));
    return pending.returnTo;
  }

  /** Revokes the refresh token, forgets the tokens and ends the provider's session (its page confirms). */
  async signOut(): Promise<void> {
    const stored = this.tokens.read();
    this.tokens.clear();
    const { as, client, options } = await this.discovered();
    if (stored?.refreshToken !== undefined && as.revocation_endpoint !== undefined) {
      await oauth
        .revocationRequest(as, client, oauth.None(), stored.refreshToken, options)
        .then((response) => oauth.processRevocationResponse(response))
        .catch(() => undefined);
    }
    if (as.end_session_endpoint === undefined) {
      location.assign('/app/');
      return;
    }
    const url = new URL(as.end_session_endpoint);
    url.searchParams.set('client_id', WEB_CLIENT_ID);
    url.searchParams.set('post_logout_redirect_uri', `${this.origin}/app/`);
    if (stored?.idToken !== undefined) url.searchParams.set('id_token_hint', stored.idToken);
    location.assign(url.href);
  }
}
