/**
 * The identity part of the hub's HTTP server: /oidc/* goes to the OpenID Connect provider, /interaction/* to the
 * sign-in pages, everything else to the API. The hub keeps its one node:http server:
 *
 *   const identity = await mountIdentity({ config: config.identity, store, log });
 *   const http = createServer(identity.handler(api.callback()));
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { IdentityStore } from '../identity/identity-store.ts';
import type { Mailer } from '../identity/one-time-links.ts';
import type { IdentitySection } from './config.ts';
import { createInteractionApp, type InteractionOptions, type SecondFactorStep } from './interactions.ts';
import { totpSecondFactor } from './second-factor-step.ts';
import { publishedJwks } from './keys.ts';
import { throttleByAddress } from '../auth/rate-limits.ts';
import { createOidcProvider, type OidcProvider } from './provider.ts';
import type { Logger } from 'pino';
import { errorMessage } from '@pulsebridge/runtime';

export const OIDC_PATH = '/oidc';
export const INTERACTION_PATH = '/interaction';

export interface MountIdentityOptions extends Pick<InteractionOptions, 'federation' | 'routes' | 'throttle' | 'hardening'> {
  /** The step after the password; default: the TOTP challenge for users with a confirmed factor; null: none. */
  secondFactor?: SecondFactorStep | null;
  /** Password-reset mails; none: no "Forgot your password?" (sign-up by invite works without it). */
  mailer?: Mailer;
  config: IdentitySection;
  store: IdentityStore;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
  /** Also know the web app the hub serves (the `pulsebridge-web` client). */
  webApp?: boolean;
}

export interface IdentityMount extends OidcProvider {
  /** Serves /oidc and /interaction; passes every other request to `fallback`. */
  handler(fallback: RequestListener): RequestListener;
}

/**
 * Interaction, grant and session ids in paths (e.g. /interaction/<uid>, /oidc/auth/<uid>), which the interaction
 * cookie holds too: 16 or more URL-safe characters with a capital or a digit (endpoint names such as
 * openid-configuration have neither).
 */
const RANDOM_ID_SEGMENT = /\/(?=[^/]*[A-Z0-9])[A-Za-z0-9_-]{16,}(?=\/|$)/g;

/**
 * The access log of the identity paths, at debug like the API's: the path without its query (authorization
 * requests, reset and invite links carry secrets there) and with random ids replaced.
 */
function logWhenAnswered(log: Logger, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  const path = (req.url ?? '/').split('?')[0]!.replace(RANDOM_ID_SEGMENT, '/:id');
  res.once('finish', () => log.debug({ method: req.method, path, status: res.statusCode, ms: Math.round((performance.now() - started) * 10) / 10 }, 'identity request'));
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`);
}

export async function mountIdentity(options: MountIdentityOptions): Promise<IdentityMount> {
  const oidc = await createOidcProvider(options);
  if (options.hardening !== undefined) oidc.provider.use(options.hardening);
  const throttle = options.throttle;
  if (throttle !== undefined) {
    // The token endpoint takes codes, refresh tokens and client secrets without naming an account: per address.
    const byAddress = throttleByAddress({ throttle });
    oidc.provider.use((ctx, next) => (ctx.method === 'POST' && ctx.path === '/token' ? byAddress(ctx, next) : next()));
  }
  const now = options.now ?? Date.now;
  const providerCallback = oidc.provider.callback();
  const secondFactor = options.secondFactor === null ? undefined : (options.secondFactor ?? totpSecondFactor(options.store));
  const config = options.config;
  const interactions = createInteractionApp({
    ...options,
    secondFactor,
    enrolment: { requiredForRoles: config.secondFactor.requiredForRoles, issuerLabel: 'Pulsebridge' },
    accounts: {
      publicBaseUrl: config.issuer,
      resetTtlMs: config.ttl.passwordResetSeconds * 1000,
      ...(options.mailer === undefined ? {} : { mailer: options.mailer }),
      ...(config.signUpReturnUrl === undefined ? {} : { signUpReturnUrl: config.signUpReturnUrl }),
    },
    provider: oidc.provider,
    isFirstParty: (clientId) => oidc.client(clientId)?.firstParty === true,
  }).callback();
  return {
    ...oidc,
    handler(fallback) {
      return (req: IncomingMessage, res: ServerResponse) => {
        const url = req.url ?? '/';
        if (under(url, OIDC_PATH) || under(url, INTERACTION_PATH)) logWhenAnswered(options.log, req, res);
        if (req.method === 'GET' && (url === `${OIDC_PATH}/jwks` || url.startsWith(`${OIDC_PATH}/jwks?`))) {
          // From the store rather than oidc-provider's key set of this replica's start: see publishedJwks.
          publishedJwks(options.store, { retentionMs: oidc.keyRetentionMs, now: now() }).then(
            (jwks) => {
              res.writeHead(200, { 'content-type': 'application/jwk-set+json; charset=utf-8', 'cache-control': 'max-age=60' }).end(JSON.stringify(jwks));
            },
            (err: unknown) => {
              options.log.error({ err: errorMessage(err) }, 'could not read the signing keys for the JWKS');
              res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
            },
          );
          return;
        }
        if (under(url, OIDC_PATH)) {
          // As Express mounts it: oidc-provider finds its mount path from originalUrl minus url.
          (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
          req.url = url.slice(OIDC_PATH.length) || '/';
          if (req.url.startsWith('?')) req.url = `/${req.url}`;
          void providerCallback(req, res);
          return;
        }
        if (under(url, INTERACTION_PATH)) {
          void interactions(req, res);
          return;
        }
        fallback(req, res);
      };
    },
  };
}
