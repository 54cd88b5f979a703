/**
 * The identity part of the hub's HTTP server: /oidc/* goes to the OpenID Connect provider, /interaction/* to the
 * sign-in pages, everything else to the API. The hub keeps its one node:http server:
 *
 *   const identity = await mountIdentity({ config: config.identity, store, log });
 *   const http = createServer(identity.handler(api.callback()));
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { IdentityStore } from '../identity/identity-store.ts';
import type { IdentitySection } from './config.ts';
import { createInteractionApp, type InteractionOptions } from './interactions.ts';
import { createOidcProvider, type OidcProvider } from './provider.ts';
import type { Logger } from 'pino';

export const OIDC_PATH = '/oidc';
export const INTERACTION_PATH = '/interaction';

export interface MountIdentityOptions extends Pick<InteractionOptions, 'secondFactor' | 'federation' | 'routes'> {
  config: IdentitySection;
  store: IdentityStore;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export interface IdentityMount extends OidcProvider {
  /** Serves /oidc and /interaction; passes every other request to `fallback`. */
  handler(fallback: RequestListener): RequestListener;
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`);
}

export async function mountIdentity(options: MountIdentityOptions): Promise<IdentityMount> {
  const oidc = await createOidcProvider(options);
  const providerCallback = oidc.provider.callback();
  const interactions = createInteractionApp({ ...options, provider: oidc.provider, isFirstParty: (clientId) => oidc.client(clientId)?.firstParty === true }).callback();
  return {
    ...oidc,
    handler(fallback) {
      return (req: IncomingMessage, res: ServerResponse) => {
        const url = req.url ?? '/';
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
